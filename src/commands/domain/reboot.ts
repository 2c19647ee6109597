import {Args, Flags} from '@oclif/core'
import {ClientCommand} from '../../lib/cli/base-command.js'
import {remote} from '../../lib/rpc/programs/remote.js'

export default class DomainReboot extends ClientCommand {
  static override summary = 'Reboot a domain'
  static override args = {domain: Args.string({description: 'domain name, ID or UUID', required: true})}

  static override flags = {mode: Flags.string({description: 'how to reboot', options: ['acpi', 'reset', 'default'], default: 'default'})}

  async run(): Promise<{name: string; result: string}> {
    const {args, flags} = await this.parse(DomainReboot)
    const dom = await this.domain(args.domain)
    const conn = await this.connection()
    if (flags.mode === 'reset') await conn.call(remote.procs.DOMAIN_RESET, {dom, flags: 0})
    else await conn.call(remote.procs.DOMAIN_REBOOT, {dom, flags: flags.mode === 'acpi' ? 1 : 0})
    this.log(`Domain '${dom.name}' is being rebooted`)
    return {name: dom.name, result: 'rebooting'}
  }
}
