import {Args, Flags} from '@oclif/core'
import {ClientCommand} from '../../lib/cli/base-command.js'
import {remote} from '../../lib/rpc/programs/remote.js'
import {handleInfo} from '../../lib/client/domains.js'
import {VirError, ErrorCode, ErrorDomain} from '../../lib/errors.js'

export default class DomainStart extends ClientCommand {
  static override summary = 'Start a defined domain'
  static override args = {domain: Args.string({description: 'domain name or UUID', required: true})}
  static override flags = {paused: Flags.boolean({description: 'leave the guest paused after starting it'})}

  async run(): Promise<{name: string; uuid: string; id: number | null}> {
    const {args, flags} = await this.parse(DomainStart)
    const dom = await this.domain(args.domain)
    if (dom.id !== -1) throw new VirError(ErrorCode.OPERATION_INVALID, ErrorDomain.DOMAIN, 'Domain is already active')
    const conn = await this.connection()
    const started = (await conn.call(remote.procs.DOMAIN_CREATE_WITH_FLAGS, {dom, flags: flags.paused ? 1 : 0})).dom
    this.log(`Domain '${dom.name}' started${flags.paused ? ' (paused)' : ''}`)
    return handleInfo(started)
  }
}
