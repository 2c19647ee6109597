import {Args, Flags} from '@oclif/core'
import {ClientCommand} from '../../lib/cli/base-command.js'

export default class DomainDesc extends ClientCommand {
  static override summary = "Show or set a domain's description (or with --title its title)"
  static override examples = [
    '<%= config.bin %> domain desc web01',
    "<%= config.bin %> domain desc web01 --set 'front end, rack 3' --config",
    "<%= config.bin %> domain desc web01 --title --set 'Web 01'",
  ]
  static override args = {domain: Args.string({description: 'domain name, ID or UUID', required: true})}
  static override flags = {
    title: Flags.boolean({description: 'the title instead of the description'}),
    set: Flags.string({description: "new text ('' removes it)"}),
    live: Flags.boolean({description: 'the running guest'}),
    config: Flags.boolean({description: 'the persistent definition'}),
  }

  async run(): Promise<{name: string; title: boolean; text: string | null}> {
    const {args, flags} = await this.parse(DomainDesc)
    const dom = await this.domain(args.domain)
    const {getMetadata, setMetadata, affectFlags, Metadata} = await import('../../lib/client/tuning.js')
    const conn = await this.connection()
    const type = flags.title ? Metadata.TITLE : Metadata.DESCRIPTION
    const what = flags.title ? 'title' : 'description'
    if (flags.set !== undefined) {
      await setMetadata(conn, dom, type, flags.set === '' ? null : flags.set, null, null, affectFlags(flags))
      this.log(`Domain ${what} updated successfully`)
      return {name: dom.name, title: flags.title, text: flags.set === '' ? null : flags.set}
    }
    const text = await getMetadata(conn, dom, type, null, affectFlags(flags))
    this.log(text ?? `No ${what} for domain: ${dom.name}`)
    return {name: dom.name, title: flags.title, text}
  }
}
