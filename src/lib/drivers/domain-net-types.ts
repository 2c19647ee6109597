/** Guest interface queries of a hypervisor driver (domifstat, domifaddr). */

/** virDomainInterfaceStatsStruct, seen from the guest (a tap's rx is the guest's tx). */
export interface InterfaceStats {
  rx_bytes: bigint
  rx_packets: bigint
  rx_errs: bigint
  rx_drop: bigint
  tx_bytes: bigint
  tx_packets: bigint
  tx_errs: bigint
  tx_drop: bigint
}

/** One interface of virDomainInterfaceAddresses. */
export interface DomainInterfaceAddrs {
  name: string
  hwaddr: string | null
  /** type: 0 IPv4, 1 IPv6. */
  addrs: Array<{type: number; addr: string; prefix: number}>
}

/** virDomainInterfaceAddressesSource. */
export const InterfaceAddrSource = {LEASE: 0, AGENT: 1, ARP: 2} as const

export interface DomainNetDriver {
  interfaceStats?(uuid: string, device: string): InterfaceStats | Promise<InterfaceStats>
  interfaceAddresses?(uuid: string, source: number, flags: number): DomainInterfaceAddrs[] | Promise<DomainInterfaceAddrs[]>
}
