import {Args} from '@oclif/core'
import {ClientCommand} from '../../lib/cli/base-command.js'
import {remote} from '../../lib/rpc/programs/remote.js'

export default class DomainUndefine extends ClientCommand {
  static override summary = 'Remove the persistent definition of a domain'
  static override args = {domain: Args.string({description: 'domain name, ID or UUID', required: true})}

  async run(): Promise<{name: string; result: string}> {
    const {args} = await this.parse(DomainUndefine)
    const dom = await this.domain(args.domain)
    await (await this.connection()).call(remote.procs.DOMAIN_UNDEFINE_FLAGS, {dom, flags: 0})
    this.log(`Domain '${dom.name}' has been undefined`)
    return {name: dom.name, result: 'undefined'}
  }
}
