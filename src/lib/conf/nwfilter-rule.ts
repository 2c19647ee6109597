/**
 * One `<rule>` of a network filter: its action, direction, priority and protocol element, each
 * attribute parsed and validated as libvirt's nwfilter_conf.c does and printed back the same way.
 */
import {ErrorCode, VirError, errors} from '../errors.js'
import {ARP_OPCODE, DataType, IP_PROTO, MAC_PROTO, PROTOCOLS, STATE_FLAGS, TCP_FLAGS, type AttrDesc} from './nwfilter-attrs.js'
import {formatVarAccess, ipv6Bytes, maskBits, parseIPv4, parseIPv6, parseMac, parseUInt, parseVarAccess, type VarAccess} from './nwfilter-values.js'
import {attr, elementChildren, escapeAttr, type XmlElement} from './xml.js'

const NW = 33 // VIR_FROM_NWFILTER

export const RULE_ACTIONS = ['drop', 'accept', 'reject', 'return', 'continue'] as const
export const RULE_DIRECTIONS = ['in', 'out', 'inout'] as const
export type RuleAction = (typeof RULE_ACTIONS)[number]
export type RuleDirection = (typeof RULE_DIRECTIONS)[number]

/** One attribute of a protocol element. */
export interface RuleAttr {
  name: string
  /** The value as libvirt prints it (without the `$` of a variable). */
  text: string
  /** The value type it was read as (a DataType bit). */
  type: number
  neg: boolean
  variable?: VarAccess
  /** Numbers, protocol ids, opcodes, prefix lengths, booleans (0/1), state flags, TCP `mask << 8 | flags`. */
  num?: number
}

export interface NwRule {
  action: RuleAction
  direction: RuleDirection
  priority: number
  statematch: boolean
  /** The protocol element (`mac`, `ip`, `tcp-ipv6`...), absent for a rule matching everything. */
  protocol?: string
  attrs: RuleAttr[]
}

const hex = (n: number) => `0x${n.toString(16)}`
const nameOf = (map: Readonly<Record<string, number>>, n: number) => Object.keys(map).find((k) => map[k] === n)
const byNameCi = (map: Readonly<Record<string, number>>, s: string) => {
  const k = Object.keys(map).find((x) => x.toLowerCase() === s.toLowerCase())
  return k === undefined ? undefined : map[k]
}

function flagsFromNames(table: ReadonlyArray<readonly [string, number]>, s: string): number | undefined {
  let flags = 0
  let i = 0
  while (i < s.length) {
    while (i < s.length && (s[i] === ',' || /\s/.test(s[i]))) i++
    if (i >= s.length) break
    const hit = table.find(([n]) => s.slice(i, i + n.length).toLowerCase() === n.toLowerCase())
    if (!hit) return undefined
    flags |= hit[1]
    i += hit[0].length
  }
  return flags
}

function flagNames(table: ReadonlyArray<readonly [string, number]>, flags: number): string {
  const out: string[] = []
  for (let m = 1; m <= flags && m < 0x10000; m <<= 1) {
    if (flags & m) for (const [n, v] of table) if (v === m) out.push(n)
  }
  return out.join(',')
}

function tcpFlagText(f: number): string {
  return f === 0 ? 'NONE' : f === 0x3f ? 'ALL' : flagNames(TCP_FLAGS, f)
}

/** Reads `prop` as value type `type`; undefined when it does not fit. */
function readTyped(type: number, prop: string): {num?: number; text: string} | undefined {
  const D = DataType
  switch (type) {
    case D.UINT8:
    case D.UINT8_HEX:
    case D.UINT16:
    case D.UINT16_HEX:
    case D.UINT32:
    case D.UINT32_HEX: {
      const isHex = type === D.UINT8_HEX || type === D.UINT16_HEX || type === D.UINT32_HEX
      const n = parseUInt(prop, isHex ? 16 : 10)
      const max = type === D.UINT8 || type === D.UINT8_HEX ? 0xff : type === D.UINT16 || type === D.UINT16_HEX ? 0xffff : 0xffffffff
      if (n === undefined || n > max) return undefined
      return {num: n, text: isHex ? hex(n) : String(n)}
    }
    case D.IPADDR: {
      const ip = parseIPv4(prop)
      return ip === undefined ? undefined : {text: ip}
    }
    case D.IPV6ADDR: {
      const ip = parseIPv6(prop)
      return ip === undefined ? undefined : {text: ip}
    }
    case D.IPMASK:
    case D.IPV6MASK: {
      const limit = type === D.IPMASK ? 32 : 128
      const n = parseUInt(prop, 10)
      if (n !== undefined) return n <= limit ? {num: n, text: String(n)} : undefined
      const addr = type === D.IPMASK ? parseIPv4(prop) : parseIPv6(prop)
      if (addr === undefined) return undefined
      const bits = maskBits(type === D.IPMASK ? addr.split('.').map(Number) : ipv6Bytes(addr))
      return bits < 0 ? undefined : {num: bits, text: String(bits)}
    }
    case D.MACADDR:
    case D.MACMASK: {
      const mac = parseMac(prop)
      if (mac === undefined) return undefined
      if (type === D.MACMASK && maskBits(mac.split(':').map((x) => parseInt(x, 16))) < 0) return undefined
      return {text: mac}
    }
    case D.STRINGCOPY:
      return {text: prop.slice(0, 256)}
    case D.BOOLEAN: {
      const b = prop === 'true' || prop === '1' || prop === 'yes'
      return {num: b ? 1 : 0, text: b ? 'true' : 'false'}
    }
    default:
      return undefined
  }
}

/** The special validators and formatters (libvirt's per-attribute checkers). */
function validate(
  desc: AttrDesc,
  type: number,
  prop: string,
  got: {num?: number; text: string} | undefined,
): {num?: number; text: string} | undefined {
  const isString = type === DataType.STRING || type === DataType.IPSETNAME || type === DataType.IPSETFLAGS
  switch (desc.kind) {
    case undefined:
      return got
    case 'macProto':
    case 'vlanProto': {
      const n = isString ? byNameCi(MAC_PROTO, prop) : got?.num
      if (n === undefined || n < (desc.kind === 'macProto' ? 0x600 : 0x3c)) return undefined
      const asHex = isString || type === DataType.UINT16_HEX
      return {num: n, text: nameOf(MAC_PROTO, n) ?? (asHex ? hex(n) : String(n))}
    }
    case 'vlanId':
      return got?.num !== undefined && got.num <= 4095 ? got : undefined
    case 'arpOpcode': {
      const n = isString ? byNameCi(ARP_OPCODE, prop) : got?.num
      return n === undefined ? undefined : {num: n, text: nameOf(ARP_OPCODE, n) ?? String(n)}
    }
    case 'ipProto': {
      const n = isString ? byNameCi(IP_PROTO, prop) : got?.num
      if (n === undefined) return undefined
      const asHex = isString || type === DataType.UINT8_HEX
      return {num: n, text: nameOf(IP_PROTO, n) ?? (asHex ? hex(n) : String(n))}
    }
    case 'dscp':
      return got?.num !== undefined && got.num <= 63 ? got : undefined
    case 'state': {
      let f = flagsFromNames(STATE_FLAGS, prop)
      if (f === undefined) return undefined
      if (f & 16) f = 16
      return {num: f, text: flagNames(STATE_FLAGS, f)}
    }
    case 'tcpFlags': {
      const [m, s] = prop.split('/', 2)
      if (s === undefined) return undefined
      const mask = flagsFromNames(TCP_FLAGS, m)
      const set = flagsFromNames(TCP_FLAGS, s)
      if (mask === undefined || set === undefined) return undefined
      return {num: ((mask & 0x3f) << 8) | (set & 0x3f), text: `${tcpFlagText(mask & 0x3f)}/${tcpFlagText(set & 0x3f)}`}
    }
    case 'ipset':
      if (prop.length > 31) throw errors.invalidArg(NW, 'ipset name is too long')
      if (!/^[A-Za-z0-9_.:-]*$/.test(prop)) throw errors.invalidArg(NW, 'ipset name contains invalid characters')
      return {text: prop}
    case 'ipsetFlags': {
      const parts = prop.split(',')
      if (parts.length > 6 || parts.some((p) => !/^(src|dst)$/i.test(p))) throw errors.invalidArg(NW, 'malformed ipset flags')
      return {text: parts.map((p) => p.toLowerCase()).join(',')}
    }
  }
}

/** Reads one attribute as libvirt does: a variable, or the first of its value types that fits. */
function readAttr(desc: AttrDesc, prop: string, neg: boolean): RuleAttr {
  const illegal = () => new VirError(ErrorCode.INTERNAL_ERROR, NW, `internal error: ${desc.name} has illegal value ${prop}`)
  if (prop.startsWith('$')) {
    const variable = parseVarAccess(prop.slice(1))
    if (!variable) throw illegal()
    return {name: desc.name, text: formatVarAccess(variable), type: 0, neg, variable}
  }
  for (let type = 1; type < DataType.LAST; type <<= 1) {
    if (!(desc.types & type)) continue
    const isString = type === DataType.STRING || type === DataType.IPSETNAME || type === DataType.IPSETFLAGS
    const got = isString ? (desc.kind ? {text: prop} : undefined) : readTyped(type, prop)
    if (!got) continue
    const v = validate(desc, type, prop, got)
    if (!v) throw illegal()
    return {name: desc.name, text: v.text, type, neg, ...(v.num === undefined ? {} : {num: v.num})}
  }
  throw illegal()
}

function checkPorts(protocol: string, attrs: RuleAttr[]): void {
  if (protocol !== 'ip' && protocol !== 'ipv6') return
  if (!attrs.some((x) => /^(src|dst)port(start|end)$/.test(x.name))) return
  const proto = attrs.find((x) => x.name === 'protocol')
  if (proto && !proto.variable && [6, 17, 33, 132].includes(proto.num ?? -1)) return
  if (proto?.variable) return
  throw errors.internal(
    NW,
    `${protocol === 'ip' ? 'IP' : 'IPv6'} rule with port specification requires protocol specification with protocol to be either one of tcp(6), udp(17), dccp(33), or sctp(132)`,
  )
}

export function parseRule(node: XmlElement): NwRule {
  const action = attr(node, 'action')
  const direction = attr(node, 'direction')
  const prio = attr(node, 'priority')
  const statematch = attr(node, 'statematch')
  if (action === undefined) throw errors.internal(NW, 'rule node requires action attribute')
  if (!(RULE_ACTIONS as readonly string[]).includes(action)) throw errors.configUnsupported(NW, 'unknown rule action attribute value')
  if (direction === undefined) throw errors.internal(NW, 'rule node requires direction attribute')
  if (!(RULE_DIRECTIONS as readonly string[]).includes(direction)) throw errors.configUnsupported(NW, 'unknown rule direction attribute value')
  let priority = 500
  if (prio !== undefined && /^\s*[-+]?[0-9]+$/.test(prio)) {
    const p = Number(prio)
    if (p >= -1000 && p <= 1000) priority = p
  }
  const rule: NwRule = {
    action: action as RuleAction,
    direction: direction as RuleDirection,
    priority,
    statematch: !(statematch === '0' || statematch?.toLowerCase() === 'false'),
    attrs: [],
  }
  const protoEl = elementChildren(node).find((c) => PROTOCOLS.some(([n]) => n === c.name))
  if (protoEl) {
    const table = PROTOCOLS.find(([n]) => n === protoEl.name)?.[1] ?? []
    const neg = attr(protoEl, 'match') === 'no'
    let failure: VirError | undefined
    for (const desc of table) {
      const prop = attr(protoEl, desc.name)
      if (prop === undefined) continue
      try {
        rule.attrs.push(readAttr(desc, prop, neg))
      } catch (err) {
        // libvirt reads every attribute and reports the last failure
        failure = err instanceof VirError ? err : errors.internal(NW, String(err))
      }
    }
    if (failure) throw failure
    rule.protocol = protoEl.name
    checkPorts(protoEl.name, rule.attrs)
  }
  return rule
}

export function formatRule(r: NwRule, indent: string): string {
  const head = `${indent}<rule action='${r.action}' direction='${r.direction}' priority='${r.priority}'${r.statematch ? '' : " statematch='false'"}`
  if (!r.protocol) return `${head}/>\n`
  let body = `${indent}  <${r.protocol}`
  if (r.attrs.length && r.attrs[0].neg) body += " match='no'"
  for (const a of r.attrs) body += ` ${a.name}='${a.variable ? '$' + a.text : escapeAttr(a.text)}'`
  return `${head}>\n${body}/>\n${indent}</rule>\n`
}

/** A variable's value read as attribute `name` of protocol `protocol` (instantiating a rule). */
export function resolveAttr(protocol: string, a: RuleAttr, value: string): RuleAttr {
  const desc = PROTOCOLS.find(([n]) => n === protocol)?.[1].find((d) => d.name === a.name)
  if (!desc || value.startsWith('$')) throw errors.internal(NW, `${a.name} has illegal value ${value}`)
  return readAttr(desc, value, a.neg)
}
