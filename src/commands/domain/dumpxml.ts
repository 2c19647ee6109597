import {Args, Flags} from '@oclif/core'
import {ClientCommand} from '../../lib/cli/base-command.js'
import {remote} from '../../lib/rpc/programs/remote.js'

export default class DomainDumpxml extends ClientCommand {
  static override summary = 'Print the XML description of a domain'
  static override args = {domain: Args.string({description: 'domain name, ID or UUID', required: true})}

  static override flags = {
    inactive: Flags.boolean({description: 'the definition used at next boot'}),
    'security-info': Flags.boolean({description: 'include security-sensitive data'}),
  }

  async run(): Promise<{name: string; xml: string}> {
    const {args, flags} = await this.parse(DomainDumpxml)
    const dom = await this.domain(args.domain)
    const {xml} = await (
      await this.connection()
    ).call(remote.procs.DOMAIN_GET_XML_DESC, {dom, flags: (flags.inactive ? 2 : 0) | (flags['security-info'] ? 1 : 0)})
    this.log(xml.trimEnd())
    return {name: dom.name, xml}
  }
}
