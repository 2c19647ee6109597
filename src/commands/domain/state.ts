import {Args, Flags} from '@oclif/core'
import {ClientCommand} from '../../lib/cli/base-command.js'
import {remote} from '../../lib/rpc/programs/remote.js'

export default class DomainState extends ClientCommand {
  static override summary = 'Show the state of a domain'
  static override args = {domain: Args.string({description: 'domain name, ID or UUID', required: true})}

  static override flags = {reason: Flags.boolean({description: 'also show why it is in that state'})}

  async run(): Promise<{name: string; state: string; reason: string}> {
    const {args, flags} = await this.parse(DomainState)
    const dom = await this.domain(args.domain)
    const s = await (await this.connection()).call(remote.procs.DOMAIN_GET_STATE, {dom, flags: 0})
    const {stateName, reasonName} = await import('../../lib/client/domains.js')
    const out = {name: dom.name, state: stateName(s.state), reason: reasonName(s.state, s.reason)}
    this.log(flags.reason ? `${out.state} (${out.reason})` : out.state)
    return out
  }
}
