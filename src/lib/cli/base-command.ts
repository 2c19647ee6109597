/**
 * Base of every client command: `-c/--connect URI`, `-r/--readonly`, `--json`, one connection opened
 * on demand and closed at the end, and libvirt errors printed as virsh prints them.
 */
import {Command, Flags} from '@oclif/core'
import type {Connection} from '../client/connection.js'
import type {DomainHandle} from '../rpc/programs/remote.js'
import {VirError} from '../errors.js'

/** virsh exits with 1 when a libvirt call fails. */
const EXIT_VIR_ERROR = 1

export abstract class ClientCommand extends Command {
  static override enableJsonFlag = true

  static override baseFlags = {
    connect: Flags.string({
      char: 'c',
      description: "libvirt URI to connect to (default: $LIBVIRT_DEFAULT_URI, then the daemon's choice)",
      helpGroup: 'GLOBAL',
    }),
    readonly: Flags.boolean({char: 'r', description: 'open a read-only connection', helpGroup: 'GLOBAL'}),
  }

  private conn?: Connection
  private opening?: Promise<Connection>

  /** Opens (once, however many callers ask at the same time) the connection named by -c. */
  protected connection(): Promise<Connection> {
    this.opening ??= (async () => {
      const {flags} = await this.parse(this.constructor as typeof ClientCommand)
      const {Connection} = await import('../client/connection.js')
      this.conn = await Connection.open(flags.connect, {readonly: flags.readonly})
      return this.conn
    })()
    return this.opening
  }

  /** Resolves a domain by ID, UUID or name, failing the way virsh does. */
  protected async domain(ident: string): Promise<DomainHandle> {
    const {findDomain} = await import('../client/domains.js')
    return findDomain(await this.connection(), ident)
  }

  protected override async finally(err: Error | undefined): Promise<unknown> {
    if (this.conn) await this.conn.close()
    return super.finally(err)
  }

  protected override async catch(err: Error & {exitCode?: number}): Promise<unknown> {
    if (err instanceof VirError) {
      if (this.jsonEnabled()) {
        this.logJson({error: {code: err.code, domain: err.domain, message: err.message}})
        this.exit(EXIT_VIR_ERROR)
      }
      this.logToStderr(`error: ${err.message}`)
      this.exit(EXIT_VIR_ERROR)
    }
    return super.catch(err)
  }
}
