import {Args, Flags} from '@oclif/core'
import {ClientCommand} from '../../lib/cli/base-command.js'

export default class DomainAutostart extends ClientCommand {
  static override summary = 'Mark a domain to start with the daemon (or unmark with --disable)'
  static override examples = ['<%= config.bin %> domain autostart web01', '<%= config.bin %> domain autostart web01 --disable -c qemu:///system']
  static override args = {domain: Args.string({description: 'domain name, ID or UUID', required: true})}
  static override flags = {disable: Flags.boolean({description: 'do not start it with the daemon'})}

  async run(): Promise<{name: string; autostart: boolean}> {
    const {args, flags} = await this.parse(DomainAutostart)
    const dom = await this.domain(args.domain)
    const {setAutostart} = await import('../../lib/client/domain-actions.js')
    await setAutostart(await this.connection(), dom, !flags.disable)
    this.log(flags.disable ? `Domain '${dom.name}' unmarked as autostarted` : `Domain '${dom.name}' marked as autostarted`)
    return {name: dom.name, autostart: !flags.disable}
  }
}
