/** IPv4/IPv6 address arithmetic for subnets: prefixes, network addresses, overlap. */
import {isIP} from 'node:net'

import type {NetworkIp} from '../../conf/network.js'

export interface Subnet {
  family: 4 | 6
  /** The network address as a number (IPv4 in the low 32 bits). */
  net: bigint
  prefix: number
}

function v4ToBig(a: string): bigint {
  return a.split('.').reduce((acc, p) => (acc << 8n) | BigInt(Number(p)), 0n)
}

function v6ToBig(a: string): bigint {
  let s = a
  // An embedded dotted quad at the end.
  const m = /(\d+\.\d+\.\d+\.\d+)$/.exec(s)
  if (m) {
    const v = v4ToBig(m[1])
    s = s.slice(0, -m[1].length) + `${(v >> 16n).toString(16)}:${(v & 0xffffn).toString(16)}`
  }
  const [head, tail] = s.split('::')
  const h = head ? head.split(':') : []
  const t = tail !== undefined && tail ? tail.split(':') : []
  const groups = tail === undefined ? h : [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t]
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g || '0', 16)), 0n)
}

export function addrToBig(a: string): bigint {
  return isIP(a) === 6 ? v6ToBig(a) : v4ToBig(a)
}

export function bigToV4(n: bigint): string {
  return [24n, 16n, 8n, 0n].map((s) => String((n >> s) & 255n)).join('.')
}

function mask(family: 4 | 6, prefix: number): bigint {
  const bits = family === 4 ? 32 : 128
  return prefix === 0 ? 0n : ((1n << BigInt(prefix)) - 1n) << BigInt(bits - prefix)
}

export function netmaskToPrefix(m: string): number {
  return v4ToBig(m).toString(2).replace(/0+$/, '').length
}

/** The prefix length of an `<ip>` (libvirt's default for IPv4 without one is the class's; 24 is what matters here). */
export function ipPrefix(ip: NetworkIp): number {
  if (ip.prefix !== undefined) return ip.prefix
  if (ip.netmask !== undefined) return netmaskToPrefix(ip.netmask)
  if (isIP(ip.address) === 6) return 64
  const first = Number(ip.address.split('.')[0])
  return first < 128 ? 8 : first < 192 ? 16 : 24
}

export function subnetOf(address: string, prefix: number): Subnet {
  const family = isIP(address) === 6 ? 6 : 4
  return {family, net: addrToBig(address) & mask(family, prefix), prefix}
}

/** Parses `a.b.c.d/n`, `a.b.c.d` or `default`; undefined for what is not a subnet. */
export function parseCidr(s: string): Subnet | undefined {
  if (s === 'default') return undefined
  const [a, p] = s.split('/')
  const family = isIP(a)
  if (family === 0) return undefined
  return subnetOf(a, p === undefined ? (family === 4 ? 32 : 128) : Number(p))
}

/** Whether two subnets share any address. */
export function overlaps(a: Subnet, b: Subnet): boolean {
  if (a.family !== b.family) return false
  const p = Math.min(a.prefix, b.prefix)
  const m = mask(a.family, p)
  return (a.net & m) === (b.net & m)
}

export function inSubnet(address: string, s: Subnet): boolean {
  if (isIP(address) !== s.family) return false
  const m = mask(s.family, s.prefix)
  return (addrToBig(address) & m) === s.net
}

/** `network/prefix` text of a subnet. */
export function cidrText(s: Subnet): string {
  if (s.family === 4) return `${bigToV4(s.net)}/${s.prefix}`
  const groups: string[] = []
  for (let i = 7; i >= 0; i--) groups.push(((s.net >> BigInt(i * 16)) & 0xffffn).toString(16))
  return `${groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::')}/${s.prefix}`
}

/** The netmask text of an IPv4 prefix. */
export function prefixToNetmask(prefix: number): string {
  return bigToV4(mask(4, prefix))
}

/** Number of addresses in an inclusive range. */
export function rangeSize(start: string, end: string): bigint {
  return addrToBig(end) - addrToBig(start) + 1n
}
