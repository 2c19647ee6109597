/**
 * Virtual network XML <-> NetworkDef. Like domain.ts, the parsed document is kept in `root` and
 * everything not modelled (dns, domain, mac, routes, portgroups, dhcp hosts, ...) is carried over.
 */

import {isIP} from 'node:net'

import {ErrorDomain, errors} from '../errors.js'
import {
  type XmlElement,
  attr,
  child,
  childOrder,
  childrenNamed,
  dropIfEmpty,
  parseXml,
  patchElement,
  reassemble,
  serializeXml,
  textEl,
} from './xml.js'
import {expectRoot, intAttr, requireName, uuidOrNew} from './values.js'

export interface NetworkBridge {
  name?: string
  stp?: boolean
  delay?: number
}

export interface NetworkForward {
  /** nat | route | open | bridge | private | vepa | passthrough | hostdev. */
  mode?: string
  dev?: string
}

export interface NetworkDhcpRange {
  start: string
  end: string
}

export interface NetworkIp {
  address: string
  netmask?: string
  prefix?: number
  /** 'ipv4' | 'ipv6' when given in the XML. */
  family?: string
  dhcpRanges: NetworkDhcpRange[]
  /** The `<ip>` element this came from; its unmodelled content is carried over. */
  xml?: XmlElement
}

export interface NetworkDef {
  name: string
  uuid: string
  bridge?: NetworkBridge
  /** Absent for an isolated network. */
  forward?: NetworkForward
  ips: NetworkIp[]
  /** The bridge's MAC address (`<mac address=>`); libvirt generates one for the bridges it manages. */
  mac?: string
  root: XmlElement
}

const N = ErrorDomain.NETWORK
const FORWARD_MODES = new Set(['nat', 'route', 'open', 'bridge', 'private', 'vepa', 'passthrough', 'hostdev'])
/** Forward modes for which libvirt itself manages a bridge (and always prints stp/delay). */
const MANAGED_BRIDGE = new Set([undefined, 'nat', 'route', 'open'])

function checkIpv4Netmask(mask: string): boolean {
  if (isIP(mask) !== 4) return false
  let bits = 0
  for (const part of mask.split('.')) bits = bits * 256 + Number(part)
  // A netmask is a run of ones followed by zeros.
  const inv = ~bits >>> 0
  return ((inv + 1) & inv) === 0
}

function parseIp(e: XmlElement, netName: string): NetworkIp {
  const address = attr(e, 'address')
  if (address === undefined) throw errors.xmlError(N, `Missing required address attribute in network '${netName}'`)
  const family = attr(e, 'family')
  if (family !== undefined && family !== 'ipv4' && family !== 'ipv6') {
    throw errors.xmlError(N, `Unrecognized family '${family}' in network '${netName}'`)
  }
  const ver = isIP(address)
  if (ver === 0) throw errors.xmlError(N, `Invalid address '${address}' in network '${netName}'`)
  const netmask = attr(e, 'netmask')
  const prefix = intAttr(e, 'prefix', N)
  if (netmask !== undefined && prefix !== undefined) {
    throw errors.xmlError(N, `Network '${netName}' IP address cannot have both a prefix and a netmask`)
  }
  if (netmask !== undefined) {
    if (ver === 6) throw errors.xmlError(N, `netmask not allowed for IPv6 address '${address}' in network '${netName}'`)
    if (!checkIpv4Netmask(netmask)) throw errors.xmlError(N, `Invalid netmask '${netmask}' in network '${netName}'`)
  }
  if (prefix !== undefined && prefix > (ver === 4 ? 32 : 128)) {
    throw errors.xmlError(N, `Invalid ${ver === 4 ? 'IPv4' : 'IPv6'} prefix '${prefix}' in network '${netName}'`)
  }
  const dhcpRanges: NetworkDhcpRange[] = []
  for (const r of childrenNamed(child(e, 'dhcp'), 'range')) {
    const start = attr(r, 'start')
    const end = attr(r, 'end')
    if (start === undefined) throw errors.xmlError(N, `Missing 'start' attribute in dhcp range for network '${netName}'`)
    if (end === undefined) throw errors.xmlError(N, `Missing 'end' attribute in dhcp range for network '${netName}'`)
    dhcpRanges.push({start, end})
  }
  return {address, netmask, prefix, family, dhcpRanges, xml: e}
}

/** Parses network XML; errors are in the NETWORK domain (docName default 'network_definition'). */
export function parseNetworkXml(xml: string, opts: {docName?: string} = {}): NetworkDef {
  return networkFromXml(parseXml(xml, opts.docName ?? 'network_definition', N))
}

export function networkFromXml(root: XmlElement): NetworkDef {
  expectRoot(root, 'network', N)
  const name = requireName(root, N)
  if (name.includes('/')) throw errors.xmlDetail(ErrorDomain.XML, 'invalid char in name: /')
  const uuid = uuidOrNew(root, N)

  let forward: NetworkForward | undefined
  const fwd = child(root, 'forward')
  if (fwd) {
    const mode = attr(fwd, 'mode') ?? 'nat'
    if (!FORWARD_MODES.has(mode)) throw errors.configUnsupported(N, `unknown forwarding type '${mode}'`)
    forward = {mode, dev: attr(fwd, 'dev')}
  }

  let bridge: NetworkBridge | undefined
  const br = child(root, 'bridge')
  const managed = MANAGED_BRIDGE.has(forward?.mode)
  if (br || managed) {
    // libvirt gives bridges it manages itself STP on and a zero forward delay unless told otherwise.
    const delayText = attr(br, 'delay')
    let delay = managed ? 0 : undefined
    if (delayText !== undefined) {
      if (!/^\s*[0-9]+\s*$/.test(delayText)) throw errors.xmlError(N, `Invalid delay value in network '${name}'`)
      delay = Number(delayText)
    }
    const stpText = attr(br, 'stp')
    const stp = stpText !== undefined ? stpText !== 'off' : managed ? true : undefined
    bridge = {name: attr(br, 'name'), stp, delay}
  }

  const ips = childrenNamed(root, 'ip').map((e) => parseIp(e, name))
  const macEl = child(root, 'mac')
  let mac: string | undefined
  if (macEl) {
    mac = attr(macEl, 'address')
    if (mac === undefined || !/^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/.test(mac)) {
      throw errors.xmlError(N, `Invalid bridge mac address '${mac ?? ''}' in network '${name}'`)
    }
    mac = mac.toLowerCase()
  }
  return {name, uuid, bridge, forward, ips, mac, root}
}

const NETWORK_ORDER = childOrder([
  'name',
  'uuid',
  'title',
  'description',
  'metadata',
  'forward',
  'bridge',
  'mtu',
  'mac',
  'domain',
  'dns',
  'bandwidth',
  'vlan',
  'port',
  'ip',
  'route',
  'virtualport',
  'portgroup',
])
const IP_ORDER = childOrder(['tftp', 'dhcp'])
const DHCP_ORDER = childOrder(['range', 'host', 'bootp'])

function formatIp(ip: NetworkIp): XmlElement {
  const o = ip.xml
  const dhcpOrig = child(o, 'dhcp')
  const rangesOrig = childrenNamed(dhcpOrig, 'range')
  const ranges = ip.dhcpRanges.map((r, i) =>
    patchElement(rangesOrig[i], 'range', [
      ['start', r.start],
      ['end', r.end],
    ]),
  )
  const dhcp = dropIfEmpty(reassemble(dhcpOrig, 'dhcp', [], DHCP_ORDER, {range: ranges}))
  return reassemble(
    o,
    'ip',
    [
      ['family', ip.family],
      ['address', ip.address],
      ['netmask', ip.netmask],
      ['prefix', ip.prefix],
    ],
    IP_ORDER,
    {dhcp},
  )
}

/** Produces network XML from the typed fields merged into `def.root`. */
export function formatNetworkXml(def: NetworkDef): string {
  // libvirt always writes an <ip> open and closed, even with nothing inside.
  return serializeXml(networkToXml(def)).replace(/^( {2})<ip( [^>]*)?\/>$/gm, '$1<ip$2>\n$1</ip>')
}

export function networkToXml(def: NetworkDef): XmlElement {
  const o = def.root.name === 'network' ? def.root : undefined
  const forward =
    def.forward === undefined
      ? undefined
      : patchElement(child(o, 'forward'), 'forward', [
          ['mode', def.forward.mode],
          ['dev', def.forward.dev],
        ])
  let bridge: XmlElement | undefined
  if (def.bridge !== undefined) {
    const b = def.bridge
    bridge = patchElement(child(o, 'bridge'), 'bridge', [
      ['name', b.name],
      ['stp', b.stp === undefined ? undefined : b.stp ? 'on' : 'off'],
      ['delay', b.delay],
    ])
  }
  return reassemble(o, 'network', [], NETWORK_ORDER, {
    name: textEl('name', def.name),
    uuid: textEl('uuid', def.uuid),
    forward,
    bridge: bridge && dropIfEmpty(bridge),
    mac: def.mac === undefined ? undefined : patchElement(child(o, 'mac'), 'mac', [['address', def.mac]]),
    ip: def.ips.map(formatIp),
  })
}
