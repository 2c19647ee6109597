/**
 * Old-style domain event registrations (CONNECT_DOMAIN_EVENT_REGISTER, _REGISTER_ANY and their deregistrations),
 * which a client uses when it does not see VIR_DRV_FEATURE_REMOTE_EVENT_CALLBACK, and the old-style MESSAGE
 * procedures libvirtd 9.0 sends them: the event's data without a callback ID. Only event IDs up to
 * VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED can be registered this way; each of them has its old-style message.
 * Registrations of both styles share the connection's callback list, IDs and duplicate check, as in libvirtd.
 */
import {ErrorCode, ErrorDomain, VirError} from '../../errors.js'
import {remote} from '../../rpc/programs/remote.js'
import type {RpcConnection} from '../../rpc/server.js'
import type {DomainEventMsg} from '../../drivers/types.js'
import type {DeviceEventMsg} from '../../drivers/hotplug-types.js'
import {DomainEventId, P, st, toDom, type ConnState, type EventKind, type On} from './context.js'

/** The last event ID an old-style registration accepts. */
const ID_LAST_LEGACY = DomainEventId.DEVICE_REMOVED

const internal = (msg: string) => new VirError(ErrorCode.INTERNAL_ERROR, ErrorDomain.RPC, `internal error: ${msg}`)

/**
 * libvirt's virObjectEventCallbackListAddID refuses a second registration of one event ID with the same object
 * filter on a connection, whatever its style ("event callback already tracked", VIR_FROM_NONE).
 */
export function checkNotTracked(s: ConnState, kind: EventKind, eventID: number, uuid: string | undefined): void {
  for (const cb of s.callbacks.values()) {
    if (cb.kind === kind && cb.eventID === eventID && cb.uuid === uuid) {
      throw new VirError(ErrorCode.INVALID_ARG, ErrorDomain.NONE, 'invalid argument: event callback already tracked')
    }
  }
}

/** Registers the old-style calls; `subscribe` starts the delivery of the driver's domain events to the connection. */
export function registerLegacyEvents(on: On, subscribe: (conn: RpcConnection) => void): void {
  const add = (conn: RpcConnection, eventID: number) => {
    const s = st(conn)
    checkNotTracked(s, 'domain', eventID, undefined)
    subscribe(conn)
    s.callbacks.set(s.nextCallback++, {kind: 'domain', eventID, legacy: true})
  }
  // Deregistration removes the first registration of the event ID, of either style (libvirtd looks only at the ID).
  const remove = (conn: RpcConnection, eventID: number) => {
    const s = st(conn)
    for (const [id, cb] of s.callbacks) {
      if (cb.kind !== 'domain' || cb.eventID !== eventID) continue
      s.callbacks.delete(id)
      return
    }
    throw internal(`domain event ${eventID} not registered`)
  }
  const checkId = (eventID: number) => {
    if (eventID < 0 || eventID > ID_LAST_LEGACY) throw internal(`unsupported event ID ${eventID}`)
  }
  on(P.CONNECT_DOMAIN_EVENT_REGISTER, (conn) => {
    add(conn, DomainEventId.LIFECYCLE)
    return {cb_registered: 0}
  })
  on(P.CONNECT_DOMAIN_EVENT_DEREGISTER, (conn) => {
    remove(conn, DomainEventId.LIFECYCLE)
    return {cb_registered: 0}
  })
  on(P.CONNECT_DOMAIN_EVENT_REGISTER_ANY, (conn, {eventID}) => {
    checkId(eventID)
    add(conn, eventID)
  })
  on(P.CONNECT_DOMAIN_EVENT_DEREGISTER_ANY, (conn, {eventID}) => {
    checkId(eventID)
    remove(conn, eventID)
  })
}

/** Sends a lifecycle or reboot event to an old-style registration of `eventID`. */
export function sendLegacyDomainEvent(conn: RpcConnection, eventID: number, m: DomainEventMsg): void {
  if (m.kind === 'lifecycle' && eventID === DomainEventId.LIFECYCLE) {
    conn.sendEvent(remote, remote.events.DOMAIN_EVENT_LIFECYCLE, {dom: toDom(m.dom), event: m.event, detail: m.detail})
  } else if (m.kind === 'reboot' && eventID === DomainEventId.REBOOT) {
    conn.sendEvent(remote, remote.events.DOMAIN_EVENT_REBOOT, {dom: toDom(m.dom)})
  }
}

/** Sends a device event to an old-style registration of `eventID` (only removal has an old-style message). */
export function sendLegacyDeviceEvent(conn: RpcConnection, eventID: number, m: DeviceEventMsg): void {
  if (m.kind === 'removed' && eventID === DomainEventId.DEVICE_REMOVED) {
    conn.sendEvent(remote, remote.events.DOMAIN_EVENT_DEVICE_REMOVED, {dom: toDom(m.dom), devAlias: m.alias})
  }
}
