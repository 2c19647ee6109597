/**
 * What is listening where: every daemon's sockets under a root (both layouts), whether each
 * accepts connections, which process holds it, and its mode bits and owner.
 */
import {readFileSync, readdirSync, readlinkSync, statSync} from 'node:fs'
import {DAEMON_NAMES, daemonPaths, type DaemonName} from './paths.js'
import {socketAccepts} from './listeners.js'
import {processAlive} from './pidfile.js'

export interface SocketStatus {
  daemon: DaemonName
  kind: 'rw' | 'ro' | 'admin'
  path: string
  exists: boolean
  accepts: boolean
  pid: number | null
  mode: string | null
  uid: number | null
  gid: number | null
}

/** Inode of each listening UNIX socket path, from /proc/net/unix. */
function unixSocketInodes(): Map<string, string> {
  const m = new Map<string, string>()
  try {
    for (const line of readFileSync('/proc/net/unix', 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/)
      if (f.length >= 8 && f[7].startsWith('/')) m.set(f[7], f[6])
    }
  } catch {
    // not Linux
  }
  return m
}

/** The process that holds socket inode `inode` open. */
function pidHoldingInode(inode: string): number | null {
  const target = `socket:[${inode}]`
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue
    let fds: string[]
    try {
      fds = readdirSync(`/proc/${pid}/fd`)
    } catch {
      continue
    }
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`) === target) return Number(pid)
      } catch {
        // fd closed meanwhile
      }
    }
  }
  return null
}

function pidFromFile(file: string): number | null {
  try {
    const pid = Number.parseInt(readFileSync(file, 'utf8'), 10)
    return processAlive(pid) ? pid : null
  } catch {
    return null
  }
}

export async function socketStatus(opts: {
  mode: 'system' | 'session'
  root?: string
  env?: NodeJS.ProcessEnv
  all?: boolean
}): Promise<SocketStatus[]> {
  const inodes = unixSocketInodes()
  const out: SocketStatus[] = []
  for (const daemon of DAEMON_NAMES) {
    const p = daemonPaths({daemon, mode: opts.mode, root: opts.root, env: opts.env})
    const socks: Array<[SocketStatus['kind'], string | undefined]> = [
      ['rw', p.sockRw],
      ['ro', p.sockRo],
      ['admin', p.sockAdmin],
    ]
    for (const [kind, path] of socks) {
      if (!path) continue
      if (daemon === 'virtproxyd' && path.includes('/libvirt-')) continue // shares libvirtd's paths
      let st
      try {
        st = statSync(path)
      } catch {
        st = undefined
      }
      if (!st && !opts.all) continue
      const accepts = st ? await socketAccepts(path, 500) : false
      let pid = accepts ? pidFromFile(p.pidFile) : null
      const inode = inodes.get(path)
      if (accepts && inode) pid = pidHoldingInode(inode) ?? pid
      out.push({
        daemon,
        kind,
        path,
        exists: st !== undefined,
        accepts,
        pid,
        mode: st ? (st.mode & 0o7777).toString(8).padStart(4, '0') : null,
        uid: st?.uid ?? null,
        gid: st?.gid ?? null,
      })
    }
  }
  return out
}
