/**
 * UUIDs travel as 16 raw bytes on the wire and as canonical lowercase strings everywhere else.
 * parseUuid is the one parser of UUID text (XML, RPC arguments, lookups).
 */

export function uuidToString(b: Uint8Array): string {
  const h = Buffer.from(b).toString('hex')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}

function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48
  if (c >= 97 && c <= 102) return c - 87
  if (c >= 65 && c <= 70) return c - 55
  return -1
}

/**
 * Parses a UUID the way libvirt accepts it: 32 hex digits, optionally with dashes between digit
 * pairs (so both the canonical and the dashless forms work), surrounding whitespace allowed.
 * Returns the canonical lowercase form, or undefined when malformed.
 */
export function parseUuid(text: string): string | undefined {
  const s = text.trim()
  let hex = ''
  let i = 0
  for (let byte = 0; byte < 16; byte++) {
    while (s.charCodeAt(i) === 45 /* - */) i++
    const hi = hexVal(s.charCodeAt(i))
    const lo = hexVal(s.charCodeAt(i + 1))
    if (hi < 0 || lo < 0) return undefined
    hex += s.slice(i, i + 2)
    i += 2
  }
  if (i !== s.length) return undefined
  hex = hex.toLowerCase()
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

const bytesCache = new Map<string, Buffer>()
const CACHE_MAX = 65536

/** Parses a UUID to its 16 bytes. Results are cached and shared: callers must not modify them. */
export function uuidToBytes(s: string): Buffer {
  const hit = bytesCache.get(s)
  if (hit) return hit
  const canonical = parseUuid(s)
  if (canonical === undefined) throw new Error(`malformed UUID '${s}'`)
  const b = Buffer.from(canonical.replace(/-/g, ''), 'hex')
  if (bytesCache.size >= CACHE_MAX) bytesCache.clear()
  bytesCache.set(s, b)
  return b
}

export function isUuid(s: string): boolean {
  return parseUuid(s) !== undefined
}
