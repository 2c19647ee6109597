/**
 * Value parsing and printing for network-filter rule attributes: numbers in decimal or hex, IPv4
 * (the forms inet_aton accepts, as libvirt's parser does) and IPv6 addresses, netmasks as prefix
 * lengths, MAC addresses and masks, and `$VAR`, `$VAR[2]`, `$VAR[@1]` variable references.
 */
import {isIPv6} from 'node:net'

/** Variable names and parameter values: the characters libvirt allows. */
export const VAR_NAME_RE = /^[A-Za-z0-9_]*$/
export const VAR_VALUE_RE = /^[A-Za-z0-9_.:]+$/

/** strtoul in `base` over the whole string (0x prefix allowed in base 16), as virStrToLong_ui. */
export function parseUInt(s: string, base: 10 | 16): number | undefined {
  const t = s.trim()
  const re = base === 10 ? /^\+?[0-9]+$/ : /^\+?(0[xX])?[0-9a-fA-F]+$/
  if (!re.test(t)) return undefined
  const n = parseInt(t.replace(/^\+/, ''), base)
  return n <= 0xffffffff ? n : undefined
}

/** An IPv4 address as inet_aton reads it (1 to 4 parts, each decimal, 0x-hex or 0-octal). */
export function parseIPv4(s: string): string | undefined {
  const parts = s.split('.')
  if (parts.length < 1 || parts.length > 4) return undefined
  const nums: number[] = []
  for (const p of parts) {
    let n: number
    if (/^0[xX][0-9a-fA-F]*$/.test(p)) n = p.length > 2 ? parseInt(p.slice(2), 16) : 0
    else if (/^0[0-7]*$/.test(p)) n = parseInt(p, 8)
    else if (/^[1-9][0-9]*$/.test(p)) n = parseInt(p, 10)
    else return undefined
    nums.push(n)
  }
  const last = nums.pop() ?? 0
  if (nums.some((n) => n > 255)) return undefined
  const lastMax = 2 ** (8 * (4 - nums.length)) - 1
  if (last > lastMax) return undefined
  let v = 0
  nums.forEach((n, i) => (v += n * 2 ** (8 * (3 - i))))
  v += last
  return [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join('.')
}

/** An IPv6 address in its canonical (compressed, lowercase) form. */
export function parseIPv6(s: string): string | undefined {
  if (!isIPv6(s)) return undefined
  return new URL(`http://[${s}]/`).hostname.slice(1, -1)
}

/** The 16 bytes of an IPv6 address. */
export function ipv6Bytes(s: string): number[] {
  const [head, tail] = s.includes('::') ? s.split('::') : [s, undefined]
  const groups = (x: string) => (x ? x.split(':') : [])
  const h = groups(head)
  const t = tail === undefined ? [] : groups(tail)
  const fill = tail === undefined ? [] : Array<string>(8 - h.length - t.length).fill('0')
  return [...h, ...fill, ...t].flatMap((g) => {
    const n = parseInt(g, 16)
    return [n >> 8, n & 255]
  })
}

/** The prefix length of a contiguous netmask's bytes, or -1. */
export function maskBits(bytes: number[]): number {
  let bits = 0
  let ones = true
  for (const b of bytes) {
    for (let m = 0x80; m; m >>= 1) {
      if (b & m) {
        if (!ones) return -1
        bits++
      } else ones = false
    }
  }
  return bits
}

/** A MAC address (six groups of one or two hex digits), lowercase two-digit form. */
export function parseMac(s: string): string | undefined {
  const parts = s.split(':')
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{1,2}$/.test(p))) return undefined
  return parts.map((p) => p.toLowerCase().padStart(2, '0')).join(':')
}

/** A reference to a variable: `$NAME` (iterator 0), `$NAME[N]` (element N) or `$NAME[@N]` (iterator N). */
export interface VarAccess {
  name: string
  index?: number
  iterator?: number
}

export function parseVarAccess(s: string): VarAccess | undefined {
  const m = /^([A-Za-z0-9_]*)(?:\[(@?)([0-9]+)\])?$/.exec(s)
  if (!m) return undefined
  const [, name, at, num] = m
  if (num === undefined) return {name, iterator: 0}
  return at ? {name, iterator: Number(num)} : {name, index: Number(num)}
}

export function formatVarAccess(v: VarAccess): string {
  if (v.index !== undefined) return `${v.name}[${v.index}]`
  return v.iterator ? `${v.name}[@${v.iterator}]` : v.name
}
