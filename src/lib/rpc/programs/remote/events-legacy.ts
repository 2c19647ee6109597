/**
 * The REMOTE program's old-style domain event calls: registration without callback IDs, which a client that does not
 * see VIR_DRV_FEATURE_REMOTE_EVENT_CALLBACK uses. In number order; the old-style messages are in events.ts.
 */
import * as t from '../../codec.js'
import {proc} from '../../program.js'

/** remote_connect_domain_event_(de)register_ret: cb_registered, which libvirtd leaves 0. */
const cbRegistered = t.struct({cb_registered: t.int})
const eventId = t.struct({eventID: t.int})

export const legacyEventProcs = {
  CONNECT_DOMAIN_EVENT_REGISTER: proc(105, t.voidType, cbRegistered, {ro: true}),
  CONNECT_DOMAIN_EVENT_DEREGISTER: proc(106, t.voidType, cbRegistered, {ro: true}),
  CONNECT_DOMAIN_EVENT_REGISTER_ANY: proc(167, eventId, t.voidType, {ro: true}),
  CONNECT_DOMAIN_EVENT_DEREGISTER_ANY: proc(168, eventId, t.voidType, {ro: true}),
}
