/**
 * The network driver's calls beyond the basic table (net-update, DHCP leases, the network port
 * API), and `NetworkPorts`: the part of it a hypervisor driver uses to plug guest interfaces into
 * networks. libvirtd hands the QEMU driver the network driver itself; virtqemud hands it an RPC
 * client of virtnetworkd, as libvirt's modular daemons do.
 */
import type {NetworkRef} from './types.js'

/** A network port handle (remote_nonnull_network_port). */
export interface NetworkPortRef {
  net: NetworkRef
  uuid: string
}

/** One DHCP lease (virNetworkDHCPLease). */
export interface NetworkDhcpLease {
  iface: string
  expirytime: bigint
  /** virIPAddrType: 0 IPv4, 1 IPv6. */
  type: number
  mac: string | null
  iaid: string | null
  ipaddr: string
  prefix: number
  hostname: string | null
  clientid: string | null
}

/** What a hypervisor driver needs of the network driver. */
export interface NetworkPorts {
  lookupNetworkByName(name: string): NetworkRef | Promise<NetworkRef>
  networkPortCreateXML(netUuid: string, xml: string, flags: number): NetworkPortRef | Promise<NetworkPortRef>
  networkPortGetXMLDesc(netUuid: string, portUuid: string, flags: number): string | Promise<string>
  networkPortDelete(netUuid: string, portUuid: string, flags: number): void | Promise<void>
  /** The DHCP leases of a network (domifaddr). */
  networkGetDhcpLeases(netUuid: string, mac: string | null, flags: number): NetworkDhcpLease[] | Promise<NetworkDhcpLease[]>
}

/** Optional parts of a NetworkDriver (the test driver has none of them). */
export interface NetworkDriverExtras {
  networkUpdate?(uuid: string, command: number, section: number, parentIndex: number, xml: string, flags: number): void | Promise<void>
  networkGetDhcpLeases?(uuid: string, mac: string | null, flags: number): NetworkDhcpLease[] | Promise<NetworkDhcpLease[]>
  networkListAllPorts?(uuid: string, flags: number): NetworkPortRef[]
  networkPortLookupByUuid?(netUuid: string, portUuid: string): NetworkPortRef
  networkPortCreateXML?(netUuid: string, xml: string, flags: number): NetworkPortRef | Promise<NetworkPortRef>
  networkPortGetXMLDesc?(netUuid: string, portUuid: string, flags: number): string
  networkPortDelete?(netUuid: string, portUuid: string, flags: number): void | Promise<void>
  /** Stops timers and watchers when the daemon stops (networks keep running). */
  shutdownDriver?(): Promise<void>
}
