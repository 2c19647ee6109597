import {Args} from '@oclif/core'
import {ClientCommand} from '../../lib/cli/base-command.js'

export default class DomainSuspend extends ClientCommand {
  static override summary = 'Suspend (pause) a running domain'
  static override examples = ['<%= config.bin %> domain suspend web01', '<%= config.bin %> domain suspend 3 -c qemu:///system --json']
  static override args = {domain: Args.string({description: 'domain name, ID or UUID', required: true})}

  async run(): Promise<{name: string; result: string}> {
    const {args} = await this.parse(DomainSuspend)
    const dom = await this.domain(args.domain)
    const {suspendDomain} = await import('../../lib/client/domain-actions.js')
    await suspendDomain(await this.connection(), dom)
    this.log(`Domain '${dom.name}' suspended`)
    return {name: dom.name, result: 'suspended'}
  }
}
