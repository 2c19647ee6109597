import {Args, Flags} from '@oclif/core'
import {ClientCommand} from '../../lib/cli/base-command.js'

export default class DomainState extends ClientCommand {
  static override summary = 'Show the state of a domain'
  static override examples = ['<%= config.bin %> domain state web01', '<%= config.bin %> domain state web01 --reason -c qemu:///system']
  static override args = {domain: Args.string({description: 'domain name, ID or UUID', required: true})}
  static override flags = {reason: Flags.boolean({description: 'also show why it is in that state'})}

  async run(): Promise<{name: string; state: string; reason: string}> {
    const {args, flags} = await this.parse(DomainState)
    const dom = await this.domain(args.domain)
    const {domainState} = await import('../../lib/client/domains.js')
    const out = await domainState(await this.connection(), dom)
    this.log(flags.reason ? `${out.state} (${out.reason})` : out.state)
    return out
  }
}
