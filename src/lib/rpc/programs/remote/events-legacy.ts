/**
 * The REMOTE program's old-style domain event calls: registration without callback IDs (a client that does not see
 * VIR_DRV_FEATURE_REMOTE_EVENT_CALLBACK uses them), and the MESSAGE procedures libvirtd sends to such registrations.
 * Procedures and events each in number order.
 */
import * as t from '../../codec.js'
import {event, proc} from '../../program.js'
import {domainHandle, s} from './types.js'

/** remote_connect_domain_event_(de)register_ret: cb_registered, which libvirtd leaves 0. */
const cbRegistered = t.struct({cb_registered: t.int})
const eventId = t.struct({eventID: t.int})

export const legacyEventProcs = {
  CONNECT_DOMAIN_EVENT_REGISTER: proc(105, t.voidType, cbRegistered, {ro: true}),
  CONNECT_DOMAIN_EVENT_DEREGISTER: proc(106, t.voidType, cbRegistered, {ro: true}),
  CONNECT_DOMAIN_EVENT_REGISTER_ANY: proc(167, eventId, t.voidType, {ro: true}),
  CONNECT_DOMAIN_EVENT_DEREGISTER_ANY: proc(168, eventId, t.voidType, {ro: true}),
}

export const legacyEvents = {
  DOMAIN_EVENT_LIFECYCLE: event(107, t.struct({dom: domainHandle, event: t.int, detail: t.int})),
  DOMAIN_EVENT_REBOOT: event(169, t.struct({dom: domainHandle})),
  DOMAIN_EVENT_DEVICE_REMOVED: event(311, t.struct({dom: domainHandle, devAlias: s})),
}
