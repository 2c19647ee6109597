import {Args, Flags} from '@oclif/core'
import {ClientCommand} from '../../lib/cli/base-command.js'

export default class NetworkDumpxml extends ClientCommand {
  static override summary = "Print a virtual network's XML (the running one; the persistent one with --inactive)"
  static override examples = ['<%= config.bin %> network dumpxml default', '<%= config.bin %> network dumpxml default --inactive --json']
  static override args = {network: Args.string({description: 'network name or UUID', required: true})}
  static override flags = {inactive: Flags.boolean({description: 'the persistent definition, not the running one'})}

  async run(): Promise<{name: string; xml: string}> {
    const {args, flags} = await this.parse(NetworkDumpxml)
    const {findNetwork, networkXml} = await import('../../lib/client/networks.js')
    const conn = await this.connection()
    const net = await findNetwork(conn, args.network)
    const xml = await networkXml(conn, net, flags.inactive)
    if (!this.jsonEnabled()) process.stdout.write(xml)
    return {name: net.name, xml}
  }
}
