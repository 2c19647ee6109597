/** The REMOTE handlers of device hotplug, and delivery of the device events to a connection's callbacks. */
import type {EventEmitter} from 'node:events'
import {ErrorDomain, errors} from '../../errors.js'
import {remote} from '../../rpc/programs/remote.js'
import type {RpcConnection} from '../../rpc/server.js'
import {AffectFlags, DEVICE_EVENT, type DeviceEventMsg, type DeviceHotplug} from '../../drivers/hotplug-types.js'
import {DomainEventId, P, hv, st, toDom, u, type On} from './context.js'
import {sendLegacyDeviceEvent} from './events-legacy.js'

/** virDomainEventID of the device events. */
const EVENT_ID = {
  removed: DomainEventId.DEVICE_REMOVED,
  added: DomainEventId.DEVICE_ADDED,
  'removal-failed': DomainEventId.DEVICE_REMOVAL_FAILED,
} as const
const EVENTS = {
  removed: remote.events.DOMAIN_EVENT_CALLBACK_DEVICE_REMOVED,
  added: remote.events.DOMAIN_EVENT_CALLBACK_DEVICE_ADDED,
  'removal-failed': remote.events.DOMAIN_EVENT_CALLBACK_DEVICE_REMOVAL_FAILED,
} as const

/** The connection's hotplug API, or libvirt's "not supported" error naming the public function. */
function hp(conn: RpcConnection, api: string): DeviceHotplug {
  const h = hv(conn).hotplug
  if (!h) throw errors.noSupport(ErrorDomain.DOMAIN, api)
  return h
}

export function registerHotplug(on: On): void {
  // The flag-less calls act on the running guest only (libvirt passes AFFECT_LIVE).
  on(P.DOMAIN_ATTACH_DEVICE, (conn, {dom, xml}) => hp(conn, 'virDomainAttachDevice').attachDevice(u(dom), xml, AffectFlags.LIVE))
  on(P.DOMAIN_DETACH_DEVICE, (conn, {dom, xml}) => hp(conn, 'virDomainDetachDevice').detachDevice(u(dom), xml, AffectFlags.LIVE))
  on(P.DOMAIN_ATTACH_DEVICE_FLAGS, (conn, {dom, xml, flags}) => hp(conn, 'virDomainAttachDeviceFlags').attachDevice(u(dom), xml, flags))
  on(P.DOMAIN_DETACH_DEVICE_FLAGS, (conn, {dom, xml, flags}) => hp(conn, 'virDomainDetachDeviceFlags').detachDevice(u(dom), xml, flags))
  on(P.DOMAIN_UPDATE_DEVICE_FLAGS, (conn, {dom, xml, flags}) => hp(conn, 'virDomainUpdateDeviceFlags').updateDevice(u(dom), xml, flags))
  on(P.DOMAIN_DETACH_DEVICE_ALIAS, (conn, {dom, alias, flags}) => hp(conn, 'virDomainDetachDeviceAlias').detachDeviceAlias(u(dom), alias, flags))
}

/** Sends a driver's device events to the connection's domain callbacks for them; returns the unsubscribe. */
export function subscribeDeviceEvents(conn: RpcConnection, source: EventEmitter): () => void {
  const listener = (msg: DeviceEventMsg) => {
    for (const [id, cb] of st(conn).callbacks) {
      if (cb.kind === 'domain' && cb.legacy) sendLegacyDeviceEvent(conn, cb.eventID, msg)
      if (cb.kind !== 'domain' || cb.legacy || cb.eventID !== EVENT_ID[msg.kind] || (cb.uuid && cb.uuid !== msg.dom.uuid)) continue
      conn.sendEvent(remote, EVENTS[msg.kind], {callbackID: id, dom: toDom(msg.dom), devAlias: msg.alias})
    }
  }
  source.on(DEVICE_EVENT, listener)
  return () => source.off(DEVICE_EVENT, listener)
}
