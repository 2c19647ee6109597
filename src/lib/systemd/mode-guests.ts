/** Which QEMU guests run under the daemons of either layout: a switch stops the daemon managing them. */
import {existsSync} from 'node:fs'
import {join} from 'node:path'
import type {Connection} from '../client/connection.js'

export interface GuestCheck {
  socket: string
  /** Whether a daemon answered on it. */
  answered: boolean
  guests: string[]
  /** Why the check could not tell (daemon answered but listing failed). */
  error?: string
}

/**
 * Asks the daemons of both layouts (libvirt-sock: libvirtd or virtproxyd; virtqemud-sock) for their
 * running QEMU guests. A socket nobody answers on has no guests to protect; a daemon without the
 * QEMU driver has none either.
 */
export async function runningGuests(root: string, timeoutMs = 10000): Promise<GuestCheck[]> {
  const {socketAccepts} = await import('../daemon/listeners.js')
  const client = await import('../client/connection.js')
  const {remote} = await import('../rpc/programs/remote.js')
  const {VirError, ErrorCode} = await import('../errors.js')
  const dir = join(root || '/', 'run/libvirt')
  const out: GuestCheck[] = []
  for (const name of ['libvirt-sock', 'virtqemud-sock']) {
    const socket = join(dir, name)
    // A socket nobody listens on refuses at once; the bound only matters for a stalled listener,
    // and a short one would take a busy daemon (or a loaded host) for an absent one.
    if (!existsSync(socket) || !(await socketAccepts(socket, timeoutMs))) {
      out.push({socket, answered: false, guests: []})
      continue
    }
    let conn: Connection | undefined
    let timer: NodeJS.Timeout | undefined
    try {
      const work = (async () => {
        conn = await client.Connection.open(`qemu+unix:///system?socket=${socket}`, {readonly: false})
        const {domains} = await conn.call(remote.procs.CONNECT_LIST_ALL_DOMAINS, {need_results: 1, flags: 1})
        return domains.map((d) => d.name)
      })()
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs)
      })
      out.push({socket, answered: true, guests: await Promise.race([work, timeout])})
    } catch (err) {
      if (err instanceof VirError && (err.code === ErrorCode.NO_CONNECT || err.code === ErrorCode.SYSTEM_ERROR)) {
        // No QEMU driver behind this socket (or the daemon went away): no guests of ours there.
        out.push({socket, answered: err.code === ErrorCode.NO_CONNECT, guests: []})
      } else {
        out.push({socket, answered: true, guests: [], error: (err as Error).message})
      }
    } finally {
      clearTimeout(timer)
      await conn?.close().catch(() => {})
    }
  }
  return out
}
