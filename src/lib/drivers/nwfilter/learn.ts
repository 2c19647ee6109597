/**
 * Learning a guest's IP address for the IP variable (CTRL_IP_LEARNING any/dhcp): vctl reads the DHCP
 * lease the network driver handed to the NIC's MAC, instead of sniffing the tap as libvirt does.
 */
import type {NetworkDriver} from '../types.js'
import type {IpLearner} from './bindings.js'

/** ListNetworks flag: active networks only. */
const ACTIVE = 2

export function leaseLearner(network: () => Promise<NetworkDriver | undefined>): IpLearner {
  return async (mac) => {
    const net = await network()
    if (!net?.networkGetDhcpLeases) return undefined
    for (const n of net.listNetworks(ACTIVE)) {
      const leases = await net.networkGetDhcpLeases(n.uuid, mac, 0)
      const v4 = leases.find((l) => l.type === 0 && l.mac?.toLowerCase() === mac.toLowerCase())
      if (v4) return v4.ipaddr
    }
    return undefined
  }
}
