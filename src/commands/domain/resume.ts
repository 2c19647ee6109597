import {Args} from '@oclif/core'
import {ClientCommand} from '../../lib/cli/base-command.js'

export default class DomainResume extends ClientCommand {
  static override summary = 'Resume a paused domain'
  static override examples = ['<%= config.bin %> domain resume web01', '<%= config.bin %> domain resume web01 -c qemu:///system --json']
  static override args = {domain: Args.string({description: 'domain name, ID or UUID', required: true})}

  async run(): Promise<{name: string; result: string}> {
    const {args} = await this.parse(DomainResume)
    const dom = await this.domain(args.domain)
    const {resumeDomain} = await import('../../lib/client/domain-actions.js')
    await resumeDomain(await this.connection(), dom)
    this.log(`Domain '${dom.name}' resumed`)
    return {name: dom.name, result: 'resumed'}
  }
}
