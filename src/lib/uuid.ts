/** UUIDs travel as 16 raw bytes on the wire and as canonical lowercase strings everywhere else. */

export function uuidToString(b: Uint8Array): string {
  const h = Buffer.from(b).toString('hex')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}

export function uuidToBytes(s: string): Buffer {
  const hex = s.replace(/-/g, '')
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new Error(`malformed UUID '${s}'`)
  return Buffer.from(hex, 'hex')
}

export function isUuid(s: string): boolean {
  return /^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$/.test(s)
}
