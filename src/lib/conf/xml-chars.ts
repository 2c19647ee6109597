/**
 * Character classes shared by the XML reader and writer (XML 1.0, simplified as libvirt needs), and
 * the text of the reader's errors as libvirt prints libxml2's.
 */

export const CH_SLASH = 47
export const CH_LT = 60
export const CH_GT = 62
export const CH_QMARK = 63

const CH_TAB = 9
const CH_LF = 10
const CH_CR = 13
const CH_SPACE = 32
const CH_DASH = 45
const CH_DOT = 46
const CH_0 = 48
const CH_9 = 57
const CH_COLON = 58
const CH_A = 65
const CH_Z = 90
const CH_UNDERSCORE = 95
const CH_a = 97
const CH_z = 122

export function isSpace(c: number): boolean {
  return c === CH_SPACE || c === CH_LF || c === CH_TAB || c === CH_CR
}

export function isNameStart(c: number): boolean {
  return (c >= CH_a && c <= CH_z) || (c >= CH_A && c <= CH_Z) || c === CH_UNDERSCORE || c === CH_COLON || c >= 0xc0
}

export function isNameChar(c: number): boolean {
  return isNameStart(c) || (c >= CH_0 && c <= CH_9) || c === CH_DASH || c === CH_DOT || c === 0xb7
}

export function isXmlChar(cp: number): boolean {
  return cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff)
}

/** The 1-based line of offset `pos`. */
export function lineOf(s: string, pos: number): number {
  let line = 1
  let i = s.indexOf('\n')
  while (i >= 0 && i < pos) {
    line++
    i = s.indexOf('\n', i + 1)
  }
  return line
}

/**
 * libvirt's text for a libxml2 error at `pos` of `s`: `(docName):LINE: reason` (or `at line LINE:`
 * in an entity's text), the source line, and a caret under the column.
 */
export function describe(s: string, docName: string | undefined, reason: string, pos: number): string {
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
  const line = lineOf(s, lineStart)
  const col = Math.min(pos, lineEnd) - lineStart
  const where = docName === undefined ? `at line ${line}` : `(${docName}):${line}`
  const text = s
    .slice(lineStart, lineEnd)
    .replace(/[\ud800-\udfff]/g, (ch) => (ch.charCodeAt(0) >= 0xdc80 && ch.charCodeAt(0) <= 0xdcff ? '\ufffd' : ch))
  return `${where}: ${reason}\n${text}\n${'-'.repeat(col)}^`
}

/** The (up to) four bytes libxml2 lists for undecodable input at s[i]: escaped bytes as they were. */
export function bytesAt(s: string, i: number): string {
  const out: number[] = []
  for (let j = i; j < s.length && out.length < 4; j++) {
    const c = s.charCodeAt(j)
    if (c >= 0xdc80 && c <= 0xdcff) {
      out.push(c - 0xdc00)
      continue
    }
    const cp = s.codePointAt(j) ?? c
    if (cp > 0xffff) j++
    for (const b of Buffer.from(String.fromCodePoint(cp), 'utf8')) out.push(b)
  }
  return out
    .slice(0, 4)
    .map((b) => `0x${b.toString(16).toUpperCase().padStart(2, '0')}`)
    .join(' ')
}
