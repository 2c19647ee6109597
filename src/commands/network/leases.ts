import {Args, Flags} from '@oclif/core'
import {ClientCommand} from '../../lib/cli/base-command.js'
import type {DhcpLease} from '../../lib/client/networks.js'

export default class NetworkLeases extends ClientCommand {
  static override summary = "List a virtual network's DHCP leases (of one MAC address with --mac)"
  static override examples = ['<%= config.bin %> network leases default', '<%= config.bin %> network leases default --mac 52:54:00:00:00:11 --json']
  static override args = {network: Args.string({description: 'network name or UUID', required: true})}
  static override flags = {mac: Flags.string({description: 'only the leases of this MAC address'})}

  async run(): Promise<DhcpLease[]> {
    const {args, flags} = await this.parse(NetworkLeases)
    const {findNetwork, networkLeases} = await import('../../lib/client/networks.js')
    const conn = await this.connection()
    const leases = await networkLeases(conn, await findNetwork(conn, args.network), flags.mac)
    if (!this.jsonEnabled()) {
      const {table} = await import('../../lib/cli/table.js')
      const when = (s: number) => new Date(s * 1000).toISOString().replace('T', ' ').slice(0, 19)
      this.log(
        table(
          ['Expiry Time', 'MAC address', 'Protocol', 'IP address', 'Hostname', 'Client ID or DUID'],
          leases.map((l) => [when(l.expiry), l.mac ?? '-', l.type, `${l.address}/${l.prefix}`, l.hostname ?? '-', l.clientId ?? '-']),
        ),
      )
    }
    return leases
  }
}
