import {Args, Flags} from '@oclif/core'
import {ClientCommand} from '../../lib/cli/base-command.js'

export default class NetworkAutostart extends ClientCommand {
  static override summary = 'Mark a virtual network to start with the daemon (or unmark with --disable)'
  static override examples = ['<%= config.bin %> network autostart net1', '<%= config.bin %> network autostart net1 --disable -c qemu:///system']
  static override args = {network: Args.string({description: 'network name or UUID', required: true})}
  static override flags = {disable: Flags.boolean({description: 'do not start it with the daemon'})}

  async run(): Promise<{name: string; autostart: boolean}> {
    const {args, flags} = await this.parse(NetworkAutostart)
    const {findNetwork, setNetworkAutostart} = await import('../../lib/client/networks.js')
    const conn = await this.connection()
    const net = await findNetwork(conn, args.network)
    await setNetworkAutostart(conn, net, !flags.disable)
    this.log(flags.disable ? `Network ${net.name} unmarked as autostarted` : `Network ${net.name} marked as autostarted`)
    return {name: net.name, autostart: !flags.disable}
  }
}
