import {Args, Flags} from '@oclif/core'
import {ClientCommand} from '../../lib/cli/base-command.js'

export default class DomainDetachInterface extends ClientCommand {
  static override summary = 'Detach a network interface from a domain, by type (and MAC when several match)'
  static override examples = [
    '<%= config.bin %> domain detach-interface web01 network',
    '<%= config.bin %> domain detach-interface web01 bridge --mac 52:54:00:12:34:56 --config',
  ]
  static override args = {
    domain: Args.string({description: 'domain name, ID or UUID', required: true}),
    type: Args.string({description: 'interface type (network, bridge, user, ...)', required: true}),
  }
  static override flags = {
    mac: Flags.string({description: 'MAC address of the interface'}),
    live: Flags.boolean({description: 'affect the running guest'}),
    config: Flags.boolean({description: 'affect the persistent definition'}),
    persistent: Flags.boolean({description: 'affect the definition, and the running guest when it runs'}),
  }

  async run(): Promise<{name: string; type: string; mac?: string}> {
    const {args, flags} = await this.parse(DomainDetachInterface)
    const dom = await this.domain(args.domain)
    const dev = await import('../../lib/client/devices.js')
    const {attr, child, serializeXml} = await import('../../lib/conf/xml.js')
    const conn = await this.connection()
    const f = dev.affectFlags(dom, flags)
    const iface = await dev.findInterface(conn, dom, args.type, flags.mac, f)
    await dev.detachDevice(conn, dom, serializeXml(iface), f)
    this.log('Interface detached successfully')
    const mac = attr(child(iface, 'mac'), 'address')
    return {name: dom.name, type: args.type, ...(mac === undefined ? {} : {mac})}
  }
}
