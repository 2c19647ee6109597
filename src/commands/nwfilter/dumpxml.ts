import {Args} from '@oclif/core'
import {ClientCommand} from '../../lib/cli/base-command.js'

export default class NwFilterDumpxml extends ClientCommand {
  static override summary = "Print a network filter's XML"
  static override examples = [
    '<%= config.bin %> nwfilter dumpxml clean-traffic',
    '<%= config.bin %> nwfilter dumpxml no-ip-spoofing --json -c nwfilter:///system',
  ]
  static override args = {filter: Args.string({description: 'filter name or UUID', required: true})}

  async run(): Promise<{name: string; xml: string}> {
    const {args} = await this.parse(NwFilterDumpxml)
    const {nwfilterXml} = await import('../../lib/client/nwfilters.js')
    const xml = await nwfilterXml(await this.connection(), args.filter)
    if (!this.jsonEnabled()) process.stdout.write(xml)
    return {name: args.filter, xml}
  }
}
