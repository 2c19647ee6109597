import {Args, Flags} from '@oclif/core'
import {ClientCommand} from '../../lib/cli/base-command.js'

export default class DomainAttachInterface extends ClientCommand {
  static override summary = 'Attach a network interface to a domain, running or defined'
  static override examples = [
    '<%= config.bin %> domain attach-interface web01 network default --model virtio',
    '<%= config.bin %> domain attach-interface web01 bridge br0 --mac 52:54:00:12:34:56 --config',
  ]
  static override args = {
    domain: Args.string({description: 'domain name, ID or UUID', required: true}),
    type: Args.string({description: 'interface type', options: ['network', 'bridge', 'user'], required: true}),
    source: Args.string({description: 'network or bridge name (none for user)'}),
  }
  static override flags = {
    mac: Flags.string({description: 'MAC address (default: generated)'}),
    model: Flags.string({description: 'NIC model (virtio, e1000, rtl8139, ...)'}),
    live: Flags.boolean({description: 'affect the running guest'}),
    config: Flags.boolean({description: 'affect the persistent definition'}),
    persistent: Flags.boolean({description: 'affect the definition, and the running guest when it runs'}),
  }

  async run(): Promise<{name: string; type: string; source?: string}> {
    const {args, flags} = await this.parse(DomainAttachInterface)
    if (args.type !== 'user' && args.source === undefined) this.error(`interface type '${args.type}' needs a source`, {exit: 2})
    const dom = await this.domain(args.domain)
    const dev = await import('../../lib/client/devices.js')
    const xml = dev.interfaceXml({type: args.type, source: args.source, mac: flags.mac, model: flags.model})
    await dev.attachDevice(await this.connection(), dom, xml, dev.affectFlags(dom, flags))
    this.log('Interface attached successfully')
    return {name: dom.name, type: args.type, ...(args.source === undefined ? {} : {source: args.source})}
  }
}
