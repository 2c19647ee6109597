/**
 * Network filter definitions (`<filter>`) and filter bindings (`<filterbinding>`): parse with
 * libvirt's validation and errors, format exactly as libvirt 9.0 does.
 */
import {randomUUID} from 'node:crypto'

import {ErrorCode, VirError, errors} from '../errors.js'
import {parseUuid} from '../uuid.js'
import {CHAIN_PRIORITY, CHAIN_SUFFIXES} from './nwfilter-attrs.js'
import {formatRule, parseRule, type NwRule} from './nwfilter-rule.js'
import {VAR_NAME_RE, VAR_VALUE_RE, parseMac} from './nwfilter-values.js'
import {attr, child, childrenNamed, elementChildren, escapeAttr, escapeText, parseXml, textOf, type XmlElement} from './xml.js'

export type {NwRule, RuleAction, RuleAttr, RuleDirection} from './nwfilter-rule.js'

/** VIR_FROM_NWFILTER. */
export const NWFILTER_DOMAIN = 33
const NW = NWFILTER_DOMAIN

/** Parameters of a `<filterref>`: name -> values (several `<parameter>`s of one name make a list). */
export type FilterParams = Record<string, string[]>

export interface NwInclude {
  filter: string
  params: FilterParams
}

export type NwEntry = {rule: NwRule; include?: undefined} | {include: NwInclude; rule?: undefined}

export interface NwFilterDef {
  name: string
  uuid: string
  chain: string
  /** 0 is not printed. */
  chainPriority: number
  entries: NwEntry[]
}

/** `<parameter>` children of a filterref; invalid names or values are skipped, as libvirt does. */
export function parseParams(node: XmlElement): FilterParams {
  const params: FilterParams = {}
  for (const p of childrenNamed(node, 'parameter')) {
    const name = attr(p, 'name')
    const value = attr(p, 'value')
    if (name === undefined || value === undefined || !VAR_NAME_RE.test(name) || !VAR_VALUE_RE.test(value)) continue
    ;(params[name] ??= []).push(value)
  }
  return params
}

/** `<filterref filter='X'>` with its parameters sorted by name. */
export function formatFilterRef(filter: string, params: FilterParams, indent: string): string {
  const names = Object.keys(params).sort()
  const head = `${indent}<filterref filter='${escapeAttr(filter)}'`
  if (!names.length) return `${head}/>\n`
  const lines = names.flatMap((n) => params[n].map((v) => `${indent}  <parameter name='${n}' value='${escapeAttr(v)}'/>\n`))
  return `${head}>\n${lines.join('')}${indent}</filterref>\n`
}

function checkChain(chain: string): void {
  if (chain.length > 12) throw errors.invalidArg(NW, 'Name of chain is longer than 12 characters')
  if (!/^[A-Za-z0-9_.:-]*$/.test(chain)) throw errors.invalidArg(NW, 'Chain name contains invalid characters')
  if (chain === 'root') return
  if (chain.startsWith('root')) {
    // libvirt reports nothing here; virsh prints its "cause is unknown" line
    throw new VirError(ErrorCode.OK, NW, 'An error occurred, but the cause is unknown')
  }
  if (CHAIN_SUFFIXES.some((s) => chain.startsWith(s))) return
  const others = CHAIN_SUFFIXES.filter((s) => s !== 'root').join(', ')
  throw errors.invalidArg(NW, `Invalid chain name '${chain}'. Please use a chain name called 'root' or any of the following prefixes: ${others}`)
}

export function parseNwFilterElement(root: XmlElement): NwFilterDef {
  if (root.name !== 'filter') throw errors.xmlError(NW, `expecting root element of 'filter', not '${root.name}'`)
  const name = attr(root, 'name')
  if (name === undefined) throw errors.internal(NW, 'filter has no name')
  const prioText = attr(root, 'priority')
  let prio: number | undefined
  if (prioText !== undefined) {
    if (!/^\s*[-+]?[0-9]+$/.test(prioText)) throw errors.invalidArg(NW, `Could not parse chain priority '${prioText}'`)
    prio = Number(prioText)
    if (prio < -1000 || prio > 1000) throw errors.invalidArg(NW, `Priority '${prio}' is outside valid range of [-1000,1000]`)
  }
  const chainAttr = attr(root, 'chain')
  let chain = 'root'
  let chainPriority = 0
  if (chainAttr !== undefined) {
    checkChain(chainAttr)
    chain = chainAttr
    const prefix = CHAIN_SUFFIXES.find((s) => chainAttr.startsWith(s)) ?? 'root'
    chainPriority = prio ?? CHAIN_PRIORITY[prefix] ?? 0
  }
  const uuidEl = child(root, 'uuid')
  let uuid: string | undefined = randomUUID()
  if (uuidEl) {
    uuid = parseUuid(textOf(uuidEl))
    if (uuid === undefined) throw errors.xmlError(NW, 'malformed uuid element')
  }
  const entries: NwEntry[] = []
  for (const c of elementChildren(root)) {
    if (c.name === 'rule') entries.push({rule: parseRule(c)})
    else if (c.name === 'filterref') {
      const filter = attr(c, 'filter')
      // libvirt's message for a filterref without filter= names the rule's attribute
      if (filter === undefined) throw errors.internal(NW, 'rule node requires action attribute')
      entries.push({include: {filter, params: parseParams(c)}})
    }
  }
  return {name, uuid, chain, chainPriority, entries}
}

/** Parses a filter definition (libvirt's virNWFilterDefParseString). */
export function parseNwFilterXml(xml: string): NwFilterDef {
  return parseNwFilterElement(parseXml(xml, 'nwfilter_definition', NW))
}

export function formatNwFilterXml(def: NwFilterDef): string {
  let out = `<filter name='${escapeAttr(def.name)}' chain='${def.chain}'${def.chainPriority !== 0 ? ` priority='${def.chainPriority}'` : ''}>\n`
  out += `  <uuid>${def.uuid}</uuid>\n`
  for (const e of def.entries) out += e.rule ? formatRule(e.rule, '  ') : formatFilterRef(e.include.filter, e.include.params, '  ')
  return out + '</filter>\n'
}

/** The names a filter references directly. */
export function referencedFilters(def: NwFilterDef): string[] {
  return def.entries.flatMap((e) => (e.include ? [e.include.filter] : []))
}

// ---- bindings ---------------------------------------------------------------------------------

export interface NwFilterBindingDef {
  ownerName: string
  ownerUuid: string
  portdev: string
  linkdev?: string
  mac: string
  filter: string
  params: FilterParams
}

export function parseBindingXml(xml: string): NwFilterBindingDef {
  const root = parseXml(xml, 'nwfilterbinding_definition', NW)
  if (root.name !== 'filterbinding') throw errors.xmlError(NW, `expecting root element of 'filterbinding', not '${root.name}'`)
  const owner = child(root, 'owner')
  const ownerName = child(owner, 'name')
  if (!ownerName) throw errors.internal(NW, 'filter binding has no owner name')
  const ownerUuidEl = child(owner, 'uuid')
  if (!ownerUuidEl) throw errors.internal(NW, 'filter binding has no owner UUID')
  const ownerUuid = parseUuid(textOf(ownerUuidEl))
  if (ownerUuid === undefined) throw errors.internal(NW, `Unable to parse UUID '${textOf(ownerUuidEl)}'`)
  const portdev = attr(child(root, 'portdev'), 'name')
  if (portdev === undefined) throw errors.internal(NW, 'filter binding has no port dev name')
  const linkdev = attr(child(root, 'linkdev'), 'name')
  const macText = attr(child(root, 'mac'), 'address')
  if (macText === undefined) throw errors.internal(NW, 'filter binding has no MAC address')
  const mac = parseMac(macText)
  if (mac === undefined) throw errors.internal(NW, `Unable to parse MAC '${macText}'`)
  const ref = child(root, 'filterref')
  const filter = attr(ref, 'filter')
  if (!ref || filter === undefined) throw errors.internal(NW, 'filter binding has no filter reference')
  return {ownerName: textOf(ownerName), ownerUuid, portdev, ...(linkdev === undefined ? {} : {linkdev}), mac, filter, params: parseParams(ref)}
}

export function formatBindingXml(b: NwFilterBindingDef): string {
  let out = '<filterbinding>\n  <owner>\n'
  out += `    <name>${escapeText(b.ownerName)}</name>\n    <uuid>${b.ownerUuid}</uuid>\n  </owner>\n`
  out += `  <portdev name='${escapeAttr(b.portdev)}'/>\n`
  if (b.linkdev !== undefined) out += `  <linkdev name='${escapeAttr(b.linkdev)}'/>\n`
  out += `  <mac address='${b.mac}'/>\n`
  out += formatFilterRef(b.filter, b.params, '  ')
  return out + '</filterbinding>\n'
}
