/**
 * Base of every client command: `-c/--connect URI`, `--json`, one connection opened on demand and
 * closed at the end, and libvirt errors printed as virsh prints them.
 */
import {Command, Flags, type Interfaces} from '@oclif/core'
import type {Connection} from '../client/connection.js'
import {VirError} from '../errors.js'

export type ClientFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof ClientCommand)['baseFlags'] & T['flags']>

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

  /** Opens (once) the connection named by -c. */
  protected async connection(): Promise<Connection> {
    if (this.conn) return this.conn
    const {flags} = await this.parse(this.constructor as typeof ClientCommand)
    const {Connection} = await import('../client/connection.js')
    this.conn = await Connection.open(flags.connect, {readonly: flags.readonly})
    return this.conn
  }

  protected override async finally(err: Error | undefined): Promise<any> {
    if (this.conn) await this.conn.close()
    return super.finally(err)
  }

  protected override async catch(err: Error & {exitCode?: number}): Promise<any> {
    if (err instanceof VirError) {
      if (this.jsonEnabled()) {
        this.logJson({error: {code: err.code, domain: err.domain, message: err.message}})
        this.exit(1)
      }
      this.logToStderr(`error: ${err.message}`)
      this.exit(1)
    }
    return super.catch(err)
  }

  /** Fails the way virsh does when a domain cannot be resolved. */
  protected async domain(ident: string) {
    const conn = await this.connection()
    try {
      return await conn.lookupDomain(ident)
    } catch (err) {
      if (err instanceof VirError && err.code === 42) {
        throw new VirError(err.code, err.domain, `failed to get domain '${ident}'`)
      }
      throw err
    }
  }
}
