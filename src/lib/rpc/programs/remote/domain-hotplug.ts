/** The REMOTE procedures and events of device hotplug, in procedure-number order. */
import * as t from '../../codec.js'
import {proc} from '../../program.js'
import {domainHandle, s} from './types.js'

const domXml = t.struct({dom: domainHandle, xml: s})
const domXmlFlags = t.struct({dom: domainHandle, xml: s, flags: t.uint})

export const hotplugProcs = {
  DOMAIN_ATTACH_DEVICE: proc(8, domXml, t.voidType),
  DOMAIN_DETACH_DEVICE: proc(13, domXml, t.voidType),
  DOMAIN_ATTACH_DEVICE_FLAGS: proc(160, domXmlFlags, t.voidType),
  DOMAIN_DETACH_DEVICE_FLAGS: proc(161, domXmlFlags, t.voidType),
  DOMAIN_UPDATE_DEVICE_FLAGS: proc(174, domXmlFlags, t.voidType),
  DOMAIN_DETACH_DEVICE_ALIAS: proc(392, t.struct({dom: domainHandle, alias: s, flags: t.uint}), t.voidType),
}

/** remote_domain_event_callback_device_{added,removed,removal_failed}_msg (in events.ts, by number). */
export const deviceEventMsg = t.struct({callbackID: t.int, dom: domainHandle, devAlias: s})
