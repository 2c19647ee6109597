/**
 * A small XML 1.0 reader/writer, enough for libvirt's configuration documents.
 *
 * The parser is a single forward scan over the string (no regexes per token, no recursion) that
 * builds a tiny DOM. Namespaces are not interpreted: prefixed names such as `app:foo` and
 * `xmlns:app` attributes are kept verbatim. DTDs are skipped, so only the predefined entities and
 * character references are understood.
 *
 * Whitespace: when every text child of an element is whitespace only and the element also has
 * element/comment children (i.e. the text is just indentation), those whitespace text nodes are
 * dropped while parsing. Text-only elements and mixed content keep their text untouched.
 */

import {ErrorDomain, errors} from '../errors.js'

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
// Parsing
// ---------------------------------------------------------------------------------------------

const CH_TAB = 9
const CH_LF = 10
const CH_CR = 13
const CH_SPACE = 32
const CH_BANG = 33
const CH_DQUOTE = 34
const CH_AMP = 38
const CH_SQUOTE = 39
const CH_DASH = 45
const CH_DOT = 46
const CH_SLASH = 47
const CH_0 = 48
const CH_9 = 57
const CH_COLON = 58
const CH_LT = 60
const CH_EQ = 61
const CH_GT = 62
const CH_QMARK = 63
const CH_A = 65
const CH_Z = 90
const CH_RBRACKET = 93
const CH_UNDERSCORE = 95
const CH_a = 97
const CH_z = 122

const INVALID_CHARS = /[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]/

function isSpace(c: number): boolean {
  return c === CH_SPACE || c === CH_LF || c === CH_TAB || c === CH_CR
}

function isNameStart(c: number): boolean {
  return (c >= CH_a && c <= CH_z) || (c >= CH_A && c <= CH_Z) || c === CH_UNDERSCORE || c === CH_COLON || c >= 0xc0
}

function isNameChar(c: number): boolean {
  return isNameStart(c) || (c >= CH_0 && c <= CH_9) || c === CH_DASH || c === CH_DOT || c === 0xb7
}

function isXmlChar(cp: number): boolean {
  return cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff)
}

const PREDEFINED: Record<string, string> = {lt: '<', gt: '>', amp: '&', quot: '"', apos: "'"}

interface OpenElement {
  el: XmlElement
  start: number
  /** Whether a non-whitespace text child was seen (mixed or text content). */
  hasText: boolean
  hasNodes: boolean
}

/**
 * Parses a document and returns its root element. Errors are VirErrors with code XML_DETAIL whose
 * message imitates what libvirt prints for libxml2 failures:
 * `(docName):LINE: reason\n<source line>\n----^`.
 */
export function parseXml(text: string, docName: string, errDomain: number = ErrorDomain.DOMAIN): XmlElement {
  return new Parser(text, docName, errDomain).parse()
}

class Parser {
  private readonly src: string
  private pos = 0
  /** Set by parseStartTag: whether the tag it just read was `<x/>`. */
  private selfClosed = false

  constructor(
    text: string,
    private readonly docName: string,
    private readonly errDomain: number,
  ) {
    if (text.indexOf('\r') >= 0) text = text.replace(/\r\n?/g, '\n')
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1)
    this.src = text
  }

  parse(): XmlElement {
    const s = this.src
    const bad = INVALID_CHARS.exec(s)
    if (bad) {
      this.fail(`Char 0x${bad[0].charCodeAt(0).toString(16).toUpperCase()} out of allowed range`, bad.index)
    }
    this.skipSpace()
    if (this.pos >= s.length) this.fail('Document is empty', 0)

    // XML declaration, only at the very start.
    if (s.startsWith('<?xml', 0) && (s.length === 5 || isSpace(s.charCodeAt(5)) || s.charCodeAt(5) === CH_QMARK)) {
      if (this.pos !== 0) this.fail('XML declaration allowed only at the start of the document', this.pos)
      const end = s.indexOf('?>', 5)
      if (end < 0) this.fail("parsing XML declaration: '?>' expected", s.length)
      this.pos = end + 2
    }

    this.skipMisc(true)
    if (this.pos >= s.length) this.fail("Start tag expected, '<' not found", this.pos)
    if (s.charCodeAt(this.pos) !== CH_LT || !isNameStart(s.charCodeAt(this.pos + 1))) {
      if (s.charCodeAt(this.pos) === CH_LT) this.fail('StartTag: invalid element name', this.pos + 1)
      this.fail("Start tag expected, '<' not found", this.pos)
    }
    const root = this.parseElementTree()
    this.skipMisc(false)
    if (this.pos < s.length) this.fail('Extra content at the end of the document', this.pos)
    return root
  }

  /** Skips whitespace, comments, processing instructions and (in the prolog) a DOCTYPE. */
  private skipMisc(prolog: boolean): void {
    const s = this.src
    for (;;) {
      this.skipSpace()
      if (s.charCodeAt(this.pos) !== CH_LT) return
      const c1 = s.charCodeAt(this.pos + 1)
      if (c1 === CH_QMARK) {
        this.parsePI()
      } else if (c1 === CH_BANG && s.startsWith('<!--', this.pos)) {
        this.parseComment()
      } else if (prolog && s.startsWith('<!DOCTYPE', this.pos)) {
        this.skipDoctype()
      } else {
        return
      }
    }
  }

  private skipSpace(): void {
    const s = this.src
    let p = this.pos
    while (p < s.length && isSpace(s.charCodeAt(p))) p++
    this.pos = p
  }

  private parsePI(): void {
    const s = this.src
    const start = this.pos
    let p = start + 2
    const nameStart = p
    while (p < s.length && isNameChar(s.charCodeAt(p))) p++
    const target = s.slice(nameStart, p)
    if (target.length === 0) this.fail('xmlParsePI : no target name', p)
    if (target.toLowerCase() === 'xml') this.fail('XML declaration allowed only at the start of the document', start)
    const end = s.indexOf('?>', p)
    if (end < 0) this.fail(`ParsePI: PI ${target} never end ...`, s.length)
    this.pos = end + 2
  }

  private parseComment(): string {
    const s = this.src
    const start = this.pos + 4
    const end = s.indexOf('-->', start)
    if (end < 0) this.fail('Comment not terminated', s.length)
    const dd = s.indexOf('--', start)
    if (dd < end) this.fail("Comment must not contain '--' (double-hyphen)", dd)
    this.pos = end + 3
    return s.slice(start, end)
  }

  private skipDoctype(): void {
    const s = this.src
    let p = this.pos + 9
    let quote = 0
    let depth = 0
    while (p < s.length) {
      const c = s.charCodeAt(p)
      if (quote) {
        if (c === quote) quote = 0
      } else if (c === CH_DQUOTE || c === CH_SQUOTE) {
        quote = c
      } else if (c === 0x5b /* [ */) {
        depth++
      } else if (c === CH_RBRACKET) {
        depth--
      } else if (c === CH_GT && depth <= 0) {
        this.pos = p + 1
        return
      }
      p++
    }
    this.fail('DOCTYPE improperly terminated', s.length)
  }

  /** Parses the root element and everything inside it, iteratively. */
  private parseElementTree(): XmlElement {
    const s = this.src
    const len = s.length
    const stack: OpenElement[] = []
    let root: XmlElement | undefined

    for (;;) {
      const top = stack.length > 0 ? stack[stack.length - 1] : undefined
      if (this.pos >= len) {
        // Only reachable with open elements (the root's close returns directly).
        const open = top as OpenElement
        this.fail(`Premature end of data in tag ${open.el.name} line ${this.lineOf(open.start)}`, len)
      }
      const c = s.charCodeAt(this.pos)
      if (c !== CH_LT) {
        this.parseText(top as OpenElement)
        continue
      }
      const c1 = s.charCodeAt(this.pos + 1)
      if (c1 === CH_SLASH) {
        const open = top as OpenElement
        const nameStart = this.pos + 2
        let p = nameStart
        while (p < len && isNameChar(s.charCodeAt(p))) p++
        const name = s.slice(nameStart, p)
        while (p < len && isSpace(s.charCodeAt(p))) p++
        if (name !== open.el.name) {
          if (p >= len && open.el.name.startsWith(name)) {
            this.fail(`Premature end of data in tag ${open.el.name} line ${this.lineOf(open.start)}`, len)
          }
          this.fail(`Opening and ending tag mismatch: ${open.el.name} line ${this.lineOf(open.start)} and ${name}`, p)
        }
        if (s.charCodeAt(p) !== CH_GT) {
          if (p >= len) this.fail(`Premature end of data in tag ${open.el.name} line ${this.lineOf(open.start)}`, len)
          this.fail("expected '>'", p)
        }
        this.pos = p + 1
        stack.pop()
        finishElement(open)
        if (stack.length === 0) return open.el
        continue
      }
      if (c1 === CH_BANG) {
        const open = top as OpenElement
        if (s.startsWith('<!--', this.pos)) {
          const comment = this.parseComment()
          open.el.children.push({kind: 'comment', comment})
          open.hasNodes = true
          continue
        }
        if (s.startsWith('<![CDATA[', this.pos)) {
          const start = this.pos + 9
          const end = s.indexOf(']]>', start)
          if (end < 0) this.fail('CData section not finished', len)
          this.pos = end + 3
          const data = s.slice(start, end)
          if (data.length > 0) {
            appendText(open, data)
            open.hasText = true
          }
          continue
        }
        this.fail('StartTag: invalid element name', this.pos + 1)
      }
      if (c1 === CH_QMARK) {
        this.parsePI()
        continue
      }
      // Start tag.
      const start = this.pos
      const el = this.parseStartTag()
      if (root === undefined) root = el
      else (top as OpenElement).el.children.push(el)
      if (top) top.hasNodes = true
      if (this.selfClosed) {
        if (stack.length === 0) return el
        continue
      }
      stack.push({el, start, hasText: false, hasNodes: false})
    }
  }

  /** Parses `<name attr='v' ...>` or `<name .../>`; leaves pos after the closing '>'. */
  private parseStartTag(): XmlElement {
    const s = this.src
    const len = s.length
    const start = this.pos
    let p = start + 1
    if (!isNameStart(s.charCodeAt(p))) this.fail('StartTag: invalid element name', p)
    while (p < len && isNameChar(s.charCodeAt(p))) p++
    const name = s.slice(start + 1, p)
    const attrs: [string, string][] = []
    const el: XmlElement = {kind: 'element', name, attrs, children: []}
    for (;;) {
      const before = p
      while (p < len && isSpace(s.charCodeAt(p))) p++
      if (p >= len) this.fail(`Couldn't find end of Start Tag ${name} line ${this.lineOf(start)}`, len)
      let c = s.charCodeAt(p)
      if (c === CH_GT) {
        this.pos = p + 1
        this.selfClosed = false
        return el
      }
      if (c === CH_SLASH) {
        if (s.charCodeAt(p + 1) !== CH_GT) this.fail(`Couldn't find end of Start Tag ${name} line ${this.lineOf(start)}`, p)
        this.pos = p + 2
        this.selfClosed = true
        return el
      }
      if (!isNameStart(c)) this.fail(`Couldn't find end of Start Tag ${name} line ${this.lineOf(start)}`, p)
      if (p === before) this.fail('attributes construct error', p)
      const an = p
      while (p < len && isNameChar(s.charCodeAt(p))) p++
      const attrName = s.slice(an, p)
      while (p < len && isSpace(s.charCodeAt(p))) p++
      if (s.charCodeAt(p) !== CH_EQ) this.fail(`Specification mandates value for attribute ${attrName}`, p)
      p++
      while (p < len && isSpace(s.charCodeAt(p))) p++
      c = s.charCodeAt(p)
      if (c !== CH_DQUOTE && c !== CH_SQUOTE) this.fail(`AttValue: " or ' expected`, p)
      const vStart = p + 1
      const vEnd = s.indexOf(c === CH_DQUOTE ? '"' : "'", vStart)
      if (vEnd < 0) {
        const lt = s.indexOf('<', vStart)
        if (lt >= 0) this.fail("Unescaped '<' not allowed in attributes values", lt)
        this.fail(`AttValue: ${c === CH_DQUOTE ? '"' : "'"} expected`, len)
      }
      let raw = s.slice(vStart, vEnd)
      const lt = raw.indexOf('<')
      if (lt >= 0) this.fail("Unescaped '<' not allowed in attributes values", vStart + lt)
      if (raw.indexOf('\n') >= 0 || raw.indexOf('\t') >= 0) raw = raw.replace(/[\n\t]/g, ' ')
      const value = raw.indexOf('&') >= 0 ? this.decode(raw, vStart) : raw
      for (let i = 0; i < attrs.length; i++) {
        if (attrs[i][0] === attrName) this.fail(`Attribute ${attrName} redefined`, an)
      }
      attrs.push([attrName, value])
      p = vEnd + 1
    }
  }

  private parseText(open: OpenElement): void {
    const s = this.src
    const start = this.pos
    let end = s.indexOf('<', start)
    if (end < 0) end = s.length
    const raw = s.slice(start, end)
    const bad = raw.indexOf(']]>')
    if (bad >= 0) this.fail("Sequence ']]>' not allowed in content", start + bad)
    const text = raw.indexOf('&') >= 0 ? this.decode(raw, start) : raw
    this.pos = end
    if (!open.hasText) {
      for (let i = 0; i < raw.length; i++) {
        if (!isSpace(raw.charCodeAt(i))) {
          open.hasText = true
          break
        }
      }
    }
    appendText(open, text)
  }

  /** Replaces entity and character references; `base` is the offset of `raw` in the source. */
  private decode(raw: string, base: number): string {
    let out = ''
    let last = 0
    let amp = raw.indexOf('&')
    while (amp >= 0) {
      out += raw.slice(last, amp)
      const semi = raw.indexOf(';', amp + 1)
      if (raw.charCodeAt(amp + 1) === 0x23 /* # */) {
        if (semi < 0) this.fail('xmlParseCharRef: invalid xmlChar value 0', base + amp)
        const body = raw.slice(amp + 2, semi)
        let cp = NaN
        if (/^x[0-9a-fA-F]+$/.test(body)) cp = parseInt(body.slice(1), 16)
        else if (/^[0-9]+$/.test(body)) cp = parseInt(body, 10)
        if (!Number.isFinite(cp)) this.fail('xmlParseCharRef: invalid decimal value', base + amp)
        if (!isXmlChar(cp)) this.fail(`xmlParseCharRef: invalid xmlChar value ${cp}`, base + amp)
        out += String.fromCodePoint(cp)
      } else {
        let p = amp + 1
        while (p < raw.length && isNameChar(raw.charCodeAt(p))) p++
        if (p === amp + 1 || !isNameStart(raw.charCodeAt(amp + 1))) this.fail('xmlParseEntityRef: no name', base + amp + 1)
        if (raw.charCodeAt(p) !== 0x3b /* ; */) this.fail("EntityRef: expecting ';'", base + p)
        const name = raw.slice(amp + 1, p)
        const rep = PREDEFINED[name]
        if (rep === undefined) this.fail(`Entity '${name}' not defined`, base + p)
        out += rep
      }
      last = (semi < 0 ? raw.length : semi) + 1
      amp = raw.indexOf('&', last)
    }
    return out + raw.slice(last)
  }

  private lineOf(pos: number): number {
    const s = this.src
    let line = 1
    let i = s.indexOf('\n')
    while (i >= 0 && i < pos) {
      line++
      i = s.indexOf('\n', i + 1)
    }
    return line
  }

  private fail(reason: string, pos: number): never {
    const s = this.src
    if (pos > s.length) pos = s.length
    // Like libvirt, an error sitting at a line break (typically the end of data after a final
    // newline) is shown against the last line that precedes it.
    let q = pos
    if (q >= s.length || s.charCodeAt(q) === CH_LF) {
      q--
      while (q >= 0 && s.charCodeAt(q) === CH_LF) q--
      if (q < 0) q = 0
    }
    const lineStart = q === 0 ? 0 : s.lastIndexOf('\n', q - 1) + 1
    let lineEnd = s.indexOf('\n', lineStart)
    if (lineEnd < 0) lineEnd = s.length
    const line = this.lineOf(lineStart)
    const col = Math.min(pos, lineEnd) - lineStart
    const msg = `(${this.docName}):${line}: ${reason}\n${s.slice(lineStart, lineEnd)}\n${'-'.repeat(col)}^`
    throw errors.xmlDetail(this.errDomain, msg)
  }
}

function appendText(open: OpenElement, text: string): void {
  const children = open.el.children
  const last = children.length > 0 ? children[children.length - 1] : undefined
  if (last !== undefined && last.kind === 'text') last.text += text
  else children.push({kind: 'text', text})
}

/** Drops indentation-only text nodes from elements that have element or comment children. */
function finishElement(open: OpenElement): void {
  if (open.hasText || !open.hasNodes) return
  const children = open.el.children
  let w = 0
  for (let r = 0; r < children.length; r++) {
    const n = children[r]
    if (n.kind !== 'text') children[w++] = n
  }
  children.length = w
}

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
    outer: for (const a of orig) {
      for (const m of modelled) if (m[0] === a[0]) continue outer
      out.push([a[0], a[1]])
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
  const anchored: (XmlNode[] | undefined)[] = new Array(n + 1)
  const kept: (XmlElement[] | undefined)[] = new Array(n)
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
