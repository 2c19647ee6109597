import {Args} from '@oclif/core'
import {ClientCommand} from '../../lib/cli/base-command.js'
import {remote} from '../../lib/rpc/programs/remote.js'

export default class DomainResume extends ClientCommand {
  static override summary = 'Resume a paused domain'
  static override args = {domain: Args.string({description: 'domain name, ID or UUID', required: true})}

  async run(): Promise<{name: string; result: string}> {
    const {args} = await this.parse(DomainResume)
    const dom = await this.domain(args.domain)
    await (await this.connection()).call(remote.procs.DOMAIN_RESUME, {dom})
    this.log(`Domain '${dom.name}' resumed`)
    return {name: dom.name, result: 'resumed'}
  }
}
