import {Args} from '@oclif/core'
import {ClientCommand} from '../../lib/cli/base-command.js'

export default class NetworkStart extends ClientCommand {
  static override summary = 'Start a defined, inactive virtual network'
  static override examples = ['<%= config.bin %> network start default', '<%= config.bin %> network start net1 -c qemu:///system --json']
  static override args = {network: Args.string({description: 'network name or UUID', required: true})}

  async run(): Promise<{name: string}> {
    const {args} = await this.parse(NetworkStart)
    const {findNetwork, startNetwork} = await import('../../lib/client/networks.js')
    const conn = await this.connection()
    const net = await findNetwork(conn, args.network)
    await startNetwork(conn, net)
    this.log(`Network ${net.name} started`)
    return {name: net.name}
  }
}
