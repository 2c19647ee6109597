/**
 * virtproxyd: serves the monolithic socket paths and forwards each client to the modular
 * daemons behind it. The hypervisor daemon is chosen by the URI of CONNECT_OPEN; within one
 * connection, secret/network/storage/... calls go to their own daemons, opened on first use,
 * as libvirt's remote driver does. Packets are forwarded raw, so procedures vctl's tables do
 * not know still reach the daemon that may.
 */
import {ErrorCode, ErrorDomain, VirError} from '../errors.js'
import {RpcClient} from '../rpc/client.js'
import {buildErrorReply, MessageStatus, MessageType, SERIAL_OFFSET, type Packet} from '../rpc/message.js'
import {AuthType, CONNECT_RO} from './remote.js'
import {remote, Feature} from '../rpc/programs/remote.js'
import {HandlerTable, type RpcConnection, type ServedProgram} from '../rpc/server.js'
import {closeFds} from '../os/fdpass.js'
import {parseUri, serverName, daemonForUriDriver} from '../uri.js'

const P = remote.procs

/** The modular daemon family a procedure belongs to, or undefined for the hypervisor's. */
export function secondaryFamily(procName: string | undefined): string | undefined {
  if (!procName) return undefined
  if (/SECRET/.test(procName)) return 'secret'
  if (/STORAGE_(POOL|VOL)/.test(procName)) return 'storage'
  if (/NWFILTER/.test(procName)) return 'nwfilter'
  if (/NETWORK/.test(procName)) return 'network'
  if (/NODE_DEVICE|NODE_NUM_OF_DEVICES|NODE_LIST_DEVICES|ALL_NODE_DEVICES/.test(procName)) return 'nodedev'
  if (/INTERFACE/.test(procName) && !/DOMAIN_INTERFACE/.test(procName)) return 'interface'
  return undefined
}

interface ProxyState {
  mode: 'system' | 'session'
  primaryDriver: string
  primary: RpcClient
  secondaries: Map<string, Promise<RpcClient>>
  /** Secondary backends already connected, for the synchronous fast path. */
  ready: Map<string, RpcClient>
  readonly: boolean
}

export interface ProxyOptions {
  /** Directory holding the modular daemons' sockets. */
  sockDir: string
  mode: 'system' | 'session'
  /** How long to read a backend directly for a reply before leaving it to the event loop. */
  busyPollUs?: number
  log?: (m: string) => void
}

function st(conn: RpcConnection): ProxyState {
  return conn.state.proxy as ProxyState
}

async function openBackend(path: string, uri: string, readonly: boolean, conn: RpcConnection): Promise<RpcClient> {
  const c = await RpcClient.connect({path}, [remote])
  const {types} = await c.call(remote, P.AUTH_LIST, undefined)
  if (types[0] !== AuthType.NONE) {
    c.destroy()
    throw new VirError(ErrorCode.AUTH_FAILED, ErrorDomain.REMOTE, `authentication failed: backend daemon at ${path} wants auth type ${types[0]}`)
  }
  await c.call(remote, P.CONNECT_SUPPORTS_FEATURE, {feature: Feature.PROGRAM_KEEPALIVE})
  await c.call(remote, P.CONNECT_OPEN, {name: uri, flags: readonly ? CONNECT_RO : 0})
  // Events from the backend go to the client as they are.
  c.on('raw-message', (p: Packet) => conn.sendRaw(p.buf))
  c.on('close', () => conn.close())
  return c
}

export function createProxyProgram(opts: ProxyOptions): ServedProgram {
  const sockFor = (driver: string) => {
    const daemon = daemonForUriDriver(driver)
    if (!daemon) return undefined
    return `${opts.sockDir}/${daemon}-sock`
  }

  const local = new HandlerTable()
  local.on(P.AUTH_LIST, (conn) => {
    conn.authenticated = true
    return {types: [AuthType.NONE]}
  })
  local.on(P.CONNECT_SUPPORTS_FEATURE, (conn, {feature}) => {
    if (feature === Feature.PROGRAM_KEEPALIVE) conn.enableKeepalive()
    return {
      supported: [
        Feature.PROGRAM_KEEPALIVE,
        Feature.FD_PASSING,
        Feature.REMOTE_EVENT_CALLBACK,
        Feature.REMOTE_CLOSE_CALLBACK,
        Feature.TYPED_PARAM_STRING,
        Feature.NETWORK_UPDATE_HAS_CORRECT_ORDER,
      ].includes(feature as 10)
        ? 1
        : 0,
    }
  })
  local.on(P.CONNECT_OPEN, async (conn, {name, flags}) => {
    if (conn.opened) throw new VirError(ErrorCode.INTERNAL_ERROR, ErrorDomain.RPC, 'internal error: connection already open')
    const raw = name && name.length ? name : `qemu:///${opts.mode}`
    let driver: string
    let uri: string
    try {
      const parsed = parseUri(raw)
      driver = parsed.driver
      uri = serverName(parsed)
    } catch {
      throw new VirError(ErrorCode.NO_CONNECT, ErrorDomain.NONE, `no connection driver available for ${raw}`)
    }
    const path = sockFor(driver)
    if (!path) throw new VirError(ErrorCode.NO_CONNECT, ErrorDomain.NONE, `no connection driver available for ${raw}`)
    const readonly = conn.readonly || (flags & CONNECT_RO) !== 0
    const primary = await openBackend(path, uri, readonly, conn)
    conn.readonly = readonly
    conn.state.proxy = {mode: opts.mode, primaryDriver: driver, primary, secondaries: new Map(), ready: new Map(), readonly} satisfies ProxyState
    conn.opened = true
    conn.onClose(() => {
      const s = st(conn)
      s.primary.destroy()
      for (const p of s.secondaries.values())
        p.then(
          (c) => c.destroy(),
          () => {},
        )
    })
  })
  local.on(P.CONNECT_CLOSE, async (conn) => {
    const s = conn.state.proxy as ProxyState | undefined
    if (!s) return
    await Promise.allSettled([s.primary, ...s.secondaries.values()].map(async (b) => (await b).call(remote, P.CONNECT_CLOSE, undefined)))
  })

  function backendFor(conn: RpcConnection, family: string | undefined): Promise<RpcClient> {
    const s = st(conn)
    if (!family || family === s.primaryDriver) return Promise.resolve(s.primary)
    let b = s.secondaries.get(family)
    if (!b) {
      const path = sockFor(family)!
      b = openBackend(path, `${family}:///${s.mode}`, s.readonly, conn)
      s.secondaries.set(family, b)
      b.catch(() => s.secondaries.delete(family))
    }
    return b
  }

  function replyError(conn: RpcConnection, p: Packet, err: unknown): void {
    const e = err instanceof VirError ? err : new VirError(ErrorCode.SYSTEM_ERROR, ErrorDomain.RPC, (err as Error).message)
    conn.sendRaw(
      buildErrorReply({prog: p.prog, vers: p.vers, proc: p.proc, type: MessageType.REPLY, serial: p.serial, status: MessageStatus.ERROR}, e),
    )
  }

  /** Passes one call on and sends the reply back under the client's serial. */
  function send(conn: RpcConnection, backend: RpcClient, p: Packet, fds: number[]): void {
    const done = conn.track()
    backend.forwardCall(
      p.buf,
      (err, reply) => {
        done()
        if (err || !reply) return replyError(conn, p, err)
        // The backend's reply as it is, under the client's serial.
        const out = Buffer.from(reply.packet)
        out.writeUInt32BE(p.serial, SERIAL_OFFSET)
        conn.sendRaw(out, reply.fds)
      },
      fds,
    )
    // Usually the backend answers within microseconds: read it now rather than via the event loop.
    backend.pollReplies(opts.busyPollUs ?? 0)
  }

  const familyCache = new Map<number, string | undefined>()

  function forward(conn: RpcConnection, p: Packet): void {
    let family = familyCache.get(p.proc)
    if (family === undefined && !familyCache.has(p.proc)) {
      family = secondaryFamily(remote.byNum.get(p.proc)?.name)
      familyCache.set(p.proc, family)
    }
    const s = st(conn)
    const fds = conn.takeFds() // a CALL_WITH_FDS's descriptors go on with it
    const ready = !family || family === s.primaryDriver ? s.primary : s.ready.get(family)
    if (ready) {
      send(conn, ready, p, fds)
      return
    }
    backendFor(conn, family).then(
      (backend) => {
        s.ready.set(family!, backend)
        send(conn, backend, p, fds)
      },
      (err: unknown) => {
        closeFds(fds)
        replyError(conn, p, err)
      },
    )
  }

  return {
    program: remote,
    forward: {local: new Set(local.defs().map((d) => d.num)), call: forward},
    handle: local.handle,
  }
}
