/**
 * A domain's metadata (virDomainSetMetadata / virDomainGetMetadata): its title, its description and
 * the namespaced elements under `<metadata>`, one per namespace URI, stored as libvirt stores them
 * (prefix `key`, an xmlns:key declaration on the element, every descendant element prefixed) and
 * read back as libxml2 prints them (no prefix, double-quoted attributes).
 */
import {ErrorCode, ErrorDomain, VirError, errors} from '../errors.js'
import type {DomainDef} from './domain.js'
import {type XmlElement, type XmlNode, child, el, parseXml} from './xml.js'

export const METADATA_DESCRIPTION = 0
export const METADATA_TITLE = 1
export const METADATA_ELEMENT = 2

const notFound = () =>
  new VirError(ErrorCode.NO_DOMAIN_METADATA, ErrorDomain.DOMAIN, 'metadata not found: Requested metadata element is not present', {
    str1: 'metadata not found: %s',
    str2: 'Requested metadata element is not present',
  })

/** The arguments' checks of libvirt's public virDomainSetMetadata. */
export function checkSetMetadataArgs(type: number, metadata: string | null, key: string | null, uri: string | null): void {
  const D = ErrorDomain.DOMAIN
  switch (type) {
    case METADATA_TITLE:
      if (metadata !== null && metadata.includes('\n')) throw errors.invalidArg(D, "metadata title can't contain newlines")
    // falls through
    case METADATA_DESCRIPTION:
      if (uri !== null) throw new VirError(ErrorCode.INVALID_ARG, D, 'uri in virDomainSetMetadata must be NULL')
      if (key !== null) throw new VirError(ErrorCode.INVALID_ARG, D, 'key in virDomainSetMetadata must be NULL')
      break
    case METADATA_ELEMENT:
      if (uri === null) throw new VirError(ErrorCode.INVALID_ARG, D, 'uri in virDomainSetMetadata must not be NULL')
      if (metadata !== null && key === null) throw new VirError(ErrorCode.INVALID_ARG, D, 'key in virDomainSetMetadata must not be NULL')
      break
    default:
      throw errors.invalidArg(D, 'unknown metadata type')
  }
}

/** The namespace URI an element under `<metadata>` declares for its own name. */
function namespaceOf(e: XmlElement): string | undefined {
  const colon = e.name.indexOf(':')
  const decl = colon >= 0 ? `xmlns:${e.name.slice(0, colon)}` : 'xmlns'
  for (const [k, v] of e.attrs) if (k === decl) return v
  return undefined
}

export function getMetadata(def: DomainDef, type: number, uri: string | null): string {
  if (type === METADATA_TITLE) {
    if (def.title === undefined) throw notFound()
    return def.title
  }
  if (type === METADATA_DESCRIPTION) {
    if (def.description === undefined) throw notFound()
    return def.description
  }
  if (type !== METADATA_ELEMENT) throw errors.invalidArg(ErrorDomain.DOMAIN, 'unknown metadata type')
  const md = child(def.root, 'metadata')
  const found = md?.children.find((c): c is XmlElement => c.kind === 'element' && namespaceOf(c) === uri)
  if (!found) throw notFound()
  const colon = found.name.indexOf(':')
  return dumpNode(stripPrefix(found, colon >= 0 ? found.name.slice(0, colon) : undefined), 0)
}

/** Sets (metadata null: removes) a title, description or namespaced element. */
export function setMetadata(def: DomainDef, type: number, metadata: string | null, key: string | null, uri: string | null): void {
  if (type === METADATA_TITLE) {
    def.title = metadata === null || metadata === '' ? undefined : metadata
    return
  }
  if (type === METADATA_DESCRIPTION) {
    def.description = metadata === null || metadata === '' ? undefined : metadata
    return
  }
  let add: XmlElement | undefined
  if (metadata !== null) {
    if (key === null || !/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(key))
      throw errors.internal(ErrorDomain.DOMAIN, 'failed to validate prefix for a new XML namespace')
    const parsed = parseXml(metadata, 'metadata_xml', ErrorDomain.XML)
    add = withPrefix(parsed, key)
    add.attrs = [[`xmlns:${key}`, uri ?? ''], ...add.attrs.filter(([k]) => k !== 'xmlns' && !k.startsWith('xmlns:'))]
  }
  const root = def.root
  let md = child(root, 'metadata')
  if (md) md.children = md.children.filter((c) => !(c.kind === 'element' && namespaceOf(c) === uri))
  if (add) {
    if (!md) {
      md = el('metadata')
      root.children.push(md)
    }
    md.children.push(add)
  }
  if (md && !md.children.some((c) => c.kind === 'element')) root.children = root.children.filter((c) => c !== md)
}

function withPrefix(e: XmlElement, prefix: string): XmlElement {
  const local = e.name.includes(':') ? e.name.slice(e.name.indexOf(':') + 1) : e.name
  return {
    kind: 'element',
    name: `${prefix}:${local}`,
    attrs: e.attrs.slice(),
    children: e.children.map((c) => (c.kind === 'element' ? withPrefix(c, prefix) : c)),
  }
}

function stripPrefix(e: XmlElement, prefix: string | undefined): XmlElement {
  const p = prefix === undefined ? undefined : `${prefix}:`
  return {
    kind: 'element',
    name: p && e.name.startsWith(p) ? e.name.slice(p.length) : e.name,
    attrs: e.attrs.filter(([k]) => k !== (prefix === undefined ? 'xmlns' : `xmlns:${prefix}`)),
    children: e.children.map((c) => (c.kind === 'element' ? stripPrefix(c, prefix) : c)),
  }
}

const escText = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
const escAttr = (s: string) => escText(s).replace(/"/g, '&quot;')

/** libxml2's formatted dump of a node (xmlNodeDump with formatting), without a trailing newline. */
function dumpNode(n: XmlNode, depth: number): string {
  const pad = '  '.repeat(depth)
  if (n.kind === 'text') return escText(n.text)
  if (n.kind === 'comment') return `<!--${n.comment}-->`
  const open = `<${n.name}${n.attrs.map(([k, v]) => ` ${k}="${escAttr(v)}"`).join('')}`
  if (n.children.length === 0) return `${open}/>`
  const hasText = n.children.some((c) => c.kind === 'text' && c.text.trim() !== '')
  if (hasText) return `${open}>${n.children.map((c) => dumpNode(c, 0)).join('')}</${n.name}>`
  const kids = n.children.filter((c) => c.kind !== 'text').map((c) => `${pad}  ${dumpNode(c, depth + 1)}`)
  return `${open}>\n${kids.join('\n')}\n${pad}</${n.name}>`
}
