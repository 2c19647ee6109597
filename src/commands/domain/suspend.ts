import {Args} from '@oclif/core'
import {ClientCommand} from '../../lib/cli/base-command.js'
import {remote} from '../../lib/rpc/programs/remote.js'

export default class DomainSuspend extends ClientCommand {
  static override summary = 'Suspend (pause) a running domain'
  static override args = {domain: Args.string({description: 'domain name, ID or UUID', required: true})}

  async run(): Promise<{name: string; result: string}> {
    const {args} = await this.parse(DomainSuspend)
    const dom = await this.domain(args.domain)
    await (await this.connection()).call(remote.procs.DOMAIN_SUSPEND, {dom})
    this.log(`Domain '${dom.name}' suspended`)
    return {name: dom.name, result: 'suspended'}
  }
}
