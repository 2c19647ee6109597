import {Args, Flags} from '@oclif/core'
import {ClientCommand} from '../../lib/cli/base-command.js'

export default class DomainDumpxml extends ClientCommand {
  static override summary = 'Print the XML description of a domain'
  static override examples = [
    '<%= config.bin %> domain dumpxml web01',
    '<%= config.bin %> domain dumpxml web01 --inactive > web01.xml',
    '<%= config.bin %> domain dumpxml 3 --security-info -c qemu:///system',
  ]
  static override args = {domain: Args.string({description: 'domain name, ID or UUID', required: true})}
  static override flags = {
    inactive: Flags.boolean({description: 'the definition used at next boot'}),
    'security-info': Flags.boolean({description: 'include security-sensitive data'}),
  }

  async run(): Promise<{name: string; xml: string}> {
    const {args, flags} = await this.parse(DomainDumpxml)
    const dom = await this.domain(args.domain)
    const {domainXml} = await import('../../lib/client/domains.js')
    const xml = await domainXml(await this.connection(), dom, {inactive: flags.inactive, secure: flags['security-info']})
    this.log(xml.trimEnd())
    return {name: dom.name, xml}
  }
}
