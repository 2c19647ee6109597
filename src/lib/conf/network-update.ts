/**
 * virNetworkUpdate on a network definition (pure): add, modify or delete one `<host>` of an `<ip>`'s
 * `<dhcp>`, a DHCP `<range>`, or a `<dns>` `<host>`, with libvirt's matching rules and errors.
 * The result is a new NetworkDef; the one given is not modified.
 */
import {isIP} from 'node:net'

import {ErrorCode, ErrorDomain, VirError, errors} from '../errors.js'
import {networkFromXml, networkToXml, type NetworkDef} from './network.js'
import {type XmlElement, attr, child, childrenNamed, cloneXml, el, parseXml, serializeXml, textOf} from './xml.js'

const N = ErrorDomain.NETWORK

/** virNetworkUpdateCommand. */
export const NetworkUpdateCommand = {NONE: 0, MODIFY: 1, DELETE: 2, ADD_LAST: 3, ADD_FIRST: 4} as const
/** virNetworkUpdateSection. */
export const NetworkUpdateSection = {
  NONE: 0,
  BRIDGE: 1,
  DOMAIN: 2,
  IP: 3,
  IP_DHCP_HOST: 4,
  IP_DHCP_RANGE: 5,
  FORWARD: 6,
  FORWARD_INTERFACE: 7,
  FORWARD_PF: 8,
  PORTGROUP: 9,
  DNS_HOST: 10,
  DNS_TXT: 11,
  DNS_SRV: 12,
} as const
/** virNetworkUpdateFlags. */
export const NetworkUpdateFlags = {CURRENT: 0, LIVE: 1, CONFIG: 2} as const

const SECTION_NAMES: Record<number, string> = {
  1: 'bridge',
  2: 'domain',
  3: 'ip',
  6: 'forward',
  7: 'forward interface',
  8: 'forward function',
  9: 'portgroup',
  11: 'dns txt',
  12: 'dns srv',
}

function noSupport(what: string, net: string): VirError {
  return errors.noSupport(N, `can't update '${what}' section of network '${net}'`)
}

/** Parses the update's XML and checks its top element. */
function parseFragment(xml: string, expect: string, net: string): XmlElement {
  const e = parseXml(xml, 'network_update', N)
  if (e.name !== expect) throw errors.xmlError(N, `unexpected element <${e.name}>, expecting <${expect}>, while updating network '${net}'`)
  return e
}

/** The `<ip>` an update addresses: parentIndex, or (-1) the first IPv4 one that has DHCP, else the first IPv4 one. */
function targetIp(root: XmlElement, parentIndex: number, net: string): XmlElement {
  const ips = childrenNamed(root, 'ip')
  if (parentIndex >= 0) {
    const ip = ips[parentIndex]
    if (!ip) throw errors.operationInvalid(N, `couldn't update dhcp host entry - no <ip> element found at index ${parentIndex} in network '${net}'`)
    return ip
  }
  const v4 = ips.filter((e) => isIP(attr(e, 'address') ?? '') === 4)
  const ip = v4.find((e) => child(e, 'dhcp')) ?? v4[0]
  if (!ip) throw errors.operationInvalid(N, `can't update dhcp host entry - no ipv4 <ip> element found in network '${net}'`)
  return ip
}

function dhcpOf(ip: XmlElement): XmlElement {
  let d = child(ip, 'dhcp')
  if (!d) {
    d = el('dhcp')
    ip.children.push(d)
  }
  return d
}

const sameMac = (a: string | undefined, b: string | undefined) => a !== undefined && b !== undefined && a.toLowerCase() === b.toLowerCase()
const same = (a: string | undefined, b: string | undefined) => a !== undefined && a === b

/** `<host mac= name= ip=/>` with libvirt's attribute order, as its error messages quote it. */
function hostText(h: XmlElement): string {
  return serializeXml(
    el('host', [
      ...(['mac', 'id', 'name', 'ip'] as const).flatMap((k): [string, string][] => {
        const v = attr(h, k)
        return v === undefined ? [] : [[k, k === 'mac' ? v.toLowerCase() : v]]
      }),
    ]),
  ).trimEnd()
}

function insert(parent: XmlElement, name: string, e: XmlElement, first: boolean): void {
  const idx = parent.children.findIndex((c) => c.kind === 'element' && c.name === name)
  if (first && idx >= 0) {
    parent.children.splice(idx, 0, e)
    return
  }
  let last = -1
  parent.children.forEach((c, i) => {
    if (c.kind === 'element' && c.name === name) last = i
  })
  // <host> entries go after the ranges, <range> entries before the hosts.
  if (last < 0 && name === 'range') {
    const h = parent.children.findIndex((c) => c.kind === 'element' && c.name === 'host')
    if (h >= 0) {
      parent.children.splice(h, 0, e)
      return
    }
  }
  if (last < 0) {
    const r = parent.children.findIndex((c) => c.kind === 'element' && c.name === 'bootp')
    if (r >= 0) parent.children.splice(r, 0, e)
    else parent.children.push(e)
    return
  }
  parent.children.splice(last + 1, 0, e)
}

function remove(parent: XmlElement, e: XmlElement): void {
  const i = parent.children.indexOf(e)
  if (i >= 0) parent.children.splice(i, 1)
}

function updateDhcpHost(root: XmlElement, command: number, parentIndex: number, xml: string, net: string): void {
  const host = parseFragment(xml, 'host', net)
  const mac = attr(host, 'mac')
  if (mac !== undefined && !/^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/.test(mac)) {
    throw errors.xmlError(N, `Cannot parse MAC address '${mac}' in network '${net}'`)
  }
  const ipAttr = attr(host, 'ip')
  if (ipAttr !== undefined && isIP(ipAttr) === 0) throw errors.xmlError(N, `Invalid IP address in static host definition for network '${net}'`)
  const dhcp = dhcpOf(targetIp(root, parentIndex, net))
  const hosts = childrenNamed(dhcp, 'host')
  const matchAny = (h: XmlElement) => sameMac(attr(h, 'mac'), mac) || same(attr(h, 'name'), attr(host, 'name')) || same(attr(h, 'ip'), ipAttr)
  if (command === NetworkUpdateCommand.MODIFY) {
    const found = hosts.find((h) => (mac !== undefined ? sameMac(attr(h, 'mac'), mac) : same(attr(h, 'name'), attr(host, 'name'))))
    if (!found) {
      const parts = (['mac', 'name', 'ip'] as const)
        .map((k) => [k, attr(host, k)] as const)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => `"${k}='${v}'"`)
      throw errors.operationInvalid(N, `couldn't locate an existing dhcp host entry with ${parts.join(' ')} in network '${net}'`)
    }
    dhcp.children[dhcp.children.indexOf(found)] = host
  } else if (command === NetworkUpdateCommand.DELETE) {
    const found = hosts.find(matchAny)
    if (!found) throw errors.operationInvalid(N, `couldn't locate a matching dhcp host entry in network '${net}'`)
    remove(dhcp, found)
  } else {
    if (ipAttr === undefined && mac !== undefined) throw errors.xmlError(N, `Missing IP address in static host definition for network '${net}'`)
    if (hosts.some(matchAny)) {
      throw errors.operationInvalid(N, `there is an existing dhcp host entry in network '${net}' that matches "${hostText(host)}"`)
    }
    insert(dhcp, 'host', host, command === NetworkUpdateCommand.ADD_FIRST)
  }
}

function updateDhcpRange(root: XmlElement, command: number, parentIndex: number, xml: string, net: string): void {
  const range = parseFragment(xml, 'range', net)
  const start = attr(range, 'start')
  const end = attr(range, 'end')
  if (start === undefined || end === undefined) throw errors.xmlError(N, `Missing 'start' or 'end' attribute in dhcp range for network '${net}'`)
  if (command === NetworkUpdateCommand.MODIFY) throw errors.noSupport(N, 'dhcp ranges cannot be modified, only added or deleted')
  const dhcp = dhcpOf(targetIp(root, parentIndex, net))
  const found = childrenNamed(dhcp, 'range').find((r) => attr(r, 'start') === start && attr(r, 'end') === end)
  if (command === NetworkUpdateCommand.DELETE) {
    if (!found) throw errors.operationInvalid(N, `couldn't locate a matching dhcp range entry in network '${net}'`)
    remove(dhcp, found)
    return
  }
  if (found) {
    throw errors.operationInvalid(
      N,
      `there is an existing dhcp range entry in network '${net}' that matches "<range start='${start}' end='${end}'/>"`,
    )
  }
  insert(dhcp, 'range', range, command === NetworkUpdateCommand.ADD_FIRST)
}

function updateDnsHost(root: XmlElement, command: number, xml: string, net: string): void {
  const host = parseFragment(xml, 'host', net)
  const ip = attr(host, 'ip')
  const names = childrenNamed(host, 'hostname').map((h) => textOf(h))
  if (command === NetworkUpdateCommand.MODIFY) throw noSupport('dns host', net)
  let dns = child(root, 'dns')
  const existing = childrenNamed(dns, 'host')
  const matches = (h: XmlElement) => same(attr(h, 'ip'), ip) || childrenNamed(h, 'hostname').some((n) => names.includes(textOf(n)))
  if (command === NetworkUpdateCommand.DELETE) {
    const found = existing.find(matches)
    if (!found || !dns) throw errors.operationInvalid(N, `couldn't locate a matching DNS HOST record in network '${net}'`)
    remove(dns, found)
    return
  }
  if (ip === undefined) throw errors.xmlDetail(N, `Missing IP address in network '${net}' DNS HOST record`)
  if (isIP(ip) === 0) throw errors.xmlError(N, `Invalid IP address in network '${net}' DNS HOST record`)
  if (names.length === 0) throw errors.xmlDetail(N, `Missing hostname in network '${net}' DNS HOST record`)
  if (existing.some(matches)) {
    throw errors.operationInvalid(N, `there is already at least one DNS HOST record with a matching field in network ${net}`)
  }
  if (!dns) {
    dns = el('dns')
    root.children.push(dns)
  }
  insert(dns, 'host', host, command === NetworkUpdateCommand.ADD_FIRST)
}

/** Applies one update to a copy of `def` and returns the re-parsed result. */
export function applyNetworkUpdate(def: NetworkDef, command: number, section: number, parentIndex: number, xml: string): NetworkDef {
  const net = def.name
  if (command < NetworkUpdateCommand.MODIFY || command > NetworkUpdateCommand.ADD_FIRST) {
    throw new VirError(
      ErrorCode.NO_SUPPORT,
      N,
      `this function is not supported by the connection driver: unrecognized network update command code ${command}`,
    )
  }
  const root = cloneXml(networkToXml(def))
  switch (section) {
    case NetworkUpdateSection.IP_DHCP_HOST:
      updateDhcpHost(root, command, parentIndex, xml, net)
      break
    case NetworkUpdateSection.IP_DHCP_RANGE:
      updateDhcpRange(root, command, parentIndex, xml, net)
      break
    case NetworkUpdateSection.DNS_HOST:
      updateDnsHost(root, command, xml, net)
      break
    default: {
      const what = SECTION_NAMES[section]
      if (what === undefined) {
        throw new VirError(
          ErrorCode.NO_SUPPORT,
          N,
          `this function is not supported by the connection driver: can't update unrecognized section of network`,
        )
      }
      throw noSupport(what, net)
    }
  }
  return networkFromXml(root)
}
