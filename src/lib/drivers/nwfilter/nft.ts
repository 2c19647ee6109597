/**
 * Filter rules as nftables rules, in vctl's own `bridge vctl_nwfilter` table (nothing else of the
 * ruleset is read or changed). Frames from a guest (direction 'out') are caught at the bridge's
 * prerouting hook by their input port (iifname = the tap), frames to it ('in') at postrouting by
 * their output port, each through a verdict map to the tap's own root chain: `TAP-out`, `TAP-in`.
 * A filter chain other than root (`mac`, `ipv4-ip`, `arp`...) becomes `TAP-out-ipv4-ip` etc., jumped
 * to from the root chain for its protocol at the chain's priority, as libvirt's ebtables driver
 * does. Layer-2 headers are matched directly; ARP/RARP fields by offset in the network header.
 */
import {ErrorCode, VirError} from '../../errors.js'
import {NWFILTER_DOMAIN, type RuleAttr} from '../../conf/nwfilter.js'
import type {ConcreteRule} from './instantiate.js'

export const NFT_TABLE = 'vctl_nwfilter'
const T = `bridge ${NFT_TABLE}`

function unsupported(what: string): VirError {
  const detail = `${what} is not supported by vctl's nftables backend`
  return new VirError(ErrorCode.BUILD_FIREWALL, NWFILTER_DOMAIN, `Error while building firewall: ${detail}`, {
    str1: 'Error while building firewall: %s',
    str2: detail,
  })
}

/** The table, its two hooks and the tap maps (idempotent: `add` of what exists is a no-op). */
export function baseScript(): string {
  return [
    `add table ${T}`,
    `add map ${T} out_taps { type ifname : verdict ; }`,
    `add map ${T} in_taps { type ifname : verdict ; }`,
    `add chain ${T} prerouting { type filter hook prerouting priority -300 ; policy accept ; }`,
    `add chain ${T} postrouting { type filter hook postrouting priority -300 ; policy accept ; }`,
    `flush chain ${T} prerouting`,
    `flush chain ${T} postrouting`,
    `add rule ${T} prerouting iifname vmap @out_taps`,
    `add rule ${T} postrouting oifname vmap @in_taps`,
  ].join('\n')
}

const q = (s: string) => JSON.stringify(s)
/** A tap's name as the start of nft chain names (identifiers: a letter first, no quotes). */
export const chainBase = (dev: string) => (/^[A-Za-z]/.test(dev) ? '' : 't') + dev.replace(/[^A-Za-z0-9_.-]/g, '_')
const macHex = (mac: string) => '0x' + mac.replace(/:/g, '')
const ipHex = (ip: string) =>
  '0x' +
  ip
    .split('.')
    .map((n) => Number(n).toString(16).padStart(2, '0'))
    .join('')
const maskHex = (bits: number) => '0x' + (bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0).toString(16).padStart(8, '0')

/** Ethernet type (or other match) that leads from the root chain into a chain of that prefix. */
function chainMatch(chain: string): string {
  if (chain.startsWith('mac')) return ''
  if (chain.startsWith('vlan')) return 'ether type 8021q '
  if (chain.startsWith('stp')) return 'ether daddr 01:80:c2:00:00:00 '
  if (chain.startsWith('rarp')) return 'ether type 0x8035 '
  if (chain.startsWith('arp')) return 'ether type arp '
  if (chain.startsWith('ipv4')) return 'ether type ip '
  if (chain.startsWith('ipv6')) return 'ether type ip6 '
  return ''
}

const IPV4_L4: Record<string, number | undefined> = {tcp: 6, udp: 17, udplite: 136, esp: 50, ah: 51, sctp: 132, icmp: 1, igmp: 2, all: undefined}

/** The nft match expressions of one rule. */
export function ruleMatches(rule: ConcreteRule['rule']): string {
  const proto = rule.protocol
  if (!proto) return ''
  const get = (n: string) => rule.attrs.find((a) => a.name === n)
  const op = (a: RuleAttr) => (a.neg ? '!= ' : '')
  const out: string[] = []
  const mac = (field: 'saddr' | 'daddr', addr?: RuleAttr, mask?: RuleAttr) => {
    if (!addr) return
    out.push(mask ? `ether ${field} & ${mask.text} ${addr.neg ? '!=' : '=='} ${addr.text}` : `ether ${field} ${op(addr)}${addr.text}`)
  }
  mac('saddr', get('srcmacaddr'), get('srcmacmask'))
  mac('daddr', get('dstmacaddr'), get('dstmacmask'))
  const v6 = proto === 'ipv6' || proto.endsWith('-ipv6') || proto === 'icmpv6'
  const fam = v6 ? 'ip6' : 'ip'
  const ipAddr = (field: 'saddr' | 'daddr', addr?: RuleAttr, mask?: RuleAttr, from?: RuleAttr, to?: RuleAttr) => {
    if (addr) out.push(`${fam} ${field} ${op(addr)}${addr.text}${mask ? `/${mask.num ?? 0}` : ''}`)
    if (from) out.push(`${fam} ${field} ${op(from)}${from.text}${to ? `-${to.text}` : ''}`)
  }
  const ports = () => {
    for (const [s, e, f] of [
      ['srcportstart', 'srcportend', 'sport'],
      ['dstportstart', 'dstportend', 'dport'],
    ] as const) {
      const a = get(s)
      const b = get(e)
      if (a) out.push(`th ${f} ${op(a)}${a.num ?? 0}${b ? `-${b.num ?? 0}` : ''}`)
    }
  }
  for (const n of ['connlimit-above', 'ipset', 'ipsetflags']) if (get(n)) throw unsupported(`the ${n} attribute`)
  switch (proto) {
    case 'mac': {
      const p = get('protocolid')
      if (p) out.push(`ether type ${op(p)}0x${(p.num ?? 0).toString(16).padStart(4, '0')}`)
      break
    }
    case 'vlan': {
      const id = get('vlanid')
      const encap = get('encap-protocol')
      out.push('ether type 8021q')
      if (id) out.push(`vlan id ${op(id)}${id.num ?? 0}`)
      if (encap) out.push(`vlan type ${op(encap)}0x${(encap.num ?? 0).toString(16).padStart(4, '0')}`)
      break
    }
    case 'stp': {
      out.push('ether daddr 01:80:c2:00:00:00')
      const extra = rule.attrs.find((a) => !['srcmacaddr', 'srcmacmask', 'comment'].includes(a.name))
      if (extra) throw unsupported(`the stp attribute ${extra.name}`)
      break
    }
    case 'arp':
    case 'rarp': {
      out.push(`ether type ${proto === 'arp' ? 'arp' : '0x8035'}`)
      const raw = (n: string, off: number, len: number, val: (a: RuleAttr) => string) => {
        const a = get(n)
        if (a) out.push(`@nh,${off},${len} ${op(a)}${val(a)}`)
      }
      raw('hwtype', 0, 16, (a) => String(a.num ?? 0))
      raw('protocoltype', 16, 16, (a) => String(a.num ?? 0))
      raw('opcode', 48, 16, (a) => String(a.num ?? 0))
      raw('arpsrcmacaddr', 64, 48, (a) => macHex(a.text))
      raw('arpdstmacaddr', 144, 48, (a) => macHex(a.text))
      for (const [n, m, off] of [
        ['arpsrcipaddr', 'arpsrcipmask', 112],
        ['arpdstipaddr', 'arpdstipmask', 192],
      ] as const) {
        const a = get(n)
        const mask = get(m)
        if (!a) continue
        if (mask && (mask.num ?? 32) < 32) out.push(`@nh,${off},32 & ${maskHex(mask.num ?? 32)} ${a.neg ? '!=' : '=='} ${ipHex(a.text)}`)
        else out.push(`@nh,${off},32 ${op(a)}${ipHex(a.text)}`)
      }
      break
    }
    case 'ip':
    case 'ipv6': {
      out.push(`ether type ${fam}`)
      ipAddr('saddr', get('srcipaddr'), get('srcipmask'))
      ipAddr('daddr', get('dstipaddr'), get('dstipmask'))
      const p = get('protocol')
      if (p) out.push(`${v6 ? 'meta l4proto' : 'ip protocol'} ${op(p)}${p.num ?? 0}`)
      ports()
      const dscp = get('dscp')
      if (dscp) out.push(`ip dscp ${op(dscp)}${dscp.num ?? 0}`)
      const type = get('type')
      if (type) out.push(`icmpv6 type ${op(type)}${type.num ?? 0}`)
      const code = get('code')
      if (code) out.push(`icmpv6 code ${op(code)}${code.num ?? 0}`)
      break
    }
    default: {
      const base = proto.replace(/-ipv6$/, '')
      out.push(`ether type ${fam}`)
      const l4 = base === 'icmpv6' ? 58 : IPV4_L4[base]
      if (l4 !== undefined) out.push(`meta l4proto ${l4}`)
      ipAddr('saddr', get('srcipaddr'), get('srcipmask'), get('srcipfrom'), get('srcipto'))
      ipAddr('daddr', get('dstipaddr'), get('dstipmask'), get('dstipfrom'), get('dstipto'))
      ports()
      const dscp = get('dscp')
      if (dscp) out.push(`${fam} dscp ${op(dscp)}${dscp.num ?? 0}`)
      const flags = get('flags')
      if (flags && base === 'tcp') out.push(`tcp flags & ${(flags.num ?? 0) >> 8} ${flags.neg ? '!=' : '=='} ${(flags.num ?? 0) & 0x3f}`)
      const type = get('type')
      const code = get('code')
      const icmp = base === 'icmpv6' || v6 ? 'icmpv6' : 'icmp'
      if (type) out.push(`${icmp} type ${op(type)}${type.num ?? 0}`)
      if (code) out.push(`${icmp} code ${op(code)}${code.num ?? 0}`)
    }
  }
  return out.length ? out.join(' ') + ' ' : ''
}

const VERDICT = {accept: 'accept', drop: 'drop', reject: 'drop', return: 'return', continue: 'continue'} as const

/** Chain names of a tap: its two roots and one per other filter chain used, per direction. */
export function tapChains(dev: string, rules: ConcreteRule[]): string[] {
  const subs = [...new Set(rules.map((r) => r.chain).filter((c) => c !== 'root'))]
  const b = chainBase(dev)
  return ['out', 'in'].flatMap((d) => [`${b}-${d}`, ...subs.map((c) => `${b}-${d}-${c}`)])
}

interface Entry {
  priority: number
  line: string
}

/** The script that creates the tap's chains and rules and plugs them into the maps. */
export function bindingScript(dev: string, rules: ConcreteRule[]): string {
  const lines: string[] = []
  for (const c of tapChains(dev, rules)) lines.push(`add chain ${T} ${c}`)
  const b = chainBase(dev)
  for (const dir of ['out', 'in'] as const) {
    const root = `${b}-${dir}`
    const rootEntries: Entry[] = []
    const subEntries = new Map<string, Entry[]>()
    for (const r of rules) {
      if (r.chain !== 'root' && !subEntries.has(r.chain)) {
        subEntries.set(r.chain, [])
        rootEntries.push({priority: r.chainPriority, line: `${chainMatch(r.chain)}jump ${root}-${r.chain}`})
      }
      if (r.rule.direction !== dir && r.rule.direction !== 'inout') continue
      const line = `${ruleMatches(r.rule)}counter ${VERDICT[r.rule.action]}`
      if (r.chain === 'root') rootEntries.push({priority: r.rule.priority, line})
      else subEntries.get(r.chain)?.push({priority: r.rule.priority, line})
    }
    const emit = (chain: string, entries: Entry[]) => {
      // stable: equal priorities keep the order of the filters
      for (const e of [...entries].sort((a, b) => a.priority - b.priority)) lines.push(`add rule ${T} ${chain} ${e.line}`)
    }
    emit(root, rootEntries)
    for (const [chain, entries] of subEntries) emit(`${root}-${chain}`, entries)
  }
  lines.push(`add element ${T} out_taps { ${q(dev)} : jump ${b}-out }`)
  lines.push(`add element ${T} in_taps { ${q(dev)} : jump ${b}-in }`)
  return lines.join('\n')
}

/** The script that unplugs a tap and removes its chains (given by name). */
export function teardownScript(dev: string, chains: string[]): string {
  return [
    `delete element ${T} out_taps { ${q(dev)} }`,
    `delete element ${T} in_taps { ${q(dev)} }`,
    ...chains.map((c) => `flush chain ${T} ${c}`),
    ...chains.map((c) => `delete chain ${T} ${c}`),
  ].join('\n')
}
