import {Args} from '@oclif/core'
import {ClientCommand} from '../../lib/cli/base-command.js'

export default class NetworkDestroy extends ClientCommand {
  static override summary = 'Stop a running virtual network (its bridge, dnsmasq and firewall go away)'
  static override examples = ['<%= config.bin %> network destroy default', '<%= config.bin %> network destroy net1 -c qemu:///system --json']
  static override args = {network: Args.string({description: 'network name or UUID', required: true})}

  async run(): Promise<{name: string}> {
    const {args} = await this.parse(NetworkDestroy)
    const {findNetwork, destroyNetwork} = await import('../../lib/client/networks.js')
    const conn = await this.connection()
    const net = await findNetwork(conn, args.network)
    await destroyNetwork(conn, net)
    this.log(`Network ${net.name} destroyed`)
    return {name: net.name}
  }
}
