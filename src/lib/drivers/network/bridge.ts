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

/** The main routing table's routes (both families). */
export async function listRoutes(): Promise<RouteEntry[]> {
  const out: RouteEntry[] = []
  for (const fam of ['-4', '-6']) {
    try {
      const {stdout} = await run('ip', ['-j', fam, 'route', 'show'])
      const parsed: unknown = JSON.parse(stdout || '[]')
      if (!Array.isArray(parsed)) continue
      for (const r of parsed as Array<{dst?: unknown; dev?: unknown}>) {
        if (typeof r.dst === 'string') out.push({dst: r.dst, dev: typeof r.dev === 'string' ? r.dev : undefined})
      }
    } catch {
      /* no IPv6, or no ip: nothing routed */
    }
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
