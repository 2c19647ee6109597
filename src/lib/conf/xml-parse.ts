/**
 * The XML 1.0 reader behind parseXml: one forward scan over the string, with an explicit stack of
 * open elements (no recursion over the document's structure), so its cost is linear in the input.
 *
 * It accepts what libvirt's libxml2 accepts and reports failures the way libvirt words them:
 *  - nesting is capped as libxml2 caps it by default: the 258th nested element is refused with
 *    "Excessive depth in document: 256 use XML_PARSE_HUGE option";
 *  - the internal DTD subset is read: internal entities are expanded (their replacement text may
 *    hold markup, which becomes part of the tree), external entities are never loaded (a reference
 *    in content expands to nothing, one in an attribute value is an error), and expansion is bounded
 *    (see xml-entities.ts); an entity's markup counts its depth from 0 again, as in libxml2;
 *  - characters outside XML's range are refused, and so are lone UTF-16 surrogates: the RPC layer
 *    decodes bytes that are not UTF-8 to U+DC80..U+DCFF, reported as "Input is not proper UTF-8".
 *
 * Namespaces are not interpreted: prefixed names are kept verbatim.
 */

import {ErrorDomain, errors} from '../errors.js'
import type {XmlElement, XmlNode} from './xml.js'
import {EntityTable, entityLoop, type EntityFail} from './xml-entities.js'
import {CH_GT, CH_LT, CH_QMARK, CH_SLASH, bytesAt, describe, isNameChar, isNameStart, isSpace, isXmlChar, lineOf} from './xml-chars.js'

const CH_BANG = 33
const CH_DQUOTE = 34
const CH_SQUOTE = 39
const CH_EQ = 61
const CH_SEMI = 59
const CH_HASH = 35
const CH_AMP = 38

/**
 * libxml2's default nesting limit: elements may be nested this many levels below the root. An
 * entity's text is parsed on its own and counts from 0 again, as in libxml2; the whole tree is
 * still capped (at libxml2's XML_PARSE_HUGE limit), which keeps every recursive walk of it safe.
 */
const MAX_DEPTH = 256
const MAX_TOTAL_DEPTH = 2048
/** Attribute count from which duplicate names are found through a set instead of a scan. */
const ATTR_SET_FROM = 12

const PREDEFINED: Readonly<Record<string, string>> = {lt: '<', gt: '>', amp: '&', quot: '"', apos: "'"}

interface OpenElement {
  el: XmlElement
  /** Offset of its '<' in the input that opened it (for "line N" in messages). */
  start: number
  /** Whether a non-whitespace text child was seen (mixed or text content). */
  hasText: boolean
  hasNodes: boolean
}

/**
 * Parses a document and returns its root element. Errors are VirErrors with code XML_DETAIL whose
 * message imitates what libvirt prints for libxml2 failures:
 * `(docName):LINE: reason\n<source line>\n----^` (`at line LINE: ...` inside an entity's text).
 */
export function parseXml(text: string, docName: string, errDomain: number = ErrorDomain.DOMAIN): XmlElement {
  if (text.indexOf('\r') >= 0) text = text.replace(/\r\n?/g, '\n')
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1)
  const p = new Parser(text, docName, errDomain, new EntityTable(errDomain), 0)
  return p.parseDocument()
}

class Parser {
  private pos = 0
  /** Set by parseStartTag: whether the tag it just read was `<x/>`. */
  private selfClosed = false

  constructor(
    private readonly src: string,
    /** undefined for an entity's replacement text (libvirt then says "at line N"). */
    private readonly docName: string | undefined,
    private readonly errDomain: number,
    private readonly entities: EntityTable,
    /** Open elements outside this input (an entity's text is parsed inside its reference's element). */
    private readonly depthBase: number,
  ) {}

  parseDocument(): XmlElement {
    const s = this.src
    this.checkChars()
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
    const start = this.pos
    const root = this.parseStartTag()
    if (!this.selfClosed) this.parseContent([{el: root, start, hasText: false, hasNodes: false}], 0)
    this.skipMisc(false)
    if (this.pos < s.length) this.fail('Extra content at the end of the document', this.pos)
    return root
  }

  /** Refuses characters XML does not allow, and lone surrogates (bytes that were not UTF-8). */
  private checkChars(): void {
    const s = this.src
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i)
      if (c >= 0x20 && c < 0xd800) continue
      if (c === 9 || c === 10 || c === 13) continue
      if (c < 0x20 || c === 0xfffe || c === 0xffff) this.fail(`Char 0x${c.toString(16).toUpperCase()} out of allowed range`, i)
      if (c >= 0xd800 && c <= 0xdbff) {
        const d = s.charCodeAt(i + 1)
        if (d >= 0xdc00 && d <= 0xdfff) {
          i++
          continue
        }
      }
      if (c >= 0xd800 && c <= 0xdfff) this.fail(`Input is not proper UTF-8, indicate encoding !\nBytes: ${bytesAt(s, i)}`, i)
    }
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
        this.pos = this.entities.readDoctype(s, this.pos, (reason, at) => this.fail(reason, at))
        prolog = false
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

  /**
   * Parses content until the element at stack[0] closes (a document) or the input ends (an
   * entity's text, whose elements must all close within it). `base` is 1 for an entity's text:
   * stack[0] is then the element holding the reference, which this input must not close.
   */
  parseContent(stack: OpenElement[], base: number): void {
    const s = this.src
    const len = s.length
    for (;;) {
      const top = stack[stack.length - 1]
      if (this.pos >= len) {
        if (base === 1 && stack.length === 1) return
        this.fail(`Premature end of data in tag ${top.el.name} line ${this.lineOf(top.start)}`, len)
      }
      const c = s.charCodeAt(this.pos)
      if (c !== CH_LT) {
        this.parseText(top, stack.length - base)
        continue
      }
      const c1 = s.charCodeAt(this.pos + 1)
      if (c1 === CH_SLASH) {
        if (stack.length === base) this.fail('chunk is not well balanced', this.pos)
        this.parseEndTag(top)
        stack.pop()
        finishElement(top)
        if (stack.length === 0) return
        continue
      }
      if (c1 === CH_BANG) {
        if (s.startsWith('<!--', this.pos)) {
          const comment = this.parseComment()
          top.el.children.push({kind: 'comment', comment})
          top.hasNodes = true
          continue
        }
        if (s.startsWith('<![CDATA[', this.pos)) {
          const start = this.pos + 9
          const end = s.indexOf(']]>', start)
          if (end < 0) this.fail('CData section not finished', len)
          this.pos = end + 3
          const data = s.slice(start, end)
          if (data.length > 0) {
            appendText(top, data)
            top.hasText = true
          }
          continue
        }
        this.fail('StartTag: invalid element name', this.pos + 1)
      }
      if (c1 === CH_QMARK) {
        this.parsePI()
        continue
      }
      // Start tag. libxml2 counts the open elements (in an entity's text, its pseudo-root: the
      // element holding the reference) and refuses a new one beyond the limit.
      const start = this.pos
      const depth = stack.length
      if (depth > MAX_DEPTH || this.depthBase + depth > MAX_TOTAL_DEPTH)
        this.fail(`Excessive depth in document: ${MAX_DEPTH} use XML_PARSE_HUGE option`, start)
      const el = this.parseStartTag()
      top.el.children.push(el)
      top.hasNodes = true
      if (!this.selfClosed) stack.push({el, start, hasText: false, hasNodes: false})
    }
  }

  private parseEndTag(open: OpenElement): void {
    const s = this.src
    const len = s.length
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
    let names: Set<string> | undefined
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
      // One pass to the closing quote, noting what needs more work than a slice.
      const vStart = p + 1
      let vEnd = vStart
      let special = false
      for (; vEnd < len; vEnd++) {
        const ch = s.charCodeAt(vEnd)
        if (ch === c) break
        if (ch === CH_LT) this.fail("Unescaped '<' not allowed in attributes values", vEnd)
        if (ch === CH_AMP || ch === 10 || ch === 9) special = true
      }
      if (vEnd >= len) this.fail(`AttValue: ${c === CH_DQUOTE ? '"' : "'"} expected`, len)
      const raw = s.slice(vStart, vEnd)
      const value = !special ? raw : raw.indexOf('&') >= 0 ? this.decodeAttr(raw, vStart, 0) : normalizeAttrSpace(raw)
      // Duplicate names: a scan for the usual few attributes, a set beyond (linear for any count).
      if (names !== undefined) {
        if (names.has(attrName)) this.fail(`Attribute ${attrName} redefined`, vEnd + 1)
        names.add(attrName)
      } else {
        for (let i = 0; i < attrs.length; i++) if (attrs[i][0] === attrName) this.fail(`Attribute ${attrName} redefined`, vEnd + 1)
        if (attrs.length + 1 >= ATTR_SET_FROM) names = new Set(attrs.map((a) => a[0])).add(attrName)
      }
      attrs.push([attrName, value])
      p = vEnd + 1
    }
  }

  /** Text up to the next '<', with its references expanded (an entity's markup becomes nodes). */
  private parseText(open: OpenElement, depth: number): void {
    const s = this.src
    const start = this.pos
    let end = s.indexOf('<', start)
    if (end < 0) end = s.length
    const raw = s.slice(start, end)
    const bad = raw.indexOf(']]>')
    if (bad >= 0) this.fail("Sequence ']]>' not allowed in content", start + bad)
    this.pos = end
    if (!open.hasText) {
      for (let i = 0; i < raw.length; i++) {
        if (!isSpace(raw.charCodeAt(i))) {
          open.hasText = true
          break
        }
      }
    }
    if (raw.indexOf('&') < 0) {
      appendText(open, raw)
      return
    }
    // References: character and predefined ones decode in place; other entities expand.
    let last = 0
    let amp = raw.indexOf('&')
    while (amp >= 0) {
      if (amp > last) appendText(open, raw.slice(last, amp))
      const ref = this.readRef(raw, amp, start)
      if (ref.char !== undefined) {
        appendText(open, ref.char)
      } else {
        this.expandInContent(ref.name, start + ref.end, open, depth)
      }
      last = ref.end
      amp = raw.indexOf('&', last)
    }
    if (last < raw.length) appendText(open, raw.slice(last))
  }

  /** Expands a general entity reference met in content at `at` (the offset after its ';'). */
  private expandInContent(name: string, at: number, open: OpenElement, depth: number): void {
    const fail: EntityFail = (reason, pos) => this.fail(reason, pos ?? at)
    const ent = this.entities.lookup(name, at, fail)
    if (ent === undefined || ent.external) return
    if (ent.value.indexOf('<') < 0 && ent.value.indexOf('&') < 0) {
      this.entities.account(ent.value.length, fail)
      if (ent.value.length > 0) {
        appendText(open, ent.value)
        if (!open.hasText && !isBlank(ent.value)) open.hasText = true
      }
      return
    }
    this.entities.enter(ent, fail)
    const sub = new Parser(ent.value, undefined, this.errDomain, this.entities, this.depthBase + depth)
    sub.parseContent([open], 1)
    this.entities.leave(ent)
  }

  /**
   * An attribute value with its references replaced and its whitespace normalized. `base` is
   * raw's offset in this input; inside an entity's text (`top` set), problems are reported at the
   * document's reference, `top`, as libxml2 does.
   */
  private decodeAttr(raw: string, base: number, nesting: number, top?: number): string {
    let out = ''
    let last = 0
    let amp = raw.indexOf('&')
    while (amp >= 0) {
      out += normalizeAttrSpace(raw.slice(last, amp))
      const ref = this.readRef(raw, amp, base)
      if (ref.char !== undefined) {
        out += ref.char
      } else {
        const at = top ?? base + ref.end
        const fail: EntityFail = (reason, pos) => this.fail(reason, pos ?? at)
        const ent = this.entities.lookup(ref.name, at, fail, true)
        if (ent !== undefined) {
          if (ent.external) fail(`Attribute references external entity '${ent.name}'`)
          if (ent.value.indexOf('<') >= 0) fail(`'<' in entity '${ent.name}' is not allowed in attributes values`)
          if (nesting >= 40) entityLoop(fail)
          this.entities.account(ent.value.length, fail)
          this.entities.enter(ent, fail)
          out += ent.value.indexOf('&') >= 0 ? this.decodeAttr(ent.value, 0, nesting + 1, at) : normalizeAttrSpace(ent.value)
          this.entities.leave(ent)
        }
      }
      last = ref.end
      amp = raw.indexOf('&', last)
    }
    return out + normalizeAttrSpace(raw.slice(last))
  }

  /**
   * Reads the reference starting at raw[amp] ('&'): a character reference or predefined entity
   * comes back as `char`, any other entity as its `name`; `end` is the index after the ';'.
   * `base` is raw's offset in this input, for messages.
   */
  private readRef(raw: string, amp: number, base: number): {char?: string; name: string; end: number} {
    if (raw.charCodeAt(amp + 1) === CH_HASH) {
      const semi = raw.indexOf(';', amp + 2)
      if (semi < 0) this.fail('xmlParseCharRef: invalid xmlChar value 0', base + amp)
      const body = raw.slice(amp + 2, semi)
      let cp = NaN
      if (/^x[0-9a-fA-F]+$/.test(body)) cp = parseInt(body.slice(1), 16)
      else if (/^[0-9]+$/.test(body)) cp = parseInt(body, 10)
      if (!Number.isFinite(cp)) this.fail('xmlParseCharRef: invalid decimal value', base + amp)
      if (!isXmlChar(cp)) this.fail(`xmlParseCharRef: invalid xmlChar value ${cp}`, base + amp)
      return {char: String.fromCodePoint(cp), name: '', end: semi + 1}
    }
    let p = amp + 1
    if (!isNameStart(raw.charCodeAt(p))) this.fail('xmlParseEntityRef: no name', base + p)
    while (p < raw.length && isNameChar(raw.charCodeAt(p))) p++
    if (raw.charCodeAt(p) !== CH_SEMI) this.fail("EntityRef: expecting ';'", base + p)
    const name = raw.slice(amp + 1, p)
    const pre = PREDEFINED[name] as string | undefined
    return pre !== undefined ? {char: pre, name, end: p + 1} : {name, end: p + 1}
  }

  private lineOf(pos: number): number {
    return lineOf(this.src, pos)
  }

  private fail(reason: string, pos: number): never {
    throw errors.xmlDetail(this.errDomain, describe(this.src, this.docName, reason, pos))
  }
}

function normalizeAttrSpace(raw: string): string {
  return raw.indexOf('\n') >= 0 || raw.indexOf('\t') >= 0 ? raw.replace(/[\n\t]/g, ' ') : raw
}

function isBlank(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (!isSpace(text.charCodeAt(i))) return false
  return true
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
  const children: XmlNode[] = open.el.children
  let w = 0
  for (let r = 0; r < children.length; r++) {
    const n = children[r]
    if (n.kind !== 'text') children[w++] = n
  }
  children.length = w
}
