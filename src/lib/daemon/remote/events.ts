/** The REMOTE program's event callbacks: registration per API family, and delivery to each connection. */
import {ErrorCode, ErrorDomain, VirError} from '../../errors.js'
import {remote, DOMAIN_EVENT_ID_MAX} from '../../rpc/programs/remote.js'
import type {RpcConnection} from '../../rpc/server.js'
import {uuidToString} from '../../uuid.js'
import type {DomainEventMsg, ObjectEventMsg, SecretRef} from '../../drivers/types.js'
import type {PoolRefreshMsg} from '../../drivers/storage-vol-types.js'
import {DomainEventId, P, st, toDom, toObj, toSecret, type On, type EventKind} from './context.js'
import {subscribeDeviceEvents} from './hotplug.js'
import {subscribeTuningEvents} from './tuning-events.js'
import {subscribeMigrationEvents} from './migration.js'
import {checkNotTracked, registerLegacyEvents, sendLegacyDomainEvent} from './events-legacy.js'

/** Number of event IDs (VIR_*_EVENT_ID_LAST) of networks, storage pools and secrets. */
const NETWORK_EVENT_ID_LAST = 2
const STORAGE_POOL_EVENT_ID_LAST = 2
const SECRET_EVENT_ID_LAST = 2
/** Event IDs: lifecycle (every kind), value changed (secrets), refresh (pools); domains' in DomainEventId. */
const EVENT_ID_LIFECYCLE = 0
const SECRET_EVENT_ID_VALUE_CHANGED = 1
const STORAGE_POOL_EVENT_ID_REFRESH = 1

export function registerEvents(on: On): void {
  const register =
    (kind: EventKind, max: number) =>
    (conn: RpcConnection, {eventID, handle}: {eventID: number; handle: {uuid: Buffer} | null}) => {
      if (eventID < 0 || eventID >= max) {
        throw new VirError(ErrorCode.INVALID_ARG, ErrorDomain.RPC, `invalid argument: unsupported event ID ${eventID}`)
      }
      const s = st(conn)
      const uuid = handle ? uuidToString(handle.uuid) : undefined
      checkNotTracked(s, kind, eventID, uuid)
      ensureSubscribed(conn, kind)
      const id = s.nextCallback++
      s.callbacks.set(id, {kind, eventID, uuid})
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
  registerLegacyEvents(on, (conn) => ensureSubscribed(conn, 'domain'))

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
    if (kind === 'domain') s.detach.push(subscribeDeviceEvents(conn, source))
    if (kind === 'domain') s.detach.push(subscribeTuningEvents(conn, source))
    if (kind === 'domain') s.detach.push(subscribeMigrationEvents(conn, source))
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
    if (kind === 'pool') {
      const onRefresh = (msg: PoolRefreshMsg) => {
        for (const [id, cb] of s.callbacks) {
          if (cb.kind !== 'pool' || cb.eventID !== STORAGE_POOL_EVENT_ID_REFRESH || (cb.uuid && cb.uuid !== msg.ref.uuid)) continue
          conn.sendEvent(remote, remote.events.STORAGE_POOL_EVENT_REFRESH, {callbackID: id, pool: toObj(msg.ref)})
        }
      }
      source.on('pool-refresh', onRefresh)
      s.detach.push(() => source.off('pool-refresh', onRefresh))
    }
  }

  function deliver(conn: RpcConnection, kind: EventKind, msg: DomainEventMsg | ObjectEventMsg): void {
    const s = st(conn)
    for (const [id, cb] of s.callbacks) {
      if (cb.kind !== kind) continue
      if (kind === 'domain') {
        const m = msg as DomainEventMsg
        if (cb.legacy) sendLegacyDomainEvent(conn, cb.eventID, m)
        if (cb.legacy || (cb.uuid && cb.uuid !== m.dom.uuid)) continue
        if (m.kind === 'lifecycle' && cb.eventID === EVENT_ID_LIFECYCLE) {
          conn.sendEvent(remote, remote.events.DOMAIN_EVENT_CALLBACK_LIFECYCLE, {callbackID: id, dom: toDom(m.dom), event: m.event, detail: m.detail})
        } else if (m.kind === 'reboot' && cb.eventID === DomainEventId.REBOOT) {
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
}
