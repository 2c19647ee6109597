import {Args, Flags} from '@oclif/core'
import {readFile} from 'node:fs/promises'
import {ClientCommand} from '../../lib/cli/base-command.js'
import {UpdateCommands, UpdateSections} from '../../lib/client/networks.js'

export default class NetworkUpdate extends ClientCommand {
  static override summary = 'Change part of a virtual network: add, modify or delete a DHCP host, a DHCP range, a DNS host...'
  static override examples = [
    `<%= config.bin %> network update default add ip-dhcp-host "<host mac='52:54:00:00:00:11' name='web' ip='192.168.122.11'/>" --live --config`,
    `<%= config.bin %> network update default delete dns-host "<host ip='192.168.122.50'/>" --json`,
  ]
  static override args = {
    network: Args.string({description: 'network name or UUID', required: true}),
    command: Args.string({description: 'add | add-first | add-last | modify | delete', required: true, options: Object.keys(UpdateCommands)}),
    section: Args.string({description: 'the part of the network to change', required: true, options: Object.keys(UpdateSections)}),
    xml: Args.string({description: 'the XML of the element (or a file holding it)', required: true}),
  }
  static override flags = {
    'parent-index': Flags.integer({description: 'which <ip> element (from 0; default: the first that fits)'}),
    live: Flags.boolean({description: 'change the running network'}),
    config: Flags.boolean({description: 'change the persistent definition'}),
  }

  async run(): Promise<{name: string; command: string; section: string}> {
    const {args, flags} = await this.parse(NetworkUpdate)
    let xml = args.xml
    if (!xml.trimStart().startsWith('<')) {
      try {
        xml = await readFile(args.xml, 'utf8')
      } catch (err) {
        this.error(`failed to read file '${args.xml}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {exit: 1})
      }
    }
    const {findNetwork, updateNetwork} = await import('../../lib/client/networks.js')
    const conn = await this.connection()
    const net = await findNetwork(conn, args.network)
    await updateNetwork(conn, net, {
      command: args.command as keyof typeof UpdateCommands,
      section: args.section as keyof typeof UpdateSections,
      xml,
      parentIndex: flags['parent-index'],
      live: flags.live,
      config: flags.config,
    })
    const where =
      flags.live && flags.config ? 'persistent config and live state' : flags.config ? 'persistent config' : flags.live ? 'live state' : 'state'
    this.log(`Updated network ${net.name} ${where}`)
    return {name: net.name, command: args.command, section: args.section}
  }
}
