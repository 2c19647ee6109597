/**
 * Listening sockets: UNIX (rw, ro, admin) with libvirt's permission and group settings, TCP,
 * TLS, and sockets inherited through systemd socket activation.
 */
import {createServer, connect, type Server, type Socket} from 'node:net'
import {createServer as createTlsServer, type TLSSocket, type TlsOptions} from 'node:tls'
import {chmodSync, chownSync, existsSync, mkdirSync, readFileSync, unlinkSync} from 'node:fs'
import {dirname} from 'node:path'
import {execFileSync} from 'node:child_process'
import type {LogSink} from './logging.js'
import {checkTlsClient, parseCaBundle, type PeerVerdict} from './tls-peer.js'

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

/** TLS options plus libvirt's client certificate checks. */
export interface TlsListenOptions extends TlsOptions {
  /** tls_allowed_dn_list: glob patterns the client's DN must match (see tls-dn.ts). */
  allowedDn?: string[]
  /** Where refusals and certificate warnings are reported. */
  log?: Pick<LogSink, 'warn' | 'error'>
}

/** The options node:tls gets: verification stays on our side (see tls-peer.ts) so the purpose rules are libvirt's. */
function serverTlsOptions(tls: TlsListenOptions): TlsOptions {
  const {allowedDn: _allowedDn, log: _log, ...rest} = tls
  return {...rest, requestCert: true, rejectUnauthorized: false}
}

function onSecure(listener: Listener, onConnection: OnConnection, tls: TlsListenOptions) {
  // tls_no_verify_certificate: libvirt ignores every failed check, the DN list included.
  const requireValid = tls.rejectUnauthorized !== false
  const trusted = tls.ca ? parseCaBundle(tls.ca) : []
  return (s: TLSSocket) => {
    if (requireValid) {
      let verdict: PeerVerdict
      try {
        verdict = checkTlsClient(s, {trusted, allowedDn: tls.allowedDn})
      } catch (err) {
        verdict = {ok: false, reason: `Unable to verify TLS peer: ${(err as Error).message}`}
      }
      if (!verdict.ok) {
        // libvirt closes without confirming the session when the client's certificate is refused.
        tls.log?.error(`TLS client on ${listener.address} refused: ${verdict.reason}`)
        s.destroy()
        return
      }
      for (const w of verdict.warnings) tls.log?.warn(w)
    }
    // libvirt's TLS handshake ends with the server confirming with a single 0x01 byte.
    s.write(Buffer.from([1]))
    onConnection(s, listener)
  }
}

export async function listenTcp(
  host: string | undefined,
  port: number,
  role: 'tcp' | 'tls',
  onConnection: OnConnection,
  tls?: TlsListenOptions,
): Promise<Listener> {
  const server = tls ? createTlsServer(serverTlsOptions(tls)) : createServer({noDelay: true})
  const listener: Listener = {role, address: `${host ?? '*'}:${port}`, server}
  if (tls) {
    server.on('secureConnection', onSecure(listener, onConnection, tls))
    server.on('tlsClientError', () => {})
  } else server.on('connection', (s: Socket) => onConnection(s, listener))
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
  const server = role === 'tls' && tls ? createTlsServer(serverTlsOptions(tls)) : createServer({noDelay: true})
  const listener: Listener = {role, address: `fd:${fd.fd}(${fd.name || 'unnamed'})`, server}
  if (role === 'tls' && tls) {
    server.on('secureConnection', onSecure(listener, onConnection, tls))
    server.on('tlsClientError', () => {})
  } else server.on('connection', (s: Socket) => onConnection(s, listener))
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
