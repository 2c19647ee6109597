import {Args, Flags} from '@oclif/core'
import {ClientCommand} from '../../lib/cli/base-command.js'

const MODES = ['acpi', 'reset', 'default'] as const

export default class DomainReboot extends ClientCommand {
  static override summary = 'Reboot a domain'
  static override examples = ['<%= config.bin %> domain reboot web01', '<%= config.bin %> domain reboot web01 --mode reset -c qemu:///system']
  static override args = {domain: Args.string({description: 'domain name, ID or UUID', required: true})}
  static override flags = {mode: Flags.option({description: 'how to reboot', options: MODES, default: 'default'})()}

  async run(): Promise<{name: string; result: string}> {
    const {args, flags} = await this.parse(DomainReboot)
    const dom = await this.domain(args.domain)
    const {rebootDomain} = await import('../../lib/client/domain-actions.js')
    await rebootDomain(await this.connection(), dom, flags.mode)
    this.log(`Domain '${dom.name}' is being rebooted`)
    return {name: dom.name, result: 'rebooting'}
  }
}
