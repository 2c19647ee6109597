import {Args} from '@oclif/core'
import {ClientCommand} from '../../lib/cli/base-command.js'

export default class NetworkUndefine extends ClientCommand {
  static override summary = 'Remove the persistent definition of a virtual network'
  static override examples = ['<%= config.bin %> network undefine default', '<%= config.bin %> network undefine net1 -c qemu:///system --json']
  static override args = {network: Args.string({description: 'network name or UUID', required: true})}

  async run(): Promise<{name: string}> {
    const {args} = await this.parse(NetworkUndefine)
    const {findNetwork, undefineNetwork} = await import('../../lib/client/networks.js')
    const conn = await this.connection()
    const net = await findNetwork(conn, args.network)
    await undefineNetwork(conn, net)
    this.log(`Network ${net.name} has been undefined`)
    return {name: net.name}
  }
}
