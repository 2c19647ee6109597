/**
 * A small XML 1.0 reader/writer, enough for libvirt's configuration documents: a tiny DOM, the
 * reader (xml-parse.ts, re-exported here), libvirt's layout for writing, and helpers to build and
 * rebuild elements.
 *
 * Whitespace: when every text child of an element is whitespace only and the element also has
 * element/comment children (i.e. the text is just indentation), those whitespace text nodes are
 * dropped while parsing. Text-only elements and mixed content keep their text untouched.
 */

import {isSpace} from './xml-chars.js'

export {parseXml} from './xml-parse.js'

export interface XmlElement {
  kind: 'element'
  name: string
  /** Attributes in document order. */
  attrs: [string, string][]
  children: XmlNode[]
}

export interface XmlText {
  kind: 'text'
  text: string
}

export interface XmlComment {
  kind: 'comment'
  comment: string
}

export type XmlNode = XmlElement | XmlText | XmlComment

// ---------------------------------------------------------------------------------------------
// Serialization
// ---------------------------------------------------------------------------------------------

const ESCAPE_TEXT = /[&<>'"\r]/
const ESCAPE_TEXT_ALL = /[&<>'"\r]/g
const ESCAPE_ATTR = /[&<>'"\r\n\t]/
const ESCAPE_ATTR_ALL = /[&<>'"\r\n\t]/g
const ENTITY_FOR: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  "'": '&apos;',
  '"': '&quot;',
  '\r': '&#13;',
  '\n': '&#10;',
  '\t': '&#9;',
}
const entityFor = (ch: string): string => ENTITY_FOR[ch]

/** Escapes character data the way libvirt does (all five special characters). */
export function escapeText(text: string): string {
  return ESCAPE_TEXT.test(text) ? text.replace(ESCAPE_TEXT_ALL, entityFor) : text
}

/** Escapes an attribute value for use inside single quotes. */
export function escapeAttr(value: string): string {
  return ESCAPE_ATTR.test(value) ? value.replace(ESCAPE_ATTR_ALL, entityFor) : value
}

function isBlank(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (!isSpace(text.charCodeAt(i))) return false
  return true
}

function openTag(e: XmlElement): string {
  let out = '<' + e.name
  const attrs = e.attrs
  for (let i = 0; i < attrs.length; i++) out += ' ' + attrs[i][0] + "='" + escapeAttr(attrs[i][1]) + "'"
  return out
}

/** Serializes without adding any whitespace (used inside mixed content). */
function compact(n: XmlNode): string {
  if (n.kind === 'text') return escapeText(n.text)
  if (n.kind === 'comment') return '<!--' + n.comment + '-->'
  if (n.children.length === 0) return openTag(n) + '/>'
  let out = openTag(n) + '>'
  for (const c of n.children) out += compact(c)
  return out + '</' + n.name + '>'
}

/**
 * Pretty-prints an element the way libvirt lays out its XML: one element per line indented by
 * `indent` spaces per level, single-quoted attributes, `<x/>` for empty elements, text-only
 * elements on one line, mixed content reproduced as is. Ends with a newline.
 */
export function serializeXml(e: XmlElement, indent = 2): string {
  const pads: string[] = ['']
  const pad = (depth: number): string => {
    while (pads.length <= depth) pads.push(' '.repeat(indent * pads.length))
    return pads[depth]
  }
  const write = (n: XmlNode, depth: number): string => {
    if (n.kind === 'comment') return pad(depth) + '<!--' + n.comment + '-->\n'
    if (n.kind === 'text') return pad(depth) + escapeText(n.text) + '\n'
    const children = n.children
    let textOnly = true
    let blankText = true
    for (let i = 0; i < children.length; i++) {
      const c = children[i]
      if (c.kind === 'text') {
        if (blankText && !isBlank(c.text)) blankText = false
      } else {
        textOnly = false
      }
    }
    if (children.length === 0) return pad(depth) + openTag(n) + '/>\n'
    if (textOnly) {
      let text = ''
      for (const c of children) text += (c as XmlText).text
      if (text.length === 0) return pad(depth) + openTag(n) + '/>\n'
      return pad(depth) + openTag(n) + '>' + escapeText(text) + '</' + n.name + '>\n'
    }
    if (!blankText) {
      let out = pad(depth) + openTag(n) + '>'
      for (const c of children) out += compact(c)
      return out + '</' + n.name + '>\n'
    }
    let out = pad(depth) + openTag(n) + '>\n'
    for (const c of children) if (c.kind !== 'text') out += write(c, depth + 1)
    return out + pad(depth) + '</' + n.name + '>\n'
  }
  return write(e, 0)
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/** First child element called `name` (undefined when `e` is). */
export function child(e: XmlElement | undefined, name: string): XmlElement | undefined {
  if (e === undefined) return undefined
  const children = e.children
  for (let i = 0; i < children.length; i++) {
    const c = children[i]
    if (c.kind === 'element' && c.name === name) return c
  }
  return undefined
}

/** All child elements called `name`, in order. */
export function childrenNamed(e: XmlElement | undefined, name: string): XmlElement[] {
  const out: XmlElement[] = []
  if (e === undefined) return out
  for (const c of e.children) if (c.kind === 'element' && c.name === name) out.push(c)
  return out
}

/** All child elements. */
export function elementChildren(e: XmlElement): XmlElement[] {
  const out: XmlElement[] = []
  for (const c of e.children) if (c.kind === 'element') out.push(c)
  return out
}

function collectText(e: XmlElement): string {
  const children = e.children
  if (children.length === 1 && children[0].kind === 'text') return children[0].text
  let out = ''
  for (const c of children) {
    if (c.kind === 'text') out += c.text
    else if (c.kind === 'element') out += collectText(c)
  }
  return out
}

/** The element's text content (descendants included), untrimmed. */
export function rawTextOf(e: XmlElement | undefined): string {
  return e === undefined ? '' : collectText(e)
}

/** The element's text content (descendants included), trimmed. Empty string when `e` is undefined. */
export function textOf(e: XmlElement | undefined): string {
  return e === undefined ? '' : collectText(e).trim()
}

/** Attribute value, or undefined. */
export function attr(e: XmlElement | undefined, name: string): string | undefined {
  if (e === undefined) return undefined
  const attrs = e.attrs
  for (let i = 0; i < attrs.length; i++) if (attrs[i][0] === name) return attrs[i][1]
  return undefined
}

/** Sets (in place, or appended) an attribute; `undefined` removes it. */
export function setAttr(e: XmlElement, name: string, value: string | number | boolean | undefined): void {
  const attrs = e.attrs
  for (let i = 0; i < attrs.length; i++) {
    if (attrs[i][0] === name) {
      if (value === undefined) attrs.splice(i, 1)
      else attrs[i] = [name, String(value)]
      return
    }
  }
  if (value !== undefined) attrs.push([name, String(value)])
}

/** Makes the first child `name` contain exactly `text` (creating it at the end if missing). */
export function setChildText(e: XmlElement, name: string, text: string): XmlElement {
  let c = child(e, name)
  if (c === undefined) {
    c = el(name)
    e.children.push(c)
  }
  c.children = text.length > 0 ? [{kind: 'text', text}] : []
  return c
}

/** Removes every child element called `name`; returns how many were removed. */
export function removeChildren(e: XmlElement, name: string): number {
  const before = e.children.length
  e.children = e.children.filter((c) => c.kind !== 'element' || c.name !== name)
  return before - e.children.length
}

export type AttrInput = Record<string, string | number | boolean | undefined> | [string, string][]

/**
 * Builds an element. Attributes with an undefined value are skipped; booleans become 'yes'/'no';
 * string children become text nodes.
 */
export function el(name: string, attrs?: AttrInput, children?: (XmlNode | string | undefined)[]): XmlElement {
  const list: [string, string][] = []
  if (Array.isArray(attrs)) {
    for (const [k, v] of attrs) list.push([k, v])
  } else if (attrs) {
    for (const k of Object.keys(attrs)) {
      const v = attrs[k]
      if (v === undefined) continue
      list.push([k, typeof v === 'boolean' ? (v ? 'yes' : 'no') : String(v)])
    }
  }
  const kids: XmlNode[] = []
  if (children) {
    for (const c of children) {
      if (c === undefined) continue
      if (typeof c === 'string') {
        if (c.length > 0) kids.push({kind: 'text', text: c})
      } else {
        kids.push(c)
      }
    }
  }
  return {kind: 'element', name, attrs: list, children: kids}
}

/** An element holding just text: `<name>text</name>`. */
export function textEl(name: string, text: string | number, attrs?: AttrInput): XmlElement {
  return el(name, attrs, [String(text)])
}

/** Deep copy. */
export function cloneXml<T extends XmlNode>(n: T): T {
  if (n.kind === 'text') return {kind: 'text', text: n.text} as T
  if (n.kind === 'comment') return {kind: 'comment', comment: n.comment} as T
  return {
    kind: 'element',
    name: n.name,
    attrs: n.attrs.map(([k, v]) => [k, v] as [string, string]),
    children: n.children.map((c) => cloneXml(c)),
  } as T
}

// ---------------------------------------------------------------------------------------------
// Rebuilding elements from a kept original plus regenerated parts
// ---------------------------------------------------------------------------------------------

/** A canonical child order, precomputed for lookups. */
export interface ChildOrder {
  readonly names: readonly string[]
  readonly index: ReadonlyMap<string, number>
}

export function childOrder(names: readonly string[]): ChildOrder {
  const index = new Map<string, number>()
  names.forEach((n, i) => index.set(n, i))
  return {names, index}
}

/**
 * Attributes for a rebuilt element: the modelled ones first, in the given order (undefined values
 * are left out, which removes them), then the original's other attributes in their original order.
 */
export function mergeAttrs(
  orig: readonly [string, string][] | undefined,
  modelled: readonly [string, string | number | undefined][],
): [string, string][] {
  const out: [string, string][] = []
  for (const [k, v] of modelled) if (v !== undefined) out.push([k, String(v)])
  if (orig) {
    // The original's pairs are shared, not copied: attribute lists are edited by replacing pairs.
    outer: for (const a of orig) {
      for (const m of modelled) if (m[0] === a[0]) continue outer
      out.push(a)
    }
  }
  return out
}

/**
 * Builds a new element from `orig` (which is not modified):
 *  - attributes per mergeAttrs;
 *  - children laid out in `order`. For a name present as a key of `replace`, the original children
 *    of that name are dropped and the replacement (element, list, or nothing) is put in its slot;
 *    other known names keep their original elements. Elements whose names are not in `order`
 *    (and comments) stay right after the known element that preceded them in the original (or
 *    first, if none did). Text directly inside `orig` is dropped.
 */
export function reassemble(
  orig: XmlElement | undefined,
  name: string,
  attrs: readonly [string, string | number | undefined][],
  order: ChildOrder,
  replace: Readonly<Record<string, XmlElement | readonly XmlElement[] | undefined>>,
): XmlElement {
  const n = order.names.length
  const anchored = new Array<XmlNode[] | undefined>(n + 1)
  const kept = new Array<XmlElement[] | undefined>(n)
  if (orig) {
    let anchor = n
    for (const c of orig.children) {
      if (c.kind === 'text') continue
      if (c.kind === 'element') {
        const i = order.index.get(c.name)
        if (i !== undefined) {
          anchor = i
          if (!Object.prototype.hasOwnProperty.call(replace, c.name)) (kept[i] ??= []).push(c)
          continue
        }
      }
      ;(anchored[anchor] ??= []).push(c)
    }
  }
  const children: XmlNode[] = []
  const lead = anchored[n]
  if (lead) for (const c of lead) children.push(c)
  for (let i = 0; i < n; i++) {
    const nm = order.names[i]
    if (Object.prototype.hasOwnProperty.call(replace, nm)) {
      const r = replace[nm]
      if (r !== undefined) {
        if (Array.isArray(r)) for (const c of r as readonly XmlElement[]) children.push(c)
        else children.push(r as XmlElement)
      }
    } else {
      const k = kept[i]
      if (k) for (const c of k) children.push(c)
    }
    const a = anchored[i]
    if (a) for (const c of a) children.push(c)
  }
  return {kind: 'element', name, attrs: mergeAttrs(orig?.attrs, attrs), children}
}

/**
 * A copy of `orig` (or a new element) with the modelled attributes merged in; children are kept,
 * unless `text` is given, in which case the content becomes exactly that text.
 */
export function patchElement(
  orig: XmlElement | undefined,
  name: string,
  attrs: readonly [string, string | number | undefined][],
  text?: string,
): XmlElement {
  if (text !== undefined) {
    return {kind: 'element', name, attrs: mergeAttrs(orig?.attrs, attrs), children: text ? [{kind: 'text', text}] : []}
  }
  return {kind: 'element', name, attrs: mergeAttrs(orig?.attrs, attrs), children: orig ? orig.children.slice() : []}
}

/** `e` unless it ended up with no attributes and no children. */
export function dropIfEmpty(e: XmlElement): XmlElement | undefined {
  return e.attrs.length === 0 && e.children.length === 0 ? undefined : e
}
