import {Args, Flags} from '@oclif/core'
import {ClientCommand} from '../../lib/cli/base-command.js'

export default class DomainDestroy extends ClientCommand {
  static override summary = 'Stop a domain at once (power off)'
  static override examples = ['<%= config.bin %> domain destroy web01', '<%= config.bin %> domain destroy web01 --graceful -c qemu:///system']
  static override args = {domain: Args.string({description: 'domain name, ID or UUID', required: true})}
  static override flags = {graceful: Flags.boolean({description: 'only terminate gracefully (never SIGKILL)'})}

  async run(): Promise<{name: string; result: string}> {
    const {args, flags} = await this.parse(DomainDestroy)
    const dom = await this.domain(args.domain)
    const {destroyDomain} = await import('../../lib/client/domain-actions.js')
    await destroyDomain(await this.connection(), dom, {graceful: flags.graceful})
    this.log(`Domain '${dom.name}' destroyed`)
    return {name: dom.name, result: 'destroyed'}
  }
}
