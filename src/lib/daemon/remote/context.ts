/**
 * What the REMOTE program's handler files share: the per-connection state, the driver of each API
 * family (with libvirt's error when the connection has none), and handle conversions.
 */
import {ErrorCode, ErrorDomain, VirError} from '../../errors.js'
import {remote, type DomainHandle} from '../../rpc/programs/remote.js'
import type {ProcDef} from '../../rpc/program.js'
import type {RpcConnection} from '../../rpc/server.js'
import type {HandlerResult} from '../../rpc/dispatch.js'
import {uuidToBytes, uuidToString} from '../../uuid.js'
import type {DriverRegistry} from '../../drivers/registry.js'
import type {ConnectionDrivers, DomainRef, HypervisorDriver, NetworkDriver, SecretDriver, StorageDriver} from '../../drivers/types.js'

/** virsh/libvirt version we claim for CONNECT_GET_LIB_VERSION: 9.0.0, the protocol we speak. */
export const LIB_VERSION = 9000000n

/** Registers one procedure's handler. */
export type On = <A, R>(def: ProcDef<A, R>, fn: (conn: RpcConnection, args: A) => HandlerResult<R>) => void

export const P = remote.procs
export type EventKind = 'domain' | 'network' | 'pool' | 'secret'

export interface Callback {
  kind: EventKind
  eventID: number
  uuid?: string
}

export interface ConnState {
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

export function st(conn: RpcConnection): ConnState {
  return conn.state.remote as ConnState
}

export function hv(conn: RpcConnection): HypervisorDriver {
  const h = st(conn).drivers.hypervisor
  if (!h)
    throw new VirError(
      ErrorCode.NO_SUPPORT,
      ErrorDomain.NONE,
      'this function is not supported by the connection driver: no hypervisor driver on this connection',
    )
  return h
}

export function netDrv(conn: RpcConnection): NetworkDriver {
  const n = st(conn).drivers.network
  if (!n)
    throw new VirError(
      ErrorCode.NO_SUPPORT,
      ErrorDomain.NETWORK,
      'this function is not supported by the connection driver: no network driver on this connection',
    )
  return n
}

export function poolDrv(conn: RpcConnection): StorageDriver {
  const s = st(conn).drivers.storage
  if (!s)
    throw new VirError(
      ErrorCode.NO_SUPPORT,
      ErrorDomain.STORAGE,
      'this function is not supported by the connection driver: no storage driver on this connection',
    )
  return s
}

export function secretDrv(conn: RpcConnection): SecretDriver {
  const s = st(conn).drivers.secret
  if (!s)
    throw new VirError(
      ErrorCode.NO_SUPPORT,
      ErrorDomain.SECRET,
      'this function is not supported by the connection driver: no secret driver on this connection',
    )
  return s
}

export const toDom = (r: DomainRef): DomainHandle => ({name: r.name, uuid: uuidToBytes(r.uuid), id: r.id})
export const toObj = (r: {name: string; uuid: string}) => ({name: r.name, uuid: uuidToBytes(r.uuid)})
export const toSecret = (r: {uuid: string; usageType: number; usageID: string}) => ({
  uuid: uuidToBytes(r.uuid),
  usageType: r.usageType,
  usageID: r.usageID,
})
export const u = (h: {uuid: Buffer}) => uuidToString(h.uuid)
export const then = <T, R>(v: T | Promise<T>, f: (x: T) => R): R | Promise<R> => (v instanceof Promise ? v.then(f) : f(v))
