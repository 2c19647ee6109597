/**
 * What the REMOTE program's handler files share: the per-connection state, the driver of each API
 * family (with libvirt's error when the connection has none), and handle conversions.
 */
import {ErrorCode, ErrorDomain, VirError} from '../../errors.js'
import {remote, type DomainHandle} from '../../rpc/programs/remote.js'
import type {ProcDef} from '../../rpc/program.js'
import type {RpcConnection} from '../../rpc/server.js'
import type {HandlerResult} from '../../rpc/dispatch.js'
import type {SaslSettings} from '../auth-config.js'
import {uuidToBytes, uuidToString} from '../../uuid.js'
import type {DriverRegistry} from '../../drivers/registry.js'
import type {ConnectionDrivers, DomainRef, HypervisorDriver, NetworkDriver, SecretDriver, StorageDriver} from '../../drivers/types.js'

/** virsh/libvirt version we claim for CONNECT_GET_LIB_VERSION: 9.0.0, the protocol we speak. */
export const LIB_VERSION = 9000000n

/** Registers one procedure's handler. */
export type On = <A, R>(def: ProcDef<A, R>, fn: (conn: RpcConnection, args: A) => HandlerResult<R>) => void

/** Wraps one procedure's handler. */
export type HandlerGate = <A, R>(
  def: ProcDef<A, R>,
  fn: (conn: RpcConnection, args: A) => HandlerResult<R>,
) => (conn: RpcConnection, args: A) => HandlerResult<R>

export const P = remote.procs
export type EventKind = 'domain' | 'network' | 'pool' | 'secret'
/** libvirt's VIR_DOMAIN_EVENT_ID_* that vctl emits. */
export const DomainEventId = {LIFECYCLE: 0, REBOOT: 1, DEVICE_REMOVED: 15, DEVICE_ADDED: 19, DEVICE_REMOVAL_FAILED: 22} as const

export interface Callback {
  kind: EventKind
  eventID: number
  uuid?: string
  /** Registered through the old-style calls (events-legacy.ts): sent the old-style messages. */
  legacy?: true
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
  /** SASL's user database, allowed users and timeout (see ../auth-sasl.ts); without it SASL is refused. */
  sasl?: SaslSettings
  log?: (msg: string) => void
  /** Wraps each handler: the daemon holds calls until the drivers they need are set up (../startup-gate.ts). */
  gate?: HandlerGate
}

export function st(conn: RpcConnection): ConnState {
  return conn.state.remote as ConnState
}

/** The connection's driver of one API family, or libvirt's error naming what the connection lacks. */
function driverOf<K extends 'hypervisor' | 'network' | 'storage' | 'secret'>(
  conn: RpcConnection,
  key: K,
  domain: number,
  label: string,
): NonNullable<ConnectionDrivers[K]> {
  const d = st(conn).drivers[key]
  if (d) return d
  throw new VirError(ErrorCode.NO_SUPPORT, domain, `this function is not supported by the connection driver: no ${label} driver on this connection`)
}

export const hv = (conn: RpcConnection): HypervisorDriver => driverOf(conn, 'hypervisor', ErrorDomain.NONE, 'hypervisor')
export const netDrv = (conn: RpcConnection): NetworkDriver => driverOf(conn, 'network', ErrorDomain.NETWORK, 'network')
export const poolDrv = (conn: RpcConnection): StorageDriver => driverOf(conn, 'storage', ErrorDomain.STORAGE, 'storage')
export const secretDrv = (conn: RpcConnection): SecretDriver => driverOf(conn, 'secret', ErrorDomain.SECRET, 'secret')

export const toDom = (r: DomainRef): DomainHandle => ({name: r.name, uuid: uuidToBytes(r.uuid), id: r.id})
export const toObj = (r: {name: string; uuid: string}) => ({name: r.name, uuid: uuidToBytes(r.uuid)})
export const toSecret = (r: {uuid: string; usageType: number; usageID: string}) => ({
  uuid: uuidToBytes(r.uuid),
  usageType: r.usageType,
  usageID: r.usageID,
})
export const u = (h: {uuid: Buffer}) => uuidToString(h.uuid)
export const then = <T, R>(v: T | Promise<T>, f: (x: T) => R): R | Promise<R> => (v instanceof Promise ? v.then(f) : f(v))
