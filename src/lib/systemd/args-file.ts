/**
 * The files holding each daemon's extra arguments (LIBVIRTD_ARGS="--timeout 120", ...), which the
 * service units read with EnvironmentFile=. Debian (and its derivatives) keeps them in
 * /etc/default/<daemon>, the other distributions libvirt packages for in /etc/sysconfig/<daemon>:
 * the host's family is told by /etc/debian_version under the root.
 */
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {writeFileAtomic} from '../fs-atomic.js'

export type ArgsDir = '/etc/default' | '/etc/sysconfig'

/** Where the argument files live on the system under root. */
export function argsDirFor(root: string): ArgsDir {
  return existsSync(join(root || '/', 'etc/debian_version')) ? '/etc/default' : '/etc/sysconfig'
}

/** The argument file of a daemon under root (absolute on the host). */
export function argsFilePath(root: string, daemon: string): string {
  return join(root || '/', argsDirFor(root), daemon)
}

/** Splits a shell-like value into words (double and single quotes, no expansion). */
export function splitArgs(value: string): string[] {
  const out: string[] = []
  const re = /"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g
  for (let m = re.exec(value); m; m = re.exec(value)) out.push(m[1] ?? m[2] ?? m[3])
  return out
}

const assignment = (v: string) => new RegExp(`^\\s*${v}\\s*=\\s*(.*?)\\s*$`)

function unquote(raw: string): string {
  if ((raw.startsWith('"') && raw.endsWith('"')) || (raw.startsWith("'") && raw.endsWith("'"))) return raw.slice(1, -1)
  return raw
}

/** The words of `variable` in the file (the last assignment wins, as in an environment file); undefined if unset. */
export function readArgs(path: string, variable: string): string[] | undefined {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch {
    return undefined
  }
  let value: string | undefined
  for (const line of text.split('\n')) {
    const m = assignment(variable).exec(line)
    if (m) value = unquote(m[1])
  }
  return value === undefined ? undefined : splitArgs(value)
}

/** Removes `--timeout N` / `--timeout=N` / `-t N` from the words. */
export function withoutTimeout(words: string[]): string[] {
  const out: string[] = []
  for (let i = 0; i < words.length; i++) {
    const w = words[i]
    if (w === '--timeout' || w === '-t') {
      i++
      continue
    }
    if (w.startsWith('--timeout=')) continue
    out.push(w)
  }
  return out
}

export function hasListen(words: string[] | undefined): boolean {
  return words?.some((w) => w === '--listen' || w === '-l') ?? false
}

function quoteWords(words: string[]): string {
  return words.map((w) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(w) ? w : `'${w.replaceAll("'", '')}'`)).join(' ')
}

/**
 * Sets `variable` to the words: replaces its assignments in place (keeping comments and other
 * lines), or appends one. Returns the previous content ('' when the file did not exist) for undo.
 */
export async function writeArgs(path: string, variable: string, words: string[]): Promise<string | undefined> {
  let before: string | undefined
  try {
    before = readFileSync(path, 'utf8')
  } catch {
    before = undefined
  }
  const line = `${variable}="${quoteWords(words)}"`
  const lines = (before ?? '').split('\n')
  let replaced = false
  const out = lines.flatMap((l) => {
    if (!assignment(variable).test(l)) return [l]
    if (replaced) return []
    replaced = true
    return [line]
  })
  if (!replaced) {
    if (out.length && out[out.length - 1] === '') out.pop()
    out.push(line, '')
  }
  await writeFileAtomic(path, out.join('\n'), 0o644)
  return before
}
