/**
 * libvirt connection URIs: `driver[+transport]://[user@][host][:port]/path[?params]`.
 * Parsing, the name the daemon is told (transport and client-only parameters stripped), and the
 * socket a client should dial, as libvirt's remote driver chooses it.
 */
import {existsSync} from 'node:fs'
import {ErrorCode, ErrorDomain, VirError} from './errors.js'
import {daemonForUriDriver} from './daemons.js'

export type Transport = 'unix' | 'tcp' | 'tls' | 'ssh' | 'libssh' | 'libssh2' | 'ext'

export interface ParsedUri {
  raw: string
  driver: string
  transport?: Transport
  user?: string
  host?: string
  port?: number
  path: string
  params: Map<string, string>
}

const TRANSPORTS = new Set(['unix', 'tcp', 'tls', 'ssh', 'libssh', 'libssh2', 'ext'])
/** Parameters consumed by the client's remote driver, never sent to the daemon. */
const CLIENT_PARAMS = new Set([
  'name',
  'command',
  'socket',
  'auth',
  'netcat',
  'keyfile',
  'sshauth',
  'no_verify',
  'no_tty',
  'pkipath',
  'known_hosts',
  'known_hosts_verify',
  'tls_priority',
  'mode',
  'proxy',
])

function uriError(uri: string, why: string): VirError {
  return new VirError(ErrorCode.INVALID_ARG, ErrorDomain.URI, `invalid argument: cannot parse URI '${uri}': ${why}`, {
    str1: 'invalid argument: %s',
    str2: `cannot parse URI '${uri}': ${why}`,
  })
}

export function parseUri(raw: string): ParsedUri {
  const m = /^([A-Za-z][A-Za-z0-9.-]*)(?:\+([A-Za-z0-9-]+))?:(\/\/([^/?#]*))?([^?#]*)(?:\?([^#]*))?(?:#.*)?$/.exec(raw)
  if (!m) throw uriError(raw, "expected 'driver[+transport]://[host]/path'")
  const [, driver, transport, , authority, path, query] = m
  if (transport !== undefined && !TRANSPORTS.has(transport.toLowerCase())) {
    throw uriError(raw, `unknown transport '${transport}' (expected one of ${[...TRANSPORTS].join(', ')})`)
  }
  const out: ParsedUri = {raw, driver: driver.toLowerCase(), path: path ?? '', params: new Map()}
  if (transport) out.transport = transport.toLowerCase() as Transport
  if (authority) {
    let hostPart = authority
    const at = hostPart.lastIndexOf('@')
    if (at >= 0) {
      out.user = decodeURIComponent(hostPart.slice(0, at))
      hostPart = hostPart.slice(at + 1)
    }
    const pm = /^(\[[^\]]+\]|[^:]*)(?::(\d*))?$/.exec(hostPart)
    if (!pm) throw uriError(raw, `bad host '${hostPart}'`)
    if (pm[1]) out.host = pm[1].replace(/^\[|\]$/g, '')
    if (pm[2]) {
      const port = Number(pm[2])
      if (!Number.isInteger(port) || port < 1 || port > 65535) throw uriError(raw, `bad port '${pm[2]}'`)
      out.port = port
    }
  }
  if (query) {
    for (const part of query.split(/[&;]/)) {
      if (!part) continue
      const eq = part.indexOf('=')
      const k = decodeURIComponent(eq < 0 ? part : part.slice(0, eq))
      const v = eq < 0 ? '' : decodeURIComponent(part.slice(eq + 1).replace(/\+/g, ' '))
      out.params.set(k, v)
    }
  }
  return out
}

/** The URI the daemon is opened with: no transport, host, or client-only parameters. */
export function serverName(uri: ParsedUri): string {
  if (uri.params.has('name')) return uri.params.get('name')!
  const rest = [...uri.params].filter(([k]) => !CLIENT_PARAMS.has(k))
  const q = rest.length ? '?' + rest.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&') : ''
  return `${uri.driver}://${uri.path}${q}`
}

/** Whether the client must reach the host over the network. */
export function isRemote(uri: ParsedUri): boolean {
  if (uri.transport && uri.transport !== 'unix') return true
  return uri.host !== undefined && uri.host !== '' && uri.host !== 'localhost' && uri.transport !== 'unix'
}

export {daemonForUriDriver} from './daemons.js'

export interface SocketChoice {
  path: string
  /** Which daemon's socket this is, e.g. "libvirtd", "virtqemud". */
  daemon: string
}

export interface SocketEnv {
  root?: string
  env?: NodeJS.ProcessEnv
  readonly?: boolean
  isRoot?: boolean
  exists?: (p: string) => boolean
}

/** Chooses the UNIX socket for a local URI, as libvirt's client does. */
export function chooseUnixSocket(uri: ParsedUri | undefined, opts: SocketEnv = {}): SocketChoice {
  const sock = uri?.params.get('socket')
  if (sock) return {path: sock, daemon: 'explicit'}
  const env = opts.env ?? process.env
  const exists = opts.exists ?? existsSync
  const root = opts.root ?? ''
  const isRoot = opts.isRoot ?? process.getuid?.() === 0
  const session = uri ? uri.path === '/session' : !isRoot
  let dir: string
  if (session) {
    const runtime = env.XDG_RUNTIME_DIR || `${env.HOME ?? '/root'}/.cache`
    dir = `${root}${runtime}/libvirt`
  } else dir = `${root}/run/libvirt`
  const ro = opts.readonly && !session
  const modular = uri ? daemonForUriDriver(uri.driver) : undefined
  const mode = uri?.params.get('mode') ?? env.VCTL_REMOTE_MODE ?? 'auto'
  if (modular && mode !== 'legacy') {
    const p = `${dir}/${modular}-sock${ro ? '-ro' : ''}`
    if (mode === 'direct' || exists(p)) return {path: p, daemon: modular}
  }
  return {path: `${dir}/libvirt-sock${ro ? '-ro' : ''}`, daemon: 'libvirtd'}
}

/** The URI a client uses when none was given: -c, then LIBVIRT_DEFAULT_URI, then none (ask the daemon). */
export function defaultUri(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (flag) return flag
  if (env.LIBVIRT_DEFAULT_URI) return env.LIBVIRT_DEFAULT_URI
  return undefined
}
