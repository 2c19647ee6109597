/** UUIDs travel as 16 raw bytes on the wire and as canonical lowercase strings everywhere else. */

export function uuidToString(b: Uint8Array): string {
  const h = Buffer.from(b).toString('hex')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}

const bytesCache = new Map<string, Buffer>()
const CACHE_MAX = 65536

/** Parses a UUID to its 16 bytes. Results are cached and shared: callers must not modify them. */
export function uuidToBytes(s: string): Buffer {
  const hit = bytesCache.get(s)
  if (hit) return hit
  const dashed = s.length === 36 && s[8] === '-' && s[13] === '-' && s[18] === '-' && s[23] === '-'
  const hex = dashed ? s.slice(0, 8) + s.slice(9, 13) + s.slice(14, 18) + s.slice(19, 23) + s.slice(24) : s.replace(/-/g, '')
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new Error(`malformed UUID '${s}'`)
  const b = Buffer.from(hex, 'hex')
  if (bytesCache.size >= CACHE_MAX) bytesCache.clear()
  bytesCache.set(s, b)
  return b
}

export function isUuid(s: string): boolean {
  return /^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$/.test(s)
}
