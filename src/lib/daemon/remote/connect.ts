/** The REMOTE handlers of the connection, authentication and the host. */
import {ErrorCode, ErrorDomain, VirError, errors} from '../../errors.js'
import {Feature} from '../../rpc/programs/remote.js'
import {P, LIB_VERSION, st, hv, then, type On, type ConnState, type RemoteOptions} from './context.js'

/** Auth schemes as AUTH_LIST names them (remote_auth_type). */
export const AuthType = {NONE: 0, SASL: 1, POLKIT: 2} as const

/** virConnectFlags: the connection is read-only. */
export const CONNECT_RO = 1

export function registerConnect(on: On, opts: RemoteOptions): void {
  on(P.AUTH_LIST, (conn) => {
    const type = opts.authType(conn)
    if (type === AuthType.NONE) conn.authenticated = true
    return {types: [type]}
  })
  on(P.AUTH_POLKIT, (conn) => {
    // Polkit on this daemon admits root peers only; everyone else is refused.
    if (conn.authenticated) return {complete: 1}
    throw new VirError(ErrorCode.AUTH_FAILED, ErrorDomain.POLKIT, 'authentication failed: access denied by policy')
  })
  on(P.CONNECT_SUPPORTS_FEATURE, (conn, {feature}) => {
    switch (feature) {
      case Feature.PROGRAM_KEEPALIVE:
        conn.enableKeepalive()
        return {supported: 1}
      case Feature.FD_PASSING: // libvirtd answers 1 on every transport; a TCP/TLS client then refuses REPLY_WITH_FDS itself
      case Feature.REMOTE_EVENT_CALLBACK:
      case Feature.REMOTE_CLOSE_CALLBACK:
      case Feature.TYPED_PARAM_STRING:
      case Feature.NETWORK_UPDATE_HAS_CORRECT_ORDER:
        return {supported: 1}
      default:
        return {supported: (conn.state.remote as ConnState | undefined)?.drivers.hypervisor?.migration?.supportsFeature(feature) ? 1 : 0}
    }
  })
  on(P.CONNECT_OPEN, async (conn, {name, flags}) => {
    if (conn.opened) throw new VirError(ErrorCode.INTERNAL_ERROR, ErrorDomain.RPC, 'internal error: connection already open')
    const drivers = await opts.registry.open(name)
    if (flags & CONNECT_RO) conn.readonly = true
    conn.state.remote = {drivers, callbacks: new Map(), nextCallback: 0, detach: []} satisfies ConnState
    conn.opened = true
    conn.onClose(() => {
      for (const fn of st(conn).detach.splice(0)) fn()
    })
  })
  on(P.CONNECT_CLOSE, () => undefined)
  on(P.CONNECT_GET_URI, (conn) => ({uri: st(conn).drivers.uri}))
  on(P.CONNECT_GET_TYPE, (conn) => ({type: st(conn).drivers.hypervisor?.type ?? 'TEST'}))
  on(P.CONNECT_GET_VERSION, (conn) => ({hv_ver: hv(conn).getVersion()}))
  on(P.CONNECT_GET_LIB_VERSION, () => ({lib_ver: LIB_VERSION}))
  on(P.CONNECT_GET_HOSTNAME, (conn) => ({hostname: hv(conn).getHostname()}))
  on(P.CONNECT_GET_CAPABILITIES, (conn) => then(hv(conn).getCapabilities(), (capabilities) => ({capabilities})))
  on(P.CONNECT_GET_DOMAIN_CAPABILITIES, (conn, args) => then(hv(conn).getDomainCapabilities(args), (capabilities) => ({capabilities})))
  on(P.CONNECT_GET_MAX_VCPUS, (conn, {type}) => ({max_vcpus: hv(conn).getMaxVcpus(type)}))
  on(P.CONNECT_IS_SECURE, (conn) => ({secure: opts.isSecure(conn) ? 1 : 0}))
  on(P.NODE_GET_INFO, (conn) => {
    const n = hv(conn).nodeInfo()
    return {model: n.model, memory: n.memoryKiB, cpus: n.cpus, mhz: n.mhz, nodes: n.nodes, sockets: n.sockets, cores: n.cores, threads: n.threads}
  })
  on(P.NODE_GET_FREE_MEMORY, (conn) => ({freeMem: hv(conn).nodeFreeMemory()}))
  on(P.NODE_GET_SECURITY_MODEL, (conn) => hv(conn).securityModel())
  on(P.NODE_GET_MEMORY_STATS, (conn, {nparams, cellNum, flags}) => {
    // REMOTE_NODE_MEMORY_STATS_MAX, as libvirtd's dispatcher checks it.
    if (nparams > 16) throw errors.internal(ErrorDomain.RPC, 'nparams too large')
    const h = hv(conn)
    if (!h.nodeMemoryStats) {
      throw new VirError(ErrorCode.NO_SUPPORT, ErrorDomain.NONE, 'this function is not supported by the connection driver: virNodeGetMemoryStats')
    }
    return h.nodeMemoryStats(cellNum, nparams, flags)
  })
  on(P.CONNECT_REGISTER_CLOSE_CALLBACK, () => undefined)
  on(P.CONNECT_UNREGISTER_CLOSE_CALLBACK, () => undefined)
}
