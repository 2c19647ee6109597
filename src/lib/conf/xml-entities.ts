/**
 * The DOCTYPE's internal subset and the entities it declares, for the XML reader.
 *
 * What libvirt's libxml2 does, and so what this does:
 *  - internal general entities (`<!ENTITY x "...">`) are expanded where referenced; character
 *    references in their value are replaced when declared, entity references when expanded;
 *  - external entities (`SYSTEM`/`PUBLIC`) are never loaded: a reference in content expands to
 *    nothing, one in an attribute value is refused by the reader;
 *  - internal parameter entities are expanded between declarations of the internal subset;
 *  - the first declaration of a name wins; redeclaring a predefined entity changes nothing;
 *  - an undeclared entity is an error, unless the document has an external subset or parameter
 *    entity references (whose declarations could not be seen): it then expands to nothing;
 *  - expansion is bounded. Before an entity is first expanded its replacement text is walked
 *    (recursively, 40 levels at most): a reference back into an entity being walked, or one whose
 *    expansion holds many more references than the text read so far (libxml2's density rule:
 *    3 × (2n + 1) ≥ 10 × consumed), is "Detected an entity reference loop". Expanded text is
 *    also capped at 10,000,000 characters in all (libxml2's XML_MAX_TEXT_LENGTH).
 */

import {errors} from '../errors.js'
import {CH_GT, describe, isNameChar, isNameStart, isSpace} from './xml-chars.js'

/** Reports an error at an offset of the input being read (default: where the reference ends). */
export type EntityFail = (reason: string, pos?: number) => never

export interface Entity {
  name: string
  /** Replacement text (character references already replaced); '' for an external entity. */
  value: string
  external: boolean
  /** 0 not walked yet, 1 being walked, 2 walked. */
  state: 0 | 1 | 2
  /** References in the entity's full expansion (capped). */
  refs: number
}

const PREDEFINED = new Set(['lt', 'gt', 'amp', 'quot', 'apos'])
const MAX_NESTING = 40
const MAX_EXPANDED = 10_000_000
const REF_CAP = 1e12
const LOOP = 'Detected an entity reference loop'

export function entityLoop(fail: EntityFail, pos?: number): never {
  return fail(LOOP, pos)
}

export class EntityTable {
  private readonly general = new Map<string, Entity>()
  private readonly parameter = new Map<string, Entity>()
  /** Undeclared entities are tolerated: the document has an external subset or PE references. */
  private lenient = false
  private expanded = 0
  private readonly expanding = new Set<Entity>()

  constructor(private readonly errDomain: number) {}

  /** Reads `<!DOCTYPE ...>` at `pos` of `s`; returns the offset after it. */
  readDoctype(s: string, pos: number, fail: (reason: string, at: number) => never): number {
    let p = pos + 9
    const bad = (at: number): never => fail('DOCTYPE improperly terminated', at)
    p = skipSpace(s, p)
    const nameEnd = readName(s, p)
    if (nameEnd === p) fail('xmlParseDocTypeDecl : no DOCTYPE name !', p)
    p = skipSpace(s, nameEnd)
    if (s.startsWith('SYSTEM', p) || s.startsWith('PUBLIC', p)) {
      p = skipExternalId(s, p, bad)
      this.lenient = true
      p = skipSpace(s, p)
    }
    if (s.charCodeAt(p) === 0x5b /* [ */) {
      p = this.readSubset(s, p + 1, 0, fail)
      if (s.charCodeAt(p) !== 0x5d /* ] */) bad(p)
      p = skipSpace(s, p + 1)
    }
    if (s.charCodeAt(p) !== CH_GT) bad(p)
    return p + 1
  }

  /** Reads declarations up to an unmatched ']' or the end of `s`; returns where it stopped. */
  private readSubset(s: string, p: number, nesting: number, fail: (reason: string, at: number) => never): number {
    for (;;) {
      p = skipSpace(s, p)
      if (p >= s.length || s.charCodeAt(p) === 0x5d) return p
      if (s.startsWith('<!--', p)) {
        const end = s.indexOf('-->', p + 4)
        if (end < 0) fail('Comment not terminated', s.length)
        p = end + 3
      } else if (s.startsWith('<?', p)) {
        const end = s.indexOf('?>', p + 2)
        if (end < 0) fail('ParsePI: PI never end ...', s.length)
        p = end + 2
      } else if (s.startsWith('<!ENTITY', p) && isSpace(s.charCodeAt(p + 8))) {
        p = this.readEntityDecl(s, p + 8, fail)
      } else if (s.startsWith('<!', p)) {
        // ELEMENT, ATTLIST, NOTATION: nothing here depends on them.
        p = skipDecl(s, p + 2, (at) => fail('DOCTYPE improperly terminated', at))
      } else if (s.charCodeAt(p) === 0x25 /* % */) {
        const nameEnd = readName(s, p + 1)
        if (nameEnd === p + 1 || s.charCodeAt(nameEnd) !== 0x3b) fail('PEReference: no name', p + 1)
        const pe = this.parameter.get(s.slice(p + 1, nameEnd))
        this.lenient = true
        if (pe !== undefined && !pe.external) {
          if (nesting >= MAX_NESTING) fail(LOOP, nameEnd + 1)
          const rest = this.readSubset(pe.value, 0, nesting + 1, (reason, at) => {
            throw errors.xmlDetail(this.errDomain, describe(pe.value, undefined, reason, at))
          })
          if (rest < pe.value.length) fail('DOCTYPE improperly terminated', nameEnd + 1)
        }
        p = nameEnd + 1
      } else {
        fail('DOCTYPE improperly terminated', p)
      }
    }
  }

  private readEntityDecl(s: string, p: number, fail: (reason: string, at: number) => never): number {
    p = skipSpace(s, p)
    let isParam = false
    if (s.charCodeAt(p) === 0x25 && isSpace(s.charCodeAt(p + 1))) {
      isParam = true
      p = skipSpace(s, p + 1)
    }
    const nameEnd = readName(s, p)
    if (nameEnd === p) fail('xmlParseEntityDecl: no name', p)
    const name = s.slice(p, nameEnd)
    p = skipSpace(s, nameEnd)
    let value = ''
    let external = false
    const q = s.charCodeAt(p)
    if (q === 0x22 || q === 0x27) {
      const end = s.indexOf(q === 0x22 ? '"' : "'", p + 1)
      if (end < 0) fail('EntityValue: " or \' expected', s.length)
      value = entityValue(s, p + 1, end, fail)
      p = end + 1
    } else if (s.startsWith('SYSTEM', p) || s.startsWith('PUBLIC', p)) {
      external = true
      p = skipExternalId(s, p, (at) => fail('Space required after the entity name', at))
      const ws = skipSpace(s, p)
      if (s.startsWith('NDATA', ws)) p = readName(s, skipSpace(s, ws + 5))
    } else {
      fail('Entity value required', p)
    }
    p = skipSpace(s, p)
    if (s.charCodeAt(p) !== CH_GT) fail(`xmlParseEntityDecl: entity ${name} not terminated`, p)
    const table = isParam ? this.parameter : this.general
    if (!table.has(name) && (isParam || !PREDEFINED.has(name))) table.set(name, {name, value, external, state: 0, refs: 0})
    return p + 1
  }

  /**
   * The declared general entity `name`, referenced with its ';' just before offset `at` of the
   * input being read. Returns undefined for an undeclared one that is tolerated. Walks the entity
   * first (see the module comment) and applies the density rule at this reference.
   *
   * In content, libxml2 parses an entity's text on its own, so problems inside it are reported
   * against that text. In an attribute value (`inAttr`) it decodes the text in place: problems are
   * reported at the reference, and the density rule counts what was read of the document.
   */
  lookup(name: string, at: number, fail: EntityFail, inAttr = false): Entity | undefined {
    const ent = this.general.get(name)
    if (ent === undefined) {
      if (this.lenient) return undefined
      return fail(`Entity '${name}' not defined`)
    }
    if (ent.state === 1) return entityLoop(fail)
    if (ent.state === 0) this.walk(ent, 0, inAttr ? {fail, consumed: at} : undefined)
    if (ent.refs > 0 && 3 * (2 * ent.refs + 1) >= 10 * at) entityLoop(fail)
    return ent
  }

  private walk(ent: Entity, nesting: number, inAttr: {fail: EntityFail; consumed: number} | undefined): void {
    ent.state = 1
    const v = ent.value
    const failHere = (reason: string, at: number): never => {
      if (inAttr !== undefined) return inAttr.fail(reason)
      throw errors.xmlDetail(this.errDomain, describe(v, undefined, reason, at))
    }
    let refs = 0
    let amp = v.indexOf('&')
    while (amp >= 0) {
      const semi = v.indexOf(';', amp + 1)
      if (semi < 0) failHere("EntityRef: expecting ';'", v.length)
      const after = semi + 1
      if (v.charCodeAt(amp + 1) !== 0x23 /* # */) {
        const name = v.slice(amp + 1, semi)
        if (!PREDEFINED.has(name)) {
          const r = this.general.get(name)
          if (r === undefined) {
            if (!this.lenient) failHere(`Entity '${name}' not defined`, after)
          } else {
            if (r.state === 1 || nesting >= MAX_NESTING) failHere(LOOP, after)
            if (r.state === 0) this.walk(r, nesting + 1, inAttr)
            if (r.refs > 0 && 3 * (2 * r.refs + 1) >= 10 * (inAttr?.consumed ?? after)) failHere(LOOP, after)
            refs = Math.min(REF_CAP, refs + 1 + r.refs)
          }
        }
      }
      amp = v.indexOf('&', after)
    }
    ent.refs = refs
    ent.state = 2
  }

  /** Counts `n` more characters of expanded text against the overall cap. */
  account(n: number, fail: EntityFail): void {
    this.expanded += n
    if (this.expanded > MAX_EXPANDED) entityLoop(fail)
  }

  /** Marks `ent` as being expanded (refusing a loop or too deep a nesting); pair with leave. */
  enter(ent: Entity, fail: EntityFail): void {
    if (this.expanding.has(ent) || this.expanding.size >= MAX_NESTING) entityLoop(fail)
    this.expanding.add(ent)
  }

  leave(ent: Entity): void {
    this.expanding.delete(ent)
  }
}

/** An entity value between s[from] and s[to] (exclusive), with character references replaced. */
function entityValue(s: string, from: number, to: number, fail: (reason: string, at: number) => never): string {
  let out = ''
  let last = from
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i)
    // libxml2 reports this once the whole value is read.
    if (c === 0x25 /* % */) fail('PEReferences forbidden in internal subset', to + 1)
    if (c !== 0x26 /* & */) continue
    const semi = s.indexOf(';', i + 1)
    if (semi < 0 || semi >= to) fail("EntityRef: expecting ';'", i)
    if (s.charCodeAt(i + 1) === 0x23) {
      const body = s.slice(i + 2, semi)
      let cp = NaN
      if (/^x[0-9a-fA-F]+$/.test(body)) cp = parseInt(body.slice(1), 16)
      else if (/^[0-9]+$/.test(body)) cp = parseInt(body, 10)
      if (!Number.isFinite(cp) || cp > 0x10ffff) fail('xmlParseCharRef: invalid decimal value', i)
      out += s.slice(last, i) + String.fromCodePoint(cp)
      last = semi + 1
    } else if (readName(s, i + 1) !== semi || semi === i + 1) {
      fail("EntityValue: '&' forbidden except for entities references", i)
    }
    i = semi
  }
  return out + s.slice(last, to)
}

function skipSpace(s: string, p: number): number {
  while (p < s.length && isSpace(s.charCodeAt(p))) p++
  return p
}

function readName(s: string, p: number): number {
  if (!isNameStart(s.charCodeAt(p))) return p
  while (p < s.length && isNameChar(s.charCodeAt(p))) p++
  return p
}

/** Skips `SYSTEM "lit"` or `PUBLIC "lit" "lit"` at p. */
function skipExternalId(s: string, p: number, bad: (at: number) => never): number {
  const literals = s.startsWith('PUBLIC', p) ? 2 : 1
  p += 6
  for (let i = 0; i < literals; i++) {
    const ws = skipSpace(s, p)
    if (ws === p) bad(p)
    const q = s.charCodeAt(ws)
    if (q !== 0x22 && q !== 0x27) bad(ws)
    const end = s.indexOf(q === 0x22 ? '"' : "'", ws + 1)
    if (end < 0) bad(s.length)
    p = end + 1
  }
  return p
}

/** Skips a markup declaration up to its '>' (quoted strings may hold '>'). */
function skipDecl(s: string, p: number, bad: (at: number) => never): number {
  let quote = 0
  for (; p < s.length; p++) {
    const c = s.charCodeAt(p)
    if (quote !== 0) {
      if (c === quote) quote = 0
    } else if (c === 0x22 || c === 0x27) {
      quote = c
    } else if (c === CH_GT) {
      return p + 1
    }
  }
  return bad(s.length)
}
