/**
 * Listening sockets: UNIX (rw, ro, admin) with libvirt's permission and group settings, TCP,
 * TLS, and sockets inherited through systemd socket activation.
 */
import {createServer, connect, type Server, type Socket} from 'node:net'
import {chmodSync, chownSync, existsSync, mkdirSync, readFileSync, unlinkSync} from 'node:fs'
import {dirname} from 'node:path'
import {execFileSync} from 'node:child_process'
import type {TlsListenOptions} from './tls-listen.js'
export type {TlsListenOptions} from './tls-listen.js'

export type ListenerRole = 'rw' | 'ro' | 'admin' | 'tcp' | 'tls'

export interface Listener {
  role: ListenerRole
  /** Socket path, or host:port. */
  address: string
  server: Server
  /** Unix socket path to remove at shutdown (not for inherited sockets). */
  unlinkPath?: string
}

export type OnConnection = (socket: Socket, listener: Listener) => void

function groupId(name: string): number {
  if (/^\d+$/.test(name)) return Number(name)
  try {
    const line = readFileSync('/etc/group', 'utf8')
      .split('\n')
      .find((l) => l.split(':')[0] === name)
    if (line) return Number(line.split(':')[2])
  } catch {
    // fall through
  }
  try {
    return Number(execFileSync('getent', ['group', name], {encoding: 'utf8'}).split(':')[2])
  } catch {
    throw new Error(`unix_sock_group: no such group '${name}'`)
  }
}

/** Whether something accepts connections on a UNIX socket path. */
export function socketAccepts(path: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path)
    const timer = setTimeout(() => {
      s.destroy()
      resolve(false)
    }, timeoutMs)
    s.once('connect', () => {
      clearTimeout(timer)
      s.destroy()
      resolve(true)
    })
    s.once('error', () => {
      clearTimeout(timer)
      resolve(false)
    })
  })
}

export async function listenUnix(
  path: string,
  role: ListenerRole,
  perms: string,
  group: string | undefined,
  onConnection: OnConnection,
): Promise<Listener> {
  mkdirSync(dirname(path), {recursive: true})
  if (existsSync(path)) {
    if (await socketAccepts(path)) throw new Error(`socket ${path} is in use by another daemon`)
    unlinkSync(path) // stale socket of a dead daemon
  }
  const server = createServer({noDelay: true})
  const listener: Listener = {role, address: path, server, unlinkPath: path}
  server.on('connection', (s) => onConnection(s, listener))
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(path, () => {
      server.off('error', reject)
      resolve()
    })
  })
  chmodSync(path, Number.parseInt(perms, 8))
  if (group) chownSync(path, -1, groupId(group))
  return listener
}

/**
 * The server of a TCP or inherited socket: plain, or TLS with libvirt's client checks when `tls` is
 * given (tls-listen.ts, loaded only then: node:tls and its certificate code cost a starting daemon
 * several ms it needs only when it listens for TLS).
 */
async function serverFor(tls: TlsListenOptions | undefined, address: string, onSocket: (s: Socket) => void): Promise<Server> {
  if (tls) {
    const {tlsServer} = await import('./tls-listen.js')
    return tlsServer(tls, onSocket, address)
  }
  const server = createServer({noDelay: true})
  server.on('connection', onSocket)
  return server
}

/** A listener on a server made by serverFor (no client can come before it listens, so before this returns). */
async function listenerFor(role: ListenerRole, address: string, onConnection: OnConnection, tls?: TlsListenOptions): Promise<Listener> {
  const box: {listener?: Listener} = {}
  const server = await serverFor(tls, address, (s) => {
    if (box.listener) onConnection(s, box.listener)
    else s.destroy()
  })
  return (box.listener = {role, address, server})
}

export async function listenTcp(
  host: string | undefined,
  port: number,
  role: 'tcp' | 'tls',
  onConnection: OnConnection,
  tls?: TlsListenOptions,
): Promise<Listener> {
  const listener = await listenerFor(role, `${host ?? '*'}:${port}`, onConnection, tls)
  const {server} = listener
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(new Error(`cannot listen on ${listener.address}: ${err.code ?? err.message}`)))
    server.listen({host: host && host !== '*' ? host : undefined, port}, () => resolve())
  })
  return listener
}

/** Sockets handed over by systemd (LISTEN_FDS/LISTEN_PID/LISTEN_FDNAMES), in fd order from 3. */
export interface ActivatedFd {
  fd: number
  name: string
}

export function activatedFds(env: NodeJS.ProcessEnv = process.env, pid = process.pid): ActivatedFd[] | undefined {
  if (!env.LISTEN_FDS) return undefined
  if (env.LISTEN_PID && Number(env.LISTEN_PID) !== pid) return undefined
  const n = Number.parseInt(env.LISTEN_FDS, 10)
  if (!Number.isInteger(n) || n < 0) throw new Error(`LISTEN_FDS='${env.LISTEN_FDS}' is not a number of file descriptors`)
  const names = (env.LISTEN_FDNAMES ?? '').split(':')
  return Array.from({length: n}, (_, i) => ({fd: 3 + i, name: names[i] ?? ''}))
}

/** Maps a systemd socket unit name (e.g. libvirtd-ro.socket, virtqemud-admin.socket) to its role. */
export function roleForFdName(name: string): ListenerRole {
  const base = name.replace(/\.socket$/, '')
  if (base.endsWith('-ro')) return 'ro'
  if (base.endsWith('-admin')) return 'admin'
  if (base.endsWith('-tcp')) return 'tcp'
  if (base.endsWith('-tls')) return 'tls'
  return 'rw'
}

export async function listenFd(fd: ActivatedFd, onConnection: OnConnection, tls?: TlsListenOptions): Promise<Listener> {
  const role = roleForFdName(fd.name)
  const listener = await listenerFor(role, `fd:${fd.fd}(${fd.name || 'unnamed'})`, onConnection, role === 'tls' ? tls : undefined)
  const {server} = listener
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen({fd: fd.fd}, () => resolve())
  })
  return listener
}

export function closeListener(l: Listener): Promise<void> {
  return new Promise((resolve) => {
    l.server.close(() => resolve())
    if (l.unlinkPath) {
      try {
        unlinkSync(l.unlinkPath)
      } catch {
        // already removed
      }
    }
  })
}
