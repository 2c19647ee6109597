/**
 * Host interface definitions (libvirt's interface XML: ethernet, bridge, bond, vlan) parsed and
 * formatted as libvirt's interface_conf does, with its errors. The test driver keeps these.
 */
import {ErrorCode, ErrorDomain, VirError, errors} from '../errors.js'
import {attr, child, childrenNamed, escapeAttr, parseXml, type XmlElement} from './xml.js'

const D = ErrorDomain.INTERFACE
const TYPES = ['ethernet', 'bridge', 'bond', 'vlan'] as const
type IfaceType = (typeof TYPES)[number]
const START_MODES = ['onboot', 'hotplug', 'none']
const BOND_MODES = ['balance-rr', 'active-backup', 'balance-xor', 'broadcast', '802.3ad', 'balance-tlb', 'balance-alb']
const LINK_STATES = ['unknown', 'notpresent', 'down', 'lowerlayerdown', 'testing', 'dormant', 'up']

export interface IfaceProtocol {
  family: string
  autoconf: boolean
  dhcp?: {peerdns?: boolean}
  ips: Array<{address: string; prefix?: number}>
  gateway?: string
}

export interface IfaceDefinition {
  type: IfaceType
  name: string
  startMode?: string
  mtu?: number
  protocols: IfaceProtocol[]
  link?: {speed?: number; state?: string}
  mac?: string
  bridge?: {stp?: boolean; delay?: string; members: IfaceDefinition[]}
  bond?: {
    mode?: string
    miimon?: {freq: number; downdelay?: number; updelay?: number; carrier?: string}
    arpmon?: {interval: number; target: string; validate?: string}
    members: IfaceDefinition[]
  }
  vlan?: {tag: string; dev: string}
}

const xmlErr = (detail: string) => errors.xmlError(D, detail)

function intAttr(e: XmlElement | undefined, name: string): number | undefined | null {
  const v = attr(e, name)
  if (v === undefined) return undefined
  return /^[+-]?\d+$/.test(v.trim()) ? Number(v) : null
}

function parseProtocol(p: XmlElement): IfaceProtocol {
  const family = attr(p, 'family')
  if (family === undefined) throw xmlErr('protocol misses the family attribute')
  if (family !== 'ipv4' && family !== 'ipv6') throw xmlErr(`unsupported protocol family '${family}'`)
  const proto: IfaceProtocol = {family, autoconf: family === 'ipv6' && child(p, 'autoconf') !== undefined, ips: []}
  proto.gateway = attr(child(p, 'route'), 'gateway')
  const dhcp = child(p, 'dhcp')
  if (dhcp) {
    const peer = attr(dhcp, 'peerdns')
    if (peer !== undefined && peer !== 'yes' && peer !== 'no') throw xmlErr(`unknown dhcp peerdns value ${peer}`)
    proto.dhcp = {peerdns: peer === undefined ? undefined : peer === 'yes'}
  }
  for (const ip of childrenNamed(p, 'ip')) {
    const address = attr(ip, 'address')
    if (address === undefined) continue
    const prefix = intAttr(ip, 'prefix')
    if (prefix === null) throw xmlErr('Invalid ip address prefix value')
    proto.ips.push({address, prefix})
  }
  return proto
}

function parseBond(b: XmlElement): NonNullable<IfaceDefinition['bond']> {
  const mode = attr(b, 'mode')
  if (mode !== undefined && !BOND_MODES.includes(mode)) throw xmlErr(`unknown bonding mode ${mode}`)
  const bond: NonNullable<IfaceDefinition['bond']> = {mode, members: childrenNamed(b, 'interface').map((i) => parseDev(i, 'bond'))}
  const mii = child(b, 'miimon')
  const arp = child(b, 'arpmon')
  if (mii) {
    const freq = intAttr(mii, 'freq')
    if (freq === undefined || freq === null) throw xmlErr('bond interface miimon freq missing or invalid')
    const downdelay = intAttr(mii, 'downdelay')
    if (downdelay === null) throw xmlErr('bond interface miimon downdelay invalid')
    const updelay = intAttr(mii, 'updelay')
    if (updelay === null) throw xmlErr('bond interface miimon updelay invalid')
    const carrier = attr(mii, 'carrier')
    if (carrier !== undefined && carrier !== 'ioctl' && carrier !== 'netif') throw xmlErr(`unknown mii bonding carrier ${carrier}`)
    bond.miimon = {freq, downdelay, updelay, carrier}
  } else if (arp) {
    const interval = intAttr(arp, 'interval')
    if (interval === undefined || interval === null) throw xmlErr('bond interface arpmon interval missing or invalid')
    const target = attr(arp, 'target')
    if (target === undefined) throw xmlErr('bond interface arpmon target missing')
    const validate = attr(arp, 'validate')
    if (validate !== undefined && !['active', 'backup', 'all'].includes(validate)) throw xmlErr(`unknown arp bonding validate ${validate}`)
    bond.arpmon = {interval, target, validate}
  }
  return bond
}

function parseDev(e: XmlElement, parent?: IfaceType): IfaceDefinition {
  const typeText = attr(e, 'type')
  if (typeText === undefined) {
    throw errors.xmlError(ErrorDomain.XML, `Missing required attribute 'type' in element '${e.name}'`)
  }
  const type = TYPES.find((x) => x === typeText)
  if (!type) throw errors.xmlError(ErrorDomain.XML, `Invalid value for attribute 'type' in element '${e.name}': '${typeText}'.`)
  if ((parent === 'bond' && type !== 'ethernet') || (parent === 'bridge' && type === 'bridge') || parent === 'ethernet' || parent === 'vlan') {
    throw xmlErr(`interface has unsupported type '${type}'`)
  }
  const name = attr(e, 'name')
  if (name === undefined) throw xmlErr('interface has no name')
  const def: IfaceDefinition = {type, name, protocols: []}
  if (parent === undefined) {
    const mode = attr(child(e, 'start'), 'mode')
    if (mode !== undefined && !START_MODES.includes(mode)) throw xmlErr(`unknown interface startmode ${mode}`)
    def.startMode = mode
    const mtu = intAttr(child(e, 'mtu'), 'size')
    // libvirt reports a malformed MTU without a message.
    if (mtu === null) throw new VirError(ErrorCode.INTERNAL_ERROR, ErrorDomain.NONE, 'An error occurred, but the cause is unknown')
    if (mtu !== undefined && (mtu < 0 || mtu > 100000)) throw xmlErr('interface mtu value is improper')
    def.mtu = mtu
    def.protocols = childrenNamed(e, 'protocol').map(parseProtocol)
  }
  const link = child(e, 'link')
  if (type !== 'bridge' && link) {
    const speed = intAttr(link, 'speed')
    const state = attr(link, 'state')
    if (speed === null) throw xmlErr('Unable to parse link speed')
    if (state !== undefined && !LINK_STATES.includes(state)) throw xmlErr(`unknown link state: ${state}`)
    def.link = {speed, state}
  }
  if (type === 'ethernet') def.mac = attr(child(e, 'mac'), 'address')
  if (type === 'bridge') {
    const b = child(e, 'bridge')
    if (!b) throw xmlErr('bridge interface misses the bridge element')
    const stp = attr(b, 'stp')
    if (stp !== undefined && stp !== 'on' && stp !== 'off') throw xmlErr(`bridge interface stp should be on or off got ${stp}`)
    def.bridge = {
      stp: stp === undefined ? undefined : stp === 'on',
      delay: attr(b, 'delay'),
      members: childrenNamed(b, 'interface').map((i) => parseDev(i, 'bridge')),
    }
  }
  if (type === 'bond') {
    const b = child(e, 'bond')
    if (!b) throw xmlErr('bond interface misses the bond element')
    def.bond = parseBond(b)
  }
  if (type === 'vlan') {
    const v = child(e, 'vlan')
    if (!v) throw xmlErr('vlan interface misses the vlan element')
    const tag = attr(v, 'tag')
    if (tag === undefined) throw xmlErr('vlan interface misses the tag attribute')
    const dev = attr(child(v, 'interface'), 'name')
    if (dev === undefined) throw xmlErr('vlan interface misses name attribute')
    def.vlan = {tag, dev}
  }
  return def
}

/** Parses interface XML (virInterfaceDefParseString). */
export function parseInterfaceXml(xml: string): IfaceDefinition {
  const root = parseXml(xml, 'interface_definition', D)
  if (root.name !== 'interface') throw errors.xmlError(ErrorDomain.XML, `expecting root element of 'interface', not '${root.name}'`)
  return parseDev(root)
}

const q = escapeAttr

function formatDev(def: IfaceDefinition, top: boolean): string[] {
  const body: string[] = []
  if (top) {
    if (def.startMode) body.push(`<start mode='${def.startMode}'/>`)
    if (def.mtu) body.push(`<mtu size='${def.mtu}'/>`)
    for (const p of def.protocols) {
      body.push(`<protocol family='${q(p.family)}'>`)
      if (p.autoconf) body.push('  <autoconf/>')
      if (p.dhcp) body.push(p.dhcp.peerdns === undefined ? '  <dhcp/>' : `  <dhcp peerdns='${p.dhcp.peerdns ? 'yes' : 'no'}'/>`)
      for (const ip of p.ips) body.push(`  <ip address='${q(ip.address)}'${ip.prefix ? ` prefix='${ip.prefix}'` : ''}/>`)
      if (p.gateway !== undefined) body.push(`  <route gateway='${q(p.gateway)}'/>`)
      body.push('</protocol>')
    }
  }
  if (def.type !== 'bridge' && def.link && (def.link.speed || def.link.state)) {
    body.push(`<link${def.link.speed ? ` speed='${def.link.speed}'` : ''}${def.link.state ? ` state='${def.link.state}'` : ''}/>`)
  }
  if (def.type === 'ethernet' && def.mac) body.push(`<mac address='${q(def.mac)}'/>`)
  if (def.bridge) {
    const b = def.bridge
    const stp = b.stp === undefined ? '' : ` stp='${b.stp ? 'on' : 'off'}'`
    body.push(
      `<bridge${stp}${b.delay !== undefined ? ` delay='${q(b.delay)}'` : ''}>`,
      ...b.members.flatMap((m) => formatDev(m, false)).map((l) => `  ${l}`),
      '</bridge>',
    )
  }
  if (def.bond) {
    const b = def.bond
    body.push(`<bond${b.mode ? ` mode='${b.mode}'` : ''}>`)
    if (b.miimon) {
      const m = b.miimon
      body.push(
        `  <miimon freq='${m.freq}'${m.downdelay ? ` downdelay='${m.downdelay}'` : ''}${m.updelay ? ` updelay='${m.updelay}'` : ''}${m.carrier ? ` carrier='${m.carrier}'` : ''}/>`,
      )
    } else if (b.arpmon) {
      const a = b.arpmon
      body.push(`  <arpmon interval='${a.interval}' target='${q(a.target)}'${a.validate ? ` validate='${a.validate}'` : ''}/>`)
    }
    body.push(...b.members.flatMap((m) => formatDev(m, false)).map((l) => `  ${l}`), '</bond>')
  }
  if (def.vlan) body.push(`<vlan tag='${q(def.vlan.tag)}'>`, `  <interface name='${q(def.vlan.dev)}'/>`, '</vlan>')
  return [`<interface type='${def.type}' name='${q(def.name)}'>`, ...body.map((l) => `  ${l}`), '</interface>']
}

/** Formats a definition as libvirt does (virInterfaceDefFormat), newline-terminated. */
export function formatInterfaceXml(def: IfaceDefinition): string {
  return formatDev(def, true).join('\n') + '\n'
}
