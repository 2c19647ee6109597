/**
 * The attributes each protocol element of a network-filter rule takes (`<mac>`, `<ip>`, `<tcp>`,
 * ...), their value types and the order libvirt prints them in, as nwfilter_conf.c defines them.
 */

/** Value types of rule attributes; an attribute accepting several tries them in this order. */
export const DataType = {
  UINT16: 1 << 0,
  UINT8: 1 << 1,
  UINT16_HEX: 1 << 2,
  UINT8_HEX: 1 << 3,
  MACADDR: 1 << 4,
  MACMASK: 1 << 5,
  IPADDR: 1 << 6,
  IPMASK: 1 << 7,
  STRING: 1 << 8,
  IPV6ADDR: 1 << 9,
  IPV6MASK: 1 << 10,
  STRINGCOPY: 1 << 11,
  BOOLEAN: 1 << 12,
  UINT32: 1 << 13,
  UINT32_HEX: 1 << 14,
  IPSETNAME: 1 << 15,
  IPSETFLAGS: 1 << 16,
  LAST: 1 << 17,
} as const

/** Attributes whose string value a validator maps (protocol names, opcodes, flags...). */
export type AttrKind = 'macProto' | 'vlanProto' | 'vlanId' | 'arpOpcode' | 'ipProto' | 'dscp' | 'state' | 'tcpFlags' | 'ipset' | 'ipsetFlags'

export interface AttrDesc {
  name: string
  types: number
  kind?: AttrKind
}

const {UINT16, UINT8, UINT16_HEX, UINT8_HEX, MACADDR, MACMASK, IPADDR, IPMASK, STRING, IPV6ADDR, IPV6MASK, STRINGCOPY, BOOLEAN, UINT32, UINT32_HEX} =
  DataType
const U8 = UINT8 | UINT8_HEX
const U16 = UINT16 | UINT16_HEX
const U32 = UINT32 | UINT32_HEX

const a = (name: string, types: number, kind?: AttrKind): AttrDesc => (kind ? {name, types, kind} : {name, types})

const MAC_PROPS = [a('srcmacaddr', MACADDR), a('srcmacmask', MACMASK), a('dstmacaddr', MACADDR), a('dstmacmask', MACMASK)]
const COMMENT = a('comment', STRINGCOPY)

const mac = [...MAC_PROPS, a('protocolid', U16 | STRING, 'macProto'), COMMENT]
const vlan = [...MAC_PROPS, a('vlanid', U16, 'vlanId'), a('encap-protocol', U16 | STRING, 'vlanProto'), COMMENT]
const stpPairs = ['root-priority', 'root-priority-hi']
const stp = [
  a('srcmacaddr', MACADDR),
  a('srcmacmask', MACMASK),
  a('type', U8),
  a('flags', U8),
  ...stpPairs.map((n) => a(n, U16)),
  a('root-address', MACADDR),
  a('root-address-mask', MACMASK),
  a('root-cost', U32),
  a('root-cost-hi', U32),
  a('sender-priority', U16),
  a('sender-priority-hi', U16),
  a('sender-address', MACADDR),
  a('sender-address-mask', MACMASK),
  ...['port', 'port-hi', 'age', 'age-hi', 'max-age', 'max-age-hi', 'hello-time', 'hello-time-hi', 'forward-delay', 'forward-delay-hi'].map((n) =>
    a(n, U16),
  ),
  COMMENT,
]
const arp = [
  ...MAC_PROPS,
  a('hwtype', U16),
  a('protocoltype', U16),
  a('opcode', U16 | STRING, 'arpOpcode'),
  a('arpsrcmacaddr', MACADDR),
  a('arpdstmacaddr', MACADDR),
  a('arpsrcipaddr', IPADDR),
  a('arpsrcipmask', IPMASK),
  a('arpdstipaddr', IPADDR),
  a('arpdstipmask', IPMASK),
  a('gratuitous', BOOLEAN),
  COMMENT,
]
const PORTS = [a('srcportstart', U16), a('srcportend', U16), a('dstportstart', U16), a('dstportend', U16)]
const ip = [
  ...MAC_PROPS,
  a('srcipaddr', IPADDR),
  a('srcipmask', IPMASK),
  a('dstipaddr', IPADDR),
  a('dstipmask', IPMASK),
  a('protocol', STRING | U8, 'ipProto'),
  ...PORTS,
  a('dscp', U8, 'dscp'),
  COMMENT,
]
const ipv6 = [
  ...MAC_PROPS,
  a('srcipaddr', IPV6ADDR),
  a('srcipmask', IPV6MASK),
  a('dstipaddr', IPV6ADDR),
  a('dstipmask', IPV6MASK),
  a('protocol', STRING | U8, 'ipProto'),
  ...PORTS,
  a('type', U8),
  a('typeend', U8),
  a('code', U8),
  a('codeend', U8),
  COMMENT,
]

function commonIp(v6: boolean): AttrDesc[] {
  const addr = v6 ? IPV6ADDR : IPADDR
  const mask = v6 ? IPV6MASK : IPMASK
  return [
    a('srcmacaddr', MACADDR),
    a('srcipaddr', addr),
    a('srcipmask', mask),
    a('dstipaddr', addr),
    a('dstipmask', mask),
    a('srcipfrom', addr),
    a('srcipto', addr),
    a('dstipfrom', addr),
    // libvirt declares dstipto as an IPv4 address even in the *-ipv6 protocols.
    a('dstipto', IPADDR),
    a('dscp', U8, 'dscp'),
    a('connlimit-above', UINT16),
    a('state', STRING, 'state'),
    a('ipset', DataType.IPSETNAME, 'ipset'),
    a('ipsetflags', DataType.IPSETFLAGS, 'ipsetFlags'),
  ]
}

function l4(v6: boolean, extra: AttrDesc[]): AttrDesc[] {
  return [...commonIp(v6), ...extra, COMMENT]
}

const ICMP = [a('type', U8), a('code', U8)]
const tcpExtra = (v6: boolean) => [...PORTS, a('option', U8), ...(v6 ? [] : [a('flags', STRING, 'tcpFlags')])]

/** Protocol element name -> its attributes, in libvirt's order (which is also the order it looks them up). */
export const PROTOCOLS: ReadonlyArray<readonly [string, readonly AttrDesc[]]> = [
  ['arp', arp],
  ['rarp', arp],
  ['mac', mac],
  ['vlan', vlan],
  ['stp', stp],
  ['ip', ip],
  ['ipv6', ipv6],
  ['tcp', l4(false, tcpExtra(false))],
  ['udp', l4(false, PORTS)],
  ['udplite', l4(false, [])],
  ['esp', l4(false, [])],
  ['ah', l4(false, [])],
  ['sctp', l4(false, PORTS)],
  ['icmp', l4(false, ICMP)],
  ['all', l4(false, [])],
  ['igmp', l4(false, [])],
  ['tcp-ipv6', l4(true, tcpExtra(true))],
  ['udp-ipv6', l4(true, PORTS)],
  ['udplite-ipv6', l4(true, [])],
  ['esp-ipv6', l4(true, [])],
  ['ah-ipv6', l4(true, [])],
  ['sctp-ipv6', l4(true, PORTS)],
  ['icmpv6', l4(true, ICMP)],
  ['all-ipv6', l4(true, [])],
]

export const PROTOCOL_MAP: ReadonlyMap<string, readonly AttrDesc[]> = new Map(PROTOCOLS)

/** Ethernet protocol names `protocolid` and `encap-protocol` accept. */
export const MAC_PROTO: Readonly<Record<string, number>> = {arp: 0x0806, rarp: 0x8035, ipv4: 0x0800, ipv6: 0x86dd, vlan: 0x8100}
/** ARP opcodes by name. */
export const ARP_OPCODE: Readonly<Record<string, number>> = {
  Request: 1,
  Reply: 2,
  Request_Reverse: 3,
  Reply_Reverse: 4,
  DRARP_Request: 5,
  DRARP_Reply: 6,
  DRARP_Error: 7,
  InARP_Request: 8,
  ARP_NAK: 9,
}
/** IP protocol names `protocol` accepts. */
export const IP_PROTO: Readonly<Record<string, number>> = {tcp: 6, udp: 17, udplite: 136, esp: 50, ah: 51, icmp: 1, igmp: 2, sctp: 132, icmpv6: 58}
/** Connection states of `state`, as flag bits. */
export const STATE_FLAGS: ReadonlyArray<readonly [string, number]> = [
  ['NEW', 1],
  ['ESTABLISHED', 2],
  ['RELATED', 4],
  ['INVALID', 8],
  ['NONE', 16],
]
/** TCP flag names of `flags='MASK/SET'`. */
export const TCP_FLAGS: ReadonlyArray<readonly [string, number]> = [
  ['FIN', 0x1],
  ['SYN', 0x2],
  ['RST', 0x4],
  ['PSH', 0x8],
  ['ACK', 0x10],
  ['URG', 0x20],
  ['ALL', 0x3f],
  ['NONE', 0],
]

/** Chain names (or prefixes) a filter may name, and their default priorities. */
export const CHAIN_SUFFIXES = ['root', 'mac', 'vlan', 'stp', 'arp', 'rarp', 'ipv4', 'ipv6'] as const
export const CHAIN_PRIORITY: Readonly<Record<string, number>> = {root: 0, mac: -800, vlan: -750, ipv4: -700, ipv6: -600, arp: -500, rarp: -400}
