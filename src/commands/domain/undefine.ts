import {Args} from '@oclif/core'
import {ClientCommand} from '../../lib/cli/base-command.js'

export default class DomainUndefine extends ClientCommand {
  static override summary = 'Remove the persistent definition of a domain'
  static override examples = ['<%= config.bin %> domain undefine web01', '<%= config.bin %> domain undefine web01 -c qemu:///system --json']
  static override args = {domain: Args.string({description: 'domain name, ID or UUID', required: true})}

  async run(): Promise<{name: string; result: string}> {
    const {args} = await this.parse(DomainUndefine)
    const dom = await this.domain(args.domain)
    const {undefineDomain} = await import('../../lib/client/domain-actions.js')
    await undefineDomain(await this.connection(), dom)
    this.log(`Domain '${dom.name}' has been undefined`)
    return {name: dom.name, result: 'undefined'}
  }
}
