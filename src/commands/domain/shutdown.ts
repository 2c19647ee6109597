import {Args, Flags} from '@oclif/core'
import {ClientCommand} from '../../lib/cli/base-command.js'
import {remote} from '../../lib/rpc/programs/remote.js'

const MODES: Record<string, number> = {acpi: 1, agent: 2, initctl: 4, signal: 8, paravirt: 16}

export default class DomainShutdown extends ClientCommand {
  static override summary = 'Ask a domain to shut down (ACPI power button)'
  static override args = {domain: Args.string({description: 'domain name, ID or UUID', required: true})}
  static override flags = {
    mode: Flags.string({description: 'shutdown method', options: Object.keys(MODES)}),
    wait: Flags.boolean({description: 'wait until the domain is shut off, showing progress'}),
    'wait-timeout': Flags.integer({description: 'seconds to wait with --wait', default: 300}),
  }

  async run(): Promise<{name: string; result: string}> {
    const {args, flags} = await this.parse(DomainShutdown)
    const dom = await this.domain(args.domain)
    const conn = await this.connection()
    const doShutdown = () =>
      flags.mode ? conn.call(remote.procs.DOMAIN_SHUTDOWN_FLAGS, {dom, flags: MODES[flags.mode]}) : conn.call(remote.procs.DOMAIN_SHUTDOWN, {dom})
    if (!flags.wait) {
      await doShutdown()
      this.log(`Domain '${dom.name}' is being shutdown`)
      return {name: dom.name, result: 'shutting down'}
    }
    const {waitForShutoff} = await import('../../lib/client/wait.js')
    await waitForShutoff(conn, dom, doShutdown, flags['wait-timeout'] * 1000, this.jsonEnabled())
    return {name: dom.name, result: 'shut off'}
  }
}
