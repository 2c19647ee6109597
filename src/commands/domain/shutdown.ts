import {Args, Flags} from '@oclif/core'
import {ClientCommand} from '../../lib/cli/base-command.js'

const MS_PER_SECOND = 1000
const MODES = ['acpi', 'agent', 'initctl', 'signal', 'paravirt'] as const
const DEFAULT_WAIT_SECS = 300

export default class DomainShutdown extends ClientCommand {
  static override summary = 'Ask a domain to shut down (ACPI power button)'
  static override examples = [
    '<%= config.bin %> domain shutdown web01',
    '<%= config.bin %> domain shutdown web01 --wait --wait-timeout 120',
    '<%= config.bin %> domain shutdown web01 --mode agent -c qemu:///system',
  ]
  static override args = {domain: Args.string({description: 'domain name, ID or UUID', required: true})}
  static override flags = {
    mode: Flags.option({description: 'shutdown method', options: MODES})(),
    wait: Flags.boolean({description: 'wait until the domain is shut off, showing progress'}),
    'wait-timeout': Flags.integer({description: 'seconds to wait with --wait', default: DEFAULT_WAIT_SECS}),
  }

  async run(): Promise<{name: string; result: string}> {
    const {args, flags} = await this.parse(DomainShutdown)
    const dom = await this.domain(args.domain)
    const conn = await this.connection()
    const {shutdownDomain} = await import('../../lib/client/domain-actions.js')
    if (!flags.wait) {
      await shutdownDomain(conn, dom, flags.mode)
      this.log(`Domain '${dom.name}' is being shutdown`)
      return {name: dom.name, result: 'shutting down'}
    }
    const {waitForShutoff} = await import('../../lib/client/wait.js')
    await waitForShutoff(conn, dom, () => shutdownDomain(conn, dom, flags.mode), flags['wait-timeout'] * MS_PER_SECOND, this.jsonEnabled())
    return {name: dom.name, result: 'shut off'}
  }
}
