/**
 * The syntax of libvirt's daemon configuration files (libvirtd.conf, virtqemud.conf, virtlogd.conf, ...).
 *
 * The format is a list of `name = value` settings, one per line:
 *
 *   - a name starts with a letter or `_` and continues with letters, digits, `_` or `.`;
 *   - a value is a double-quoted string, a single-quoted string, a triple-quoted string
 *     (`"""..."""`, which may span lines), an integer (decimal, optionally signed), or a list
 *     `[ v1, v2, ... ]` of strings/integers that may span lines, with an optional trailing comma
 *     and comments between its items;
 *   - `#` starts a comment that runs to the end of the line (never inside a string);
 *   - a setting may be followed by an optional `;`;
 *   - booleans are the integers 0 and 1.
 *
 * Strings have no escape sequences, exactly as in libvirt: a backslash is an ordinary character
 * and a string ends at the next matching quote. Use single quotes for a string that contains `"`
 * (and vice versa). This keeps every file libvirt accepts meaning the same thing here.
 * Single- and double-quoted strings must end on the line they start on.
 *
 * This layer only reads statements; config.ts gives them types and meanings.
 */

import {ErrorCode, ErrorDomain, VirError} from '../errors.js'

/** A value as written in the file. Lists hold scalars only (no nested lists). */
export type ConfScalar = string | number
export type ConfValue = ConfScalar | ConfScalar[]

/** One `name = value` statement, with the (1-based) line its name is on. */
export interface ConfEntry {
  key: string
  value: ConfValue
  line: number
}

// ---------------------------------------------------------------------------------------------
// Errors

/** A CONF_SYNTAX error naming `file:line`, as libvirt reports it. */
export function confError(file: string, line: number, what: string): VirError {
  const detail = `${file}:${line}: ${what}`
  return new VirError(ErrorCode.CONF_SYNTAX, ErrorDomain.CONF, `configuration file syntax error: ${detail}`, {
    str1: 'configuration file syntax error: %s',
    str2: detail,
    str3: file,
    int1: line,
  })
}

/** Shows a character in an error message. */
function showChar(c: string): string {
  if (c === '\n') return 'end of line'
  if (c === '\t') return "'\\t'"
  return `'${c}'`
}

// ---------------------------------------------------------------------------------------------
// Lexing / parsing

const isNameStart = (c: string) => /[A-Za-z_]/.test(c)
const isNameChar = (c: string) => /[A-Za-z0-9_.]/.test(c)
const isDigit = (c: string) => c >= '0' && c <= '9'
const isBlank = (c: string) => c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\v'

class Parser {
  private pos = 0
  private line = 1

  constructor(
    private readonly text: string,
    private readonly file: string,
  ) {
    // A UTF-8 byte-order mark is not part of the content.
    if (text.charCodeAt(0) === 0xfeff) this.pos = 1
  }

  private peek(): string {
    return this.text[this.pos] ?? ''
  }

  private get atEnd(): boolean {
    return this.pos >= this.text.length
  }

  private fail(what: string, line = this.line): never {
    throw confError(this.file, line, what)
  }

  /** Skips spaces and tabs on the current line. */
  private skipBlanks(): void {
    while (!this.atEnd && isBlank(this.peek())) this.pos++
  }

  /** Skips a comment up to (not including) the end of the line. */
  private skipComment(): void {
    if (this.peek() !== '#') return
    // One search, not a step per character: a stock config file is mostly comments.
    const end = this.text.indexOf('\n', this.pos)
    this.pos = end < 0 ? this.text.length : end
  }

  /** Skips blanks, comments and newlines. */
  private skipWhitespace(): void {
    for (;;) {
      this.skipBlanks()
      if (this.peek() === '#') this.skipComment()
      if (this.peek() === '\n') {
        this.pos++
        this.line++
        continue
      }
      return
    }
  }

  parse(): ConfEntry[] {
    const entries: ConfEntry[] = []
    for (;;) {
      this.skipWhitespace()
      if (this.atEnd) return entries
      if (this.peek() === ';') {
        this.pos++
        continue
      }
      entries.push(this.parseStatement())
    }
  }

  private parseStatement(): ConfEntry {
    const line = this.line
    if (!isNameStart(this.peek())) {
      this.fail(`expected a setting name, found ${showChar(this.peek())}`)
    }
    const start = this.pos
    while (!this.atEnd && isNameChar(this.peek())) this.pos++
    const key = this.text.slice(start, this.pos)

    this.skipBlanks()
    if (this.peek() !== '=') {
      if (this.atEnd || this.peek() === '\n' || this.peek() === '#') this.fail(`expected '=' after '${key}'`)
      if (this.pos === start + key.length && /[^\s="'[\]#;]/.test(this.peek())) {
        this.fail(`invalid character ${showChar(this.peek())} in setting name '${key}${this.peek()}...'`)
      }
      this.fail(`expected '=' after '${key}', found ${showChar(this.peek())}`)
    }
    this.pos++
    this.skipBlanks()
    if (this.atEnd || this.peek() === '\n' || this.peek() === '#' || this.peek() === ';') {
      this.fail(`expected a value after '=' for '${key}'`)
    }

    let value: ConfValue
    if (this.peek() === '[') value = this.parseList(key)
    else value = this.parseScalar(key)

    // Only blanks, an optional ';' and a comment may follow the value.
    this.skipBlanks()
    if (this.peek() === ';') {
      this.pos++
      this.skipBlanks()
    }
    this.skipComment()
    if (!this.atEnd && this.peek() !== '\n') {
      this.fail(`unexpected ${showChar(this.peek())} after the value of '${key}' (one setting per line)`)
    }
    return {key, value, line}
  }

  private parseScalar(key: string): ConfScalar {
    const c = this.peek()
    if (c === '"' || c === "'") return this.parseString()
    if (isDigit(c) || c === '-' || c === '+') return this.parseInteger()
    if (c === '[') this.fail(`nested lists are not allowed (in the value of '${key}')`)
    // A bare word: the most common mistake is forgetting the quotes.
    const m = /^[^\s#,;\]]+/.exec(this.text.slice(this.pos))
    const word = m ? m[0] : c
    if (/^[A-Za-z_][\w./:-]*$/.test(word)) {
      this.fail(`invalid value '${word}' for '${key}': strings must be quoted, e.g. "${word}"`)
    }
    this.fail(`invalid value for '${key}': expected a quoted string, an integer or a list, found ${showChar(c)}`)
  }

  private parseString(): string {
    const quote = this.peek()
    const startLine = this.line
    if (quote === '"' && this.text.startsWith('"""', this.pos)) {
      const end = this.text.indexOf('"""', this.pos + 3)
      if (end < 0) this.fail('unterminated string: missing closing """', startLine)
      const s = this.text.slice(this.pos + 3, end)
      for (const ch of s) if (ch === '\n') this.line++
      this.pos = end + 3
      return s
    }
    this.pos++
    const start = this.pos
    while (!this.atEnd && this.peek() !== quote && this.peek() !== '\n') this.pos++
    if (this.peek() !== quote) this.fail(`unterminated string: missing closing ${quote}`, startLine)
    const s = this.text.slice(start, this.pos)
    this.pos++
    return s
  }

  private parseInteger(): number {
    const m = /^[+-]?[0-9]+/.exec(this.text.slice(this.pos))
    const tail = /^[^\s#,;\]]*/.exec(this.text.slice(this.pos + (m ? m[0].length : 0)))?.[0] ?? ''
    if (!m || tail !== '') {
      const word = (m ? m[0] : '') + tail
      this.fail(`invalid number '${word || this.peek()}'`)
    }
    const n = Number(m[0])
    if (!Number.isSafeInteger(n)) this.fail(`integer ${m[0]} is out of range`)
    this.pos += m[0].length
    return n
  }

  private parseList(key: string): ConfScalar[] {
    const startLine = this.line
    this.pos++ // '['
    const items: ConfScalar[] = []
    for (;;) {
      this.skipWhitespace()
      if (this.atEnd) this.fail(`unterminated list for '${key}': missing ']'`, startLine)
      if (this.peek() === ']') break
      if (this.peek() === ',') this.fail(`missing value before ',' in the list for '${key}'`)
      items.push(this.parseScalar(key))
      this.skipWhitespace()
      if (this.atEnd) this.fail(`unterminated list for '${key}': missing ']'`, startLine)
      if (this.peek() === ',') {
        this.pos++
        continue
      }
      if (this.peek() === ']') break
      this.fail(`expected ',' or ']' in the list for '${key}', found ${showChar(this.peek())}`)
    }
    this.pos++ // ']'
    return items
  }
}

/** Parses the generic format into its statements, in file order. Throws VirError on syntax errors. */
export function parseConf(text: string, file: string): ConfEntry[] {
  return new Parser(text, file).parse()
}
