/**
 * VIR_CONNECT_COMPARE_CPU_VALIDATE_XML: a CPU definition checked against cpu.rng (cpu-schema.ts) before it is
 * compared, refused as libvirt 9.0 refuses it: VIR_ERR_XML_INVALID_SCHEMA in the XML domain, "Unable to validate
 * doc against .../cpu.rng" followed by libxml2's report, one line each. libxml2 tries the guest pattern, then the
 * host one; its lines are imitated for the common failures (an unknown or bad attribute, a missing one, an unknown
 * element, text where none belongs, a child that appears too often or is missing).
 */
import {ErrorCode, ErrorDomain, VirError} from '../errors.js'
import {CPU_SCHEMA_FILE, GUEST_CPU, HOST_CPU, type AttrDef, type ChildDef, type ElementDef, type ValueType} from './cpu-schema.js'
import {parseXml, type XmlElement} from './xml.js'

/** libvirt's VIR_FROM_CPU. */
const FROM_CPU = 31

function validValue(type: ValueType, v: string): boolean {
  if (type.kind === 'text') return true
  if (type.kind === 'enum') return type.values.includes(v)
  if (type.pattern && !type.pattern.test(v)) return false
  if (type.min === undefined && type.max === undefined) return true
  if (!/^[+-]?[0-9]+$/.test(v)) return false
  const n = BigInt(v)
  return (type.min === undefined || n >= type.min) && (type.max === undefined || n <= type.max)
}

/** What libxml2 says of an element's attributes, or undefined when they are all right. */
function attrError(e: XmlElement, def: ElementDef): string | undefined {
  const given = new Map(e.attrs)
  for (const a of def.attrs) {
    const v = given.get(a.name)
    if (v === undefined) {
      if (!a.optional) return `Element ${e.name} failed to validate attributes`
      continue
    }
    if (validValue(a.type, v)) continue
    if (a.optional) return `Invalid attribute ${a.name} for element ${e.name}`
    return isNumeric(a)
      ? `Type ${a.type.kind === 'data' ? a.type.type : ''} doesn't allow value '${v}'`
      : `Element ${e.name} failed to validate attributes`
  }
  const known = new Set(def.attrs.map((a) => a.name))
  const extra = e.attrs.find(([k]) => !known.has(k))
  return extra ? `Invalid attribute ${extra[0]} for element ${e.name}` : undefined
}

function isNumeric(a: AttrDef): boolean {
  return a.type.kind === 'data' && a.type.type !== 'string'
}

const hasText = (e: XmlElement): boolean => e.children.some((c) => c.kind === 'text' && c.text.trim() !== '')
const elementsOf = (e: XmlElement): XmlElement[] => e.children.filter((c): c is XmlElement => c.kind === 'element')
const textContent = (e: XmlElement): string =>
  e.children
    .map((c) => (c.kind === 'text' ? c.text : ''))
    .join('')
    .trim()

/**
 * The lines libxml2 reports for `e` against `def` (empty when valid). At the root, a child that fails is followed
 * by "Extra element X in interleave" and "Element cpu failed to validate content"; deeper, its lines pass up as they are.
 */
function check(e: XmlElement, def: ElementDef, root: boolean): string[] {
  const bad = attrError(e, def)
  if (bad) return [bad]
  const kids = elementsOf(e)
  const {content} = def
  if (!isInterleave(content)) {
    if (kids.length > 0) return [`Element ${e.name} has extra content: ${kids[0].name}`]
    if (content === 'empty') return hasText(e) ? [`Element ${e.name} has extra content: text`] : []
    if (content === 'text' || validValue(content, textContent(e))) return []
    return ['Error validating value ', `Element ${e.name} failed to validate content`]
  }
  const seen = new Map<string, number>()
  for (const k of kids) {
    const c = content.find((x) => x.el.name === k.name)
    if (!c) return [`Element ${e.name} has extra content: ${k.name}`]
    const n = (seen.get(k.name) ?? 0) + 1
    seen.set(k.name, n)
    if (n > 1 && (c.occurs === 'one' || c.occurs === 'optional')) return failedChild(e, k, [], root)
    const inner = check(k, c.el, false)
    if (inner.length > 0) return failedChild(e, k, c.el.terse ? [] : inner, root)
  }
  const missing = content.find((c) => (c.occurs === 'one' || c.occurs === 'oneOrMore') && !seen.has(c.el.name))
  return missing ? [`Expecting an element ${missing.el.name}, got nothing`] : []
}

function isInterleave(c: ElementDef['content']): c is readonly ChildDef[] {
  return typeof c !== 'string' && !('kind' in c)
}

function failedChild(e: XmlElement, k: XmlElement, inner: string[], root: boolean): string[] {
  return root ? [...inner, `Extra element ${k.name} in interleave`, `Element ${e.name} failed to validate content`] : inner
}

const FAILED_CPU = 'Element cpu failed to validate content'

/** libxml2's report for a <cpu> root against cpu.rng's choice of guest and host CPU, or [] when it is valid. */
export function cpuSchemaErrors(cpu: XmlElement): string[] {
  if (cpu.attrs.some(([k]) => k === 'xmlns')) return ['Expecting no namespace for element cpu']
  const guest = check(cpu, GUEST_CPU, true)
  if (guest.length === 0) return []
  if (guest[0] === ARCH_IN_GUEST) return hostReport(cpu, check(cpu, HOST_CPU, true))
  const lines = [...guest, 'Expecting an element arch, got nothing', 'Invalid sequence in interleave']
  return guest.includes(FAILED_CPU) ? lines : [...lines, FAILED_CPU]
}

const ARCH_IN_GUEST = 'Element cpu has extra content: arch'

/** The host pattern's failure as libxml2 words it after the guest pattern stopped at <arch>. */
function hostReport(cpu: XmlElement, host: string[]): string[] {
  if (host.length === 0) return []
  // A bad <arch> value: both patterns' complaints, interleaved.
  if (host[0] === 'Error validating value ') return [ARCH_IN_GUEST, ...host.slice(0, 2), 'Invalid sequence in interleave', FAILED_CPU]
  if (host[0].endsWith(' for element cpu')) return [ARCH_IN_GUEST, host[0]]
  if (!host[0].startsWith('Element cpu has extra content: ')) return host
  // An element the host pattern lacks: libxml2 first names what it expected after the element before it.
  const kids = elementsOf(cpu)
  const at = kids.findIndex((k) => !HOST_CHILDREN.has(k.name))
  const prev = at > 0 ? HOST_CHILDREN.get(kids[at - 1].name) : undefined
  if (prev?.el.name === 'arch') return [ARCH_IN_GUEST, host[0]]
  return [`Expecting an element ${prev?.occurs === 'many' ? prev.el.name : 'feature'}, got nothing`, host[0]]
}

const HOST_CHILDREN = new Map(isInterleave(HOST_CPU.content) ? HOST_CPU.content.map((c) => [c.el.name, c]) : [])

/** The error libvirt raises for a document that fails cpu.rng. */
export function cpuSchemaError(lines: string[]): VirError {
  const detail = `Unable to validate doc against ${CPU_SCHEMA_FILE}\n${lines.map((l) => `${l}\n`).join('')}`
  return new VirError(ErrorCode.XML_INVALID_SCHEMA, ErrorDomain.XML, `XML document failed to validate against schema: ${detail}`, {
    str1: 'XML document failed to validate against schema: %s',
    str2: detail,
  })
}

/**
 * Parses `xml` as virCPUDefParseXMLString does with validation on: the root must be <cpu>, then the whole
 * document must match cpu.rng. Throws the XML or schema error; returns nothing when the document is valid.
 */
export function validateCpuXml(xml: string, parseDomain: number): void {
  const root = parseXml(xml, 'cpu', parseDomain)
  if (root.name !== 'cpu') throw new VirError(ErrorCode.XML_ERROR, FROM_CPU, "XML error: XML does not contain expected 'cpu' element")
  const lines = cpuSchemaErrors(root)
  if (lines.length > 0) throw cpuSchemaError(lines)
}
