/**
 * Linux bridges and tap devices through `ip` (iproute2): one `ip -batch` per change, so creating a
 * network's bridge costs one process. Device names are checked before use; nothing here touches a
 * device the caller did not name.
 */
import {existsSync, readFileSync, writeFileSync} from 'node:fs'

import {run, tryRun} from './exec.js'

/** Linux interface names: at most 15 bytes, no '/', ':' or white space. */
export const IFNAME_RE = /^[A-Za-z0-9_.+-]{1,15}$/

export function linkExists(name: string): boolean {
  return IFNAME_RE.test(name) && existsSync(`/sys/class/net/${name}`)
}

export function isBridge(name: string): boolean {
  return linkExists(name) && existsSync(`/sys/class/net/${name}/bridge`)
}

export interface BridgeSpec {
  name: string
  mac?: string
  stp: boolean
  /** Forward delay in seconds. */
  delay: number
  mtu?: number
  /** `address/prefix` strings. */
  addresses: string[]
}

/** Creates, addresses and brings up a bridge in one `ip -batch`. */
export async function createBridge(b: BridgeSpec): Promise<void> {
  const lines = [`link add name ${b.name} type bridge stp_state ${b.stp ? 1 : 0} forward_delay ${b.delay * 100}`]
  if (b.mac) lines.push(`link set dev ${b.name} address ${b.mac}`)
  if (b.mtu) lines.push(`link set dev ${b.name} mtu ${b.mtu}`)
  for (const a of b.addresses) lines.push(`address add ${a} dev ${b.name}${a.includes(':') ? ' nodad' : ''}`)
  lines.push(`link set dev ${b.name} up`)
  try {
    await run('ip', ['-batch', '-'], lines.join('\n') + '\n')
  } catch (err) {
    await deleteLink(b.name)
    throw err
  }
}

/** Removes a device if it exists; resolves whether it was removed. */
export async function deleteLink(name: string): Promise<boolean> {
  if (!linkExists(name)) return false
  return tryRun('ip', ['link', 'del', 'dev', name])
}

/** The MTU of a device (the bridge's, for taps plugged into it). */
export function linkMtu(name: string): number | undefined {
  try {
    return Number(readFileSync(`/sys/class/net/${name}/mtu`, 'utf8').trim())
  } catch {
    return undefined
  }
}

export interface RouteEntry {
  dst: string
  dev?: string
}

/**
 * The routes of this network namespace (both families), read from /proc/net/route and
 * /proc/net/ipv6_route as libvirt reads them: no process to spawn. Loopback, link-local and
 * multicast entries and default routes are left out.
 */
export function listRoutes(): RouteEntry[] {
  const out: RouteEntry[] = []
  const read = (f: string) => {
    try {
      return readFileSync(f, 'utf8').split('\n')
    } catch {
      return []
    }
  }
  for (const line of read('/proc/net/route').slice(1)) {
    const f = line.trim().split(/\s+/)
    if (f.length < 8 || f[0] === 'lo') continue
    // Destination and mask are hex in host byte order (little-endian here).
    const le = (h: string) => [6, 4, 2, 0].map((i) => parseInt(h.slice(i, i + 2), 16)).join('.')
    const mask = parseInt(f[7], 16)
    if (mask === 0) continue
    const prefix = mask.toString(2).replace(/0/g, '').length
    out.push({dst: `${le(f[1])}/${prefix}`, dev: f[0]})
  }
  for (const line of read('/proc/net/ipv6_route')) {
    const f = line.trim().split(/\s+/)
    if (f.length < 10 || f[9] === 'lo') continue
    const prefix = parseInt(f[1], 16)
    if (prefix === 0 || /^ff/.test(f[0]) || /^fe[89ab]/.test(f[0])) continue
    const addr = f[0].match(/.{4}/g)?.join(':') ?? ''
    out.push({dst: `${addr}/${prefix}`, dev: f[9]})
  }
  return out
}

/** Writes a sysctl under /proc/sys (per network namespace for net.*); false when it cannot. */
export function setSysctl(path: string, value: string): boolean {
  try {
    if (readFileSync(`/proc/sys/${path}`, 'utf8').trim() === value) return true
  } catch {
    return false
  }
  try {
    writeFileSync(`/proc/sys/${path}`, value)
    return true
  } catch {
    return false
  }
}
