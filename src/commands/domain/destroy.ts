import {Args, Flags} from '@oclif/core'
import {ClientCommand} from '../../lib/cli/base-command.js'
import {remote} from '../../lib/rpc/programs/remote.js'

export default class DomainDestroy extends ClientCommand {
  static override summary = 'Stop a domain at once (power off)'
  static override args = {domain: Args.string({description: 'domain name, ID or UUID', required: true})}

  static override flags = {graceful: Flags.boolean({description: 'only terminate gracefully (never SIGKILL)'})}

  async run(): Promise<{name: string; result: string}> {
    const {args, flags} = await this.parse(DomainDestroy)
    const dom = await this.domain(args.domain)
    const conn = await this.connection()
    if (flags.graceful) await conn.call(remote.procs.DOMAIN_DESTROY_FLAGS, {dom, flags: 1})
    else await conn.call(remote.procs.DOMAIN_DESTROY, {dom})
    this.log(`Domain '${dom.name}' destroyed`)
    return {name: dom.name, result: 'destroyed'}
  }
}
