import {Args, Flags} from '@oclif/core'
import {ClientCommand} from '../../lib/cli/base-command.js'

export default class DomainMetadata extends ClientCommand {
  static override summary = "Show, set or remove a domain's custom XML metadata of one namespace URI"
  static override examples = [
    '<%= config.bin %> domain metadata web01 http://example.com/app',
    '<%= config.bin %> domain metadata web01 http://example.com/app --key app --set \'<app owner="ops"/>\' --config',
    '<%= config.bin %> domain metadata web01 http://example.com/app --remove',
  ]
  static override args = {
    domain: Args.string({description: 'domain name, ID or UUID', required: true}),
    uri: Args.string({description: 'namespace URI of the metadata element', required: true}),
  }
  static override flags = {
    key: Flags.string({description: 'namespace prefix for --set'}),
    set: Flags.string({description: 'the XML element to store', dependsOn: ['key'], exclusive: ['remove']}),
    remove: Flags.boolean({description: 'remove the element'}),
    live: Flags.boolean({description: 'the running guest'}),
    config: Flags.boolean({description: 'the persistent definition'}),
  }

  async run(): Promise<{name: string; uri: string; xml: string | null}> {
    const {args, flags} = await this.parse(DomainMetadata)
    const dom = await this.domain(args.domain)
    const {getMetadata, setMetadata, affectFlags, Metadata} = await import('../../lib/client/tuning.js')
    const conn = await this.connection()
    const f = affectFlags(flags)
    if (flags.set !== undefined || flags.remove) {
      await setMetadata(conn, dom, Metadata.ELEMENT, flags.remove ? null : (flags.set ?? null), flags.key ?? null, args.uri, f)
      this.log(flags.remove ? 'Metadata removed' : 'Metadata modified')
      return {name: dom.name, uri: args.uri, xml: flags.remove ? null : (flags.set ?? null)}
    }
    const xml = (await getMetadata(conn, dom, Metadata.ELEMENT, args.uri, f, true)) ?? ''
    this.log(xml)
    return {name: dom.name, uri: args.uri, xml}
  }
}
