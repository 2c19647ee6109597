/**
 * The REMOTE program's server side: what each procedure does, in terms of the connection's
 * drivers. Codecs come from the program table; this file only maps calls to driver methods and
 * keeps per-connection event callbacks.
 */
import {ErrorCode, ErrorDomain, VirError} from '../errors.js'
import {remote, Feature, DOMAIN_EVENT_ID_MAX, type DomainHandle} from '../rpc/programs/remote.js'
import type {ProcDef} from '../rpc/program.js'
import {HandlerTable, type RpcConnection, type ServedProgram} from '../rpc/server.js'
import {TypedParamType, type TypedParam} from '../rpc/codec.js'
import {uuidToBytes, uuidToString} from '../uuid.js'
import type {DriverRegistry} from '../drivers/registry.js'
import type {
  ConnectionDrivers,
  DomainEventMsg,
  DomainRef,
  DomainStats,
  HypervisorDriver,
  NetworkDriver,
  ObjectEventMsg,
  SecretDriver,
  SecretRef,
  StorageDriver,
} from '../drivers/types.js'

/** virsh/libvirt version we claim for CONNECT_GET_LIB_VERSION: 9.0.0, the protocol we speak. */
export const LIB_VERSION = 9000000n

const P = remote.procs
type EventKind = 'domain' | 'network' | 'pool' | 'secret'

interface Callback {
  kind: EventKind
  eventID: number
  uuid?: string
}

interface ConnState {
  drivers: ConnectionDrivers
  callbacks: Map<number, Callback>
  nextCallback: number
  detach: Array<() => void>
}

export interface RemoteOptions {
  registry: Pick<DriverRegistry, 'open'>
  /** Whether the listener is a secure channel (UNIX, TLS). */
  isSecure: (conn: RpcConnection) => boolean
  /** Auth scheme of the connection's listener (AuthType: none, sasl, polkit). */
  authType: (conn: RpcConnection) => number
  log?: (msg: string) => void
}

function st(conn: RpcConnection): ConnState {
  return conn.state.remote as ConnState
}

function hv(conn: RpcConnection): HypervisorDriver {
  const h = st(conn).drivers.hypervisor
  if (!h)
    throw new VirError(
      ErrorCode.NO_SUPPORT,
      ErrorDomain.NONE,
      'this function is not supported by the connection driver: no hypervisor driver on this connection',
    )
  return h
}

function netDrv(conn: RpcConnection): NetworkDriver {
  const n = st(conn).drivers.network
  if (!n)
    throw new VirError(
      ErrorCode.NO_SUPPORT,
      ErrorDomain.NETWORK,
      'this function is not supported by the connection driver: no network driver on this connection',
    )
  return n
}

function poolDrv(conn: RpcConnection): StorageDriver {
  const s = st(conn).drivers.storage
  if (!s)
    throw new VirError(
      ErrorCode.NO_SUPPORT,
      ErrorDomain.STORAGE,
      'this function is not supported by the connection driver: no storage driver on this connection',
    )
  return s
}

function secretDrv(conn: RpcConnection): SecretDriver {
  const s = st(conn).drivers.secret
  if (!s)
    throw new VirError(
      ErrorCode.NO_SUPPORT,
      ErrorDomain.SECRET,
      'this function is not supported by the connection driver: no secret driver on this connection',
    )
  return s
}

const toDom = (r: DomainRef): DomainHandle => ({name: r.name, uuid: uuidToBytes(r.uuid), id: r.id})
const toObj = (r: {name: string; uuid: string}) => ({name: r.name, uuid: uuidToBytes(r.uuid)})
const toSecret = (r: {uuid: string; usageType: number; usageID: string}) => ({uuid: uuidToBytes(r.uuid), usageType: r.usageType, usageID: r.usageID})
const u = (h: {uuid: Buffer}) => uuidToString(h.uuid)
const then = <T, R>(v: T | Promise<T>, f: (x: T) => R): R | Promise<R> => (v instanceof Promise ? v.then(f) : f(v))

/** Auth schemes as AUTH_LIST names them (remote_auth_type). */
export const AuthType = {NONE: 0, SASL: 1, POLKIT: 2} as const

/** virConnectFlags: the connection is read-only. */
export const CONNECT_RO = 1
/** virDomainXMLFlags a read-only connection may not ask for: SECURE, MIGRATABLE. */
const DOMAIN_XML_RO_DENIED = 1 | 8
/** virConnectListAllDomainsFlags: active, inactive. */
const LIST_DOMAINS_ACTIVE = 1
const LIST_DOMAINS_INACTIVE = 2
/** virConnectListAllNetworksFlags and ...StoragePoolsFlags have them the other way round. */
const LIST_NET_INACTIVE = 1
const LIST_NET_ACTIVE = 2
const LIST_POOLS_INACTIVE = 1
const LIST_POOLS_ACTIVE = 2
/** Number of event IDs (VIR_*_EVENT_ID_LAST) of networks, storage pools and secrets. */
const NETWORK_EVENT_ID_LAST = 2
const STORAGE_POOL_EVENT_ID_LAST = 2
const SECRET_EVENT_ID_LAST = 2
/** Event IDs: lifecycle (every kind), reboot (domains), value changed (secrets). */
const EVENT_ID_LIFECYCLE = 0
const DOMAIN_EVENT_ID_REBOOT = 1
const SECRET_EVENT_ID_VALUE_CHANGED = 1

const STAT_TYPE = {
  int: TypedParamType.INT,
  uint: TypedParamType.UINT,
  llong: TypedParamType.LLONG,
  ullong: TypedParamType.ULLONG,
  boolean: TypedParamType.BOOLEAN,
  string: TypedParamType.STRING,
} as const

function statToWire(p: DomainStats['params'][number]): TypedParam {
  const type = STAT_TYPE[p.type]
  switch (type) {
    case TypedParamType.INT:
    case TypedParamType.UINT:
      return {field: p.field, type, value: Number(p.value)}
    case TypedParamType.LLONG:
    case TypedParamType.ULLONG:
      return {field: p.field, type, value: BigInt(p.value)}
    case TypedParamType.BOOLEAN:
      return {field: p.field, type, value: Boolean(p.value)}
    case TypedParamType.STRING:
      return {field: p.field, type, value: String(p.value)}
  }
}

function statsToWire(s: DomainStats): {dom: DomainHandle; params: TypedParam[]} {
  return {dom: toDom(s.ref), params: s.params.map(statToWire)}
}

export function createRemoteProgram(opts: RemoteOptions): ServedProgram {
  const handlers = new HandlerTable()
  function on<A, R>(def: ProcDef<A, R>, fn: (conn: RpcConnection, args: A) => R | Promise<R>): void {
    handlers.on(def, fn)
  }

  // ---- connection ----
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
      case Feature.REMOTE_EVENT_CALLBACK:
      case Feature.REMOTE_CLOSE_CALLBACK:
      case Feature.TYPED_PARAM_STRING:
      case Feature.NETWORK_UPDATE_HAS_CORRECT_ORDER:
        return {supported: 1}
      default:
        return {supported: 0}
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
  on(P.CONNECT_REGISTER_CLOSE_CALLBACK, () => undefined)
  on(P.CONNECT_UNREGISTER_CLOSE_CALLBACK, () => undefined)

  // ---- domains ----
  on(P.CONNECT_LIST_ALL_DOMAINS, (conn, {need_results, flags}) => {
    const list = hv(conn).listDomains(flags)
    return {domains: need_results ? list.map(toDom) : [], ret: list.length}
  })
  on(P.CONNECT_NUM_OF_DOMAINS, (conn) => ({num: hv(conn).numOfDomains(true)}))
  on(P.CONNECT_NUM_OF_DEFINED_DOMAINS, (conn) => ({num: hv(conn).numOfDomains(false)}))
  on(P.CONNECT_LIST_DOMAINS, (conn, {maxids}) => ({
    ids: hv(conn)
      .listDomains(LIST_DOMAINS_ACTIVE)
      .map((d) => d.id)
      .slice(0, Math.max(0, maxids)),
  }))
  on(P.CONNECT_LIST_DEFINED_DOMAINS, (conn, {maxnames}) => ({
    names: hv(conn)
      .listDomains(LIST_DOMAINS_INACTIVE)
      .map((d) => d.name)
      .slice(0, Math.max(0, maxnames)),
  }))
  on(P.DOMAIN_LOOKUP_BY_ID, (conn, {id}) => ({dom: toDom(hv(conn).lookupById(id))}))
  on(P.DOMAIN_LOOKUP_BY_NAME, (conn, {name}) => ({dom: toDom(hv(conn).lookupByName(name))}))
  on(P.DOMAIN_LOOKUP_BY_UUID, (conn, {uuid}) => ({dom: toDom(hv(conn).lookupByUuid(uuidToString(uuid)))}))
  on(P.DOMAIN_DEFINE_XML, (conn, {xml}) => then(hv(conn).defineXML(xml, 0), (r) => ({dom: toDom(r)})))
  on(P.DOMAIN_DEFINE_XML_FLAGS, (conn, {xml, flags}) => then(hv(conn).defineXML(xml, flags), (r) => ({dom: toDom(r)})))
  on(P.DOMAIN_CREATE_XML, (conn, {xml_desc, flags}) => then(hv(conn).createXML(xml_desc, flags), (r) => ({dom: toDom(r)})))
  on(P.DOMAIN_CREATE, (conn, {dom}) => then(hv(conn).create(u(dom), 0), () => undefined))
  on(P.DOMAIN_CREATE_WITH_FLAGS, (conn, {dom, flags}) => then(hv(conn).create(u(dom), flags), (r) => ({dom: toDom(r)})))
  on(P.DOMAIN_DESTROY, (conn, {dom}) => hv(conn).destroy(u(dom), 0))
  on(P.DOMAIN_DESTROY_FLAGS, (conn, {dom, flags}) => hv(conn).destroy(u(dom), flags))
  on(P.DOMAIN_SHUTDOWN, (conn, {dom}) => hv(conn).shutdown(u(dom), 0))
  on(P.DOMAIN_SHUTDOWN_FLAGS, (conn, {dom, flags}) => hv(conn).shutdown(u(dom), flags))
  on(P.DOMAIN_REBOOT, (conn, {dom, flags}) => hv(conn).reboot(u(dom), flags))
  on(P.DOMAIN_RESET, (conn, {dom}) => hv(conn).reset(u(dom)))
  on(P.DOMAIN_SUSPEND, (conn, {dom}) => hv(conn).suspend(u(dom)))
  on(P.DOMAIN_RESUME, (conn, {dom}) => hv(conn).resume(u(dom)))
  on(P.DOMAIN_UNDEFINE, (conn, {dom}) => hv(conn).undefine(u(dom), 0))
  on(P.DOMAIN_UNDEFINE_FLAGS, (conn, {dom, flags}) => hv(conn).undefine(u(dom), flags))
  on(P.DOMAIN_GET_XML_DESC, (conn, {dom, flags}) => {
    if (conn.readonly && flags & DOMAIN_XML_RO_DENIED) {
      const detail = 'virDomainGetXMLDesc with secure flag'
      throw new VirError(ErrorCode.OPERATION_DENIED, ErrorDomain.DOMAIN, `operation forbidden: ${detail}`, {
        str1: 'operation forbidden: %s',
        str2: detail,
      })
    }
    return {xml: hv(conn).getXMLDesc(u(dom), flags)}
  })
  on(P.DOMAIN_GET_INFO, (conn, {dom}) =>
    then(hv(conn).getInfo(u(dom)), (i) => ({state: i.state, maxMem: i.maxMemKiB, memory: i.memoryKiB, nrVirtCpu: i.nrVirtCpu, cpuTime: i.cpuTimeNs})),
  )
  on(P.DOMAIN_GET_STATE, (conn, {dom}) => hv(conn).getState(u(dom)))
  on(P.DOMAIN_GET_OS_TYPE, (conn, {dom}) => ({type: hv(conn).getOSType(u(dom))}))
  on(P.DOMAIN_GET_MAX_MEMORY, (conn, {dom}) => ({memory: hv(conn).getMaxMemory(u(dom))}))
  on(P.DOMAIN_GET_MAX_VCPUS, (conn, {dom}) => ({num: hv(conn).domainGetMaxVcpus(u(dom))}))
  on(P.DOMAIN_GET_AUTOSTART, (conn, {dom}) => ({autostart: hv(conn).getAutostart(u(dom)) ? 1 : 0}))
  on(P.DOMAIN_SET_AUTOSTART, (conn, {dom, autostart}) => hv(conn).setAutostart(u(dom), autostart !== 0))
  on(P.DOMAIN_IS_ACTIVE, (conn, {dom}) => ({active: hv(conn).isActive(u(dom)) ? 1 : 0}))
  on(P.DOMAIN_IS_PERSISTENT, (conn, {dom}) => ({persistent: hv(conn).isPersistent(u(dom)) ? 1 : 0}))
  on(P.DOMAIN_IS_UPDATED, (conn, {dom}) => ({updated: hv(conn).isUpdated(u(dom)) ? 1 : 0}))
  on(P.DOMAIN_HAS_MANAGED_SAVE_IMAGE, (conn, {dom}) => ({result: hv(conn).hasManagedSave(u(dom)) ? 1 : 0}))
  on(P.DOMAIN_SNAPSHOT_NUM, (conn, {dom}) => {
    hv(conn).lookupByUuid(u(dom))
    return {num: 0}
  })
  on(P.DOMAIN_GET_SECURITY_LABEL, (conn, {dom}) => {
    hv(conn).lookupByUuid(u(dom))
    return {label: '', enforcing: 0}
  })
  on(P.DOMAIN_GET_MESSAGES, (conn, {dom}) => ({msgs: hv(conn).getMessages(u(dom))}))
  on(P.CONNECT_GET_ALL_DOMAIN_STATS, (conn, {doms, flags}) => {
    const refs = doms.length ? doms.map((d) => ({name: d.name, uuid: u(d), id: d.id})) : null
    return then(hv(conn).getStats(refs, flags), (list) => ({retStats: list.map(statsToWire)}))
  })

  // ---- networks ----
  on(P.CONNECT_LIST_ALL_NETWORKS, (conn, {need_results, flags}) => {
    const list = netDrv(conn).listNetworks(flags)
    return {nets: need_results ? list.map(toObj) : [], ret: list.length}
  })
  on(P.CONNECT_NUM_OF_NETWORKS, (conn) => ({num: netDrv(conn).numOfNetworks(true)}))
  on(P.CONNECT_NUM_OF_DEFINED_NETWORKS, (conn) => ({num: netDrv(conn).numOfNetworks(false)}))
  on(P.CONNECT_LIST_NETWORKS, (conn, {maxnames}) => ({
    names: netDrv(conn)
      .listNetworks(LIST_NET_ACTIVE)
      .map((n) => n.name)
      .slice(0, Math.max(0, maxnames)),
  }))
  on(P.CONNECT_LIST_DEFINED_NETWORKS, (conn, {maxnames}) => ({
    names: netDrv(conn)
      .listNetworks(LIST_NET_INACTIVE)
      .map((n) => n.name)
      .slice(0, Math.max(0, maxnames)),
  }))
  on(P.NETWORK_LOOKUP_BY_NAME, (conn, {name}) => ({net: toObj(netDrv(conn).lookupNetworkByName(name))}))
  on(P.NETWORK_LOOKUP_BY_UUID, (conn, {uuid}) => ({net: toObj(netDrv(conn).lookupNetworkByUuid(uuidToString(uuid)))}))
  on(P.NETWORK_DEFINE_XML, (conn, {xml}) => then(netDrv(conn).networkDefineXML(xml), (r) => ({net: toObj(r)})))
  on(P.NETWORK_DEFINE_XML_FLAGS, (conn, {xml}) => then(netDrv(conn).networkDefineXML(xml), (r) => ({net: toObj(r)})))
  on(P.NETWORK_CREATE_XML, (conn, {xml}) => then(netDrv(conn).networkCreateXML(xml), (r) => ({net: toObj(r)})))
  on(P.NETWORK_CREATE_XML_FLAGS, (conn, {xml}) => then(netDrv(conn).networkCreateXML(xml), (r) => ({net: toObj(r)})))
  on(P.NETWORK_CREATE, (conn, {net}) => netDrv(conn).networkCreate(u(net)))
  on(P.NETWORK_DESTROY, (conn, {net}) => netDrv(conn).networkDestroy(u(net)))
  on(P.NETWORK_UNDEFINE, (conn, {net}) => netDrv(conn).networkUndefine(u(net)))
  on(P.NETWORK_GET_XML_DESC, (conn, {net, flags}) => ({xml: netDrv(conn).networkGetXMLDesc(u(net), flags)}))
  on(P.NETWORK_GET_BRIDGE_NAME, (conn, {net}) => ({name: netDrv(conn).networkGetBridgeName(u(net))}))
  on(P.NETWORK_GET_AUTOSTART, (conn, {net}) => ({autostart: netDrv(conn).networkGetAutostart(u(net)) ? 1 : 0}))
  on(P.NETWORK_SET_AUTOSTART, (conn, {net, autostart}) => netDrv(conn).networkSetAutostart(u(net), autostart !== 0))
  on(P.NETWORK_IS_ACTIVE, (conn, {net}) => ({active: netDrv(conn).networkIsActive(u(net)) ? 1 : 0}))
  on(P.NETWORK_IS_PERSISTENT, (conn, {net}) => ({persistent: netDrv(conn).networkIsPersistent(u(net)) ? 1 : 0}))

  // ---- storage pools ----
  on(P.CONNECT_LIST_ALL_STORAGE_POOLS, (conn, {need_results, flags}) => {
    const list = poolDrv(conn).listPools(flags)
    return {pools: need_results ? list.map(toObj) : [], ret: list.length}
  })
  on(P.CONNECT_NUM_OF_STORAGE_POOLS, (conn) => ({num: poolDrv(conn).numOfPools(true)}))
  on(P.CONNECT_NUM_OF_DEFINED_STORAGE_POOLS, (conn) => ({num: poolDrv(conn).numOfPools(false)}))
  on(P.CONNECT_LIST_STORAGE_POOLS, (conn, {maxnames}) => ({
    names: poolDrv(conn)
      .listPools(LIST_POOLS_ACTIVE)
      .map((n) => n.name)
      .slice(0, Math.max(0, maxnames)),
  }))
  on(P.CONNECT_LIST_DEFINED_STORAGE_POOLS, (conn, {maxnames}) => ({
    names: poolDrv(conn)
      .listPools(LIST_POOLS_INACTIVE)
      .map((n) => n.name)
      .slice(0, Math.max(0, maxnames)),
  }))
  on(P.STORAGE_POOL_LOOKUP_BY_NAME, (conn, {name}) => ({pool: toObj(poolDrv(conn).lookupPoolByName(name))}))
  on(P.STORAGE_POOL_LOOKUP_BY_UUID, (conn, {uuid}) => ({pool: toObj(poolDrv(conn).lookupPoolByUuid(uuidToString(uuid)))}))
  on(P.STORAGE_POOL_DEFINE_XML, (conn, {xml, flags}) => then(poolDrv(conn).poolDefineXML(xml, flags), (r) => ({pool: toObj(r)})))
  on(P.STORAGE_POOL_CREATE_XML, (conn, {xml, flags}) => then(poolDrv(conn).poolCreateXML(xml, flags), (r) => ({pool: toObj(r)})))
  on(P.STORAGE_POOL_CREATE, (conn, {pool, flags}) => poolDrv(conn).poolCreate(u(pool), flags))
  on(P.STORAGE_POOL_BUILD, (conn, {pool, flags}) => poolDrv(conn).poolBuild(u(pool), flags))
  on(P.STORAGE_POOL_DESTROY, (conn, {pool}) => poolDrv(conn).poolDestroy(u(pool)))
  on(P.STORAGE_POOL_UNDEFINE, (conn, {pool}) => poolDrv(conn).poolUndefine(u(pool)))
  on(P.STORAGE_POOL_REFRESH, (conn, {pool, flags}) => poolDrv(conn).poolRefresh(u(pool), flags))
  on(P.STORAGE_POOL_GET_INFO, (conn, {pool}) => poolDrv(conn).poolGetInfo(u(pool)))
  on(P.STORAGE_POOL_GET_XML_DESC, (conn, {pool, flags}) => ({xml: poolDrv(conn).poolGetXMLDesc(u(pool), flags)}))
  on(P.STORAGE_POOL_GET_AUTOSTART, (conn, {pool}) => ({autostart: poolDrv(conn).poolGetAutostart(u(pool)) ? 1 : 0}))
  on(P.STORAGE_POOL_SET_AUTOSTART, (conn, {pool, autostart}) => poolDrv(conn).poolSetAutostart(u(pool), autostart !== 0))
  on(P.STORAGE_POOL_IS_ACTIVE, (conn, {pool}) => ({active: poolDrv(conn).poolIsActive(u(pool)) ? 1 : 0}))
  on(P.STORAGE_POOL_IS_PERSISTENT, (conn, {pool}) => ({persistent: poolDrv(conn).poolIsPersistent(u(pool)) ? 1 : 0}))
  on(P.STORAGE_POOL_NUM_OF_VOLUMES, (conn, {pool}) => ({num: poolDrv(conn).poolListVolumes(u(pool)).length}))
  on(P.STORAGE_POOL_LIST_VOLUMES, (conn, {pool, maxnames}) => ({names: poolDrv(conn).poolListVolumes(u(pool)).slice(0, Math.max(0, maxnames))}))

  // ---- secrets ----
  on(P.CONNECT_LIST_ALL_SECRETS, (conn, {need_results, flags}) => {
    const list = secretDrv(conn).listSecrets(flags)
    return {secrets: need_results ? list.map(toSecret) : [], ret: list.length}
  })
  on(P.CONNECT_NUM_OF_SECRETS, (conn) => ({num: secretDrv(conn).listSecrets(0).length}))
  on(P.SECRET_LOOKUP_BY_UUID, (conn, {uuid}) => ({secret: toSecret(secretDrv(conn).lookupSecretByUuid(uuidToString(uuid)))}))
  on(P.SECRET_LOOKUP_BY_USAGE, (conn, {usageType, usageID}) => ({secret: toSecret(secretDrv(conn).lookupSecretByUsage(usageType, usageID))}))
  on(P.SECRET_DEFINE_XML, (conn, {xml, flags}) => then(secretDrv(conn).secretDefineXML(xml, flags), (r) => ({secret: toSecret(r)})))
  on(P.SECRET_GET_XML_DESC, (conn, {secret, flags}) => ({xml: secretDrv(conn).secretGetXMLDesc(u(secret), flags)}))
  on(P.SECRET_SET_VALUE, (conn, {secret, value, flags}) => secretDrv(conn).secretSetValue(u(secret), value, flags))
  on(P.SECRET_GET_VALUE, (conn, {secret, flags}) => ({value: secretDrv(conn).secretGetValue(u(secret), flags, false)}))
  on(P.SECRET_UNDEFINE, (conn, {secret}) => secretDrv(conn).secretUndefine(u(secret)))

  // ---- events ----
  const register =
    (kind: EventKind, max: number) =>
    (conn: RpcConnection, {eventID, handle}: {eventID: number; handle: {uuid: Buffer} | null}) => {
      if (eventID < 0 || eventID >= max) {
        throw new VirError(ErrorCode.INVALID_ARG, ErrorDomain.RPC, `invalid argument: unsupported event ID ${eventID}`)
      }
      const s = st(conn)
      ensureSubscribed(conn, kind)
      const id = s.nextCallback++
      s.callbacks.set(id, {kind, eventID, uuid: handle ? uuidToString(handle.uuid) : undefined})
      return {callbackID: id}
    }
  const deregister =
    (kind: EventKind) =>
    (conn: RpcConnection, {callbackID}: {callbackID: number}) => {
      const s = st(conn)
      const cb = s.callbacks.get(callbackID)
      if (!cb || cb.kind !== kind) {
        throw new VirError(ErrorCode.INVALID_ARG, ErrorDomain.RPC, `invalid argument: callback ${callbackID} not registered`)
      }
      s.callbacks.delete(callbackID)
    }
  on(P.CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY, register('domain', DOMAIN_EVENT_ID_MAX))
  on(P.CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY, deregister('domain'))
  on(P.CONNECT_NETWORK_EVENT_REGISTER_ANY, register('network', NETWORK_EVENT_ID_LAST))
  on(P.CONNECT_NETWORK_EVENT_DEREGISTER_ANY, deregister('network'))
  on(P.CONNECT_STORAGE_POOL_EVENT_REGISTER_ANY, register('pool', STORAGE_POOL_EVENT_ID_LAST))
  on(P.CONNECT_STORAGE_POOL_EVENT_DEREGISTER_ANY, deregister('pool'))
  on(P.CONNECT_SECRET_EVENT_REGISTER_ANY, register('secret', SECRET_EVENT_ID_LAST))
  on(P.CONNECT_SECRET_EVENT_DEREGISTER_ANY, deregister('secret'))

  function ensureSubscribed(conn: RpcConnection, kind: EventKind): void {
    const s = st(conn)
    const key = `sub_${kind}`
    if (conn.state[key]) return
    const source =
      kind === 'domain'
        ? s.drivers.hypervisor?.events
        : kind === 'network'
          ? s.drivers.network?.events
          : kind === 'pool'
            ? s.drivers.storage?.events
            : s.drivers.secret?.events
    if (!source) return
    conn.state[key] = true
    const emitterEvent = kind === 'domain' ? 'domain' : kind
    const listener = (msg: DomainEventMsg | ObjectEventMsg) => deliver(conn, kind, msg)
    source.on(emitterEvent, listener)
    s.detach.push(() => source.off(emitterEvent, listener))
    if (kind === 'secret') {
      const onValue = (msg: {ref: {uuid: string; usageType: number; usageID: string}}) => {
        for (const [id, cb] of s.callbacks) {
          if (cb.kind !== 'secret' || cb.eventID !== SECRET_EVENT_ID_VALUE_CHANGED || (cb.uuid && cb.uuid !== msg.ref.uuid)) continue
          conn.sendEvent(remote, remote.events.SECRET_EVENT_VALUE_CHANGED, {callbackID: id, secret: toSecret(msg.ref)})
        }
      }
      source.on('secret-value', onValue)
      s.detach.push(() => source.off('secret-value', onValue))
    }
  }

  function deliver(conn: RpcConnection, kind: EventKind, msg: DomainEventMsg | ObjectEventMsg): void {
    const s = st(conn)
    for (const [id, cb] of s.callbacks) {
      if (cb.kind !== kind) continue
      if (kind === 'domain') {
        const m = msg as DomainEventMsg
        if (cb.uuid && cb.uuid !== m.dom.uuid) continue
        if (m.kind === 'lifecycle' && cb.eventID === EVENT_ID_LIFECYCLE) {
          conn.sendEvent(remote, remote.events.DOMAIN_EVENT_CALLBACK_LIFECYCLE, {callbackID: id, dom: toDom(m.dom), event: m.event, detail: m.detail})
        } else if (m.kind === 'reboot' && cb.eventID === DOMAIN_EVENT_ID_REBOOT) {
          conn.sendEvent(remote, remote.events.DOMAIN_EVENT_CALLBACK_REBOOT, {callbackID: id, dom: toDom(m.dom)})
        }
        continue
      }
      const m = msg as ObjectEventMsg
      if (cb.eventID !== EVENT_ID_LIFECYCLE || (cb.uuid && cb.uuid !== m.ref.uuid)) continue
      if (kind === 'network') {
        conn.sendEvent(remote, remote.events.NETWORK_EVENT_LIFECYCLE, {callbackID: id, net: toObj(m.ref), event: m.event, detail: m.detail})
      } else if (kind === 'pool') {
        conn.sendEvent(remote, remote.events.STORAGE_POOL_EVENT_LIFECYCLE, {callbackID: id, pool: toObj(m.ref), event: m.event, detail: m.detail})
      } else {
        conn.sendEvent(remote, remote.events.SECRET_EVENT_LIFECYCLE, {
          callbackID: id,
          secret: toSecret(m.ref as ObjectEventMsg['ref'] & SecretRef),
          event: m.event,
          detail: m.detail,
        })
      }
    }
  }

  return {program: remote, handle: handlers.handle}
}
