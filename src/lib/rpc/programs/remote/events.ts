/** The REMOTE program's events (MESSAGE procedures), in procedure-number order. */
import * as t from '../../codec.js'
import {event} from '../../program.js'
import {domainHandle, networkHandle, poolHandle, secretHandle} from './types.js'
import {nodeDeviceHandle} from './nodedev.js'
import {deviceEventMsg} from './domain-hotplug.js'

export const remoteEvents = {
  // Old-style messages, for registrations through CONNECT_DOMAIN_EVENT_REGISTER(_ANY) (no callback ID).
  DOMAIN_EVENT_LIFECYCLE: event(107, t.struct({dom: domainHandle, event: t.int, detail: t.int})),
  DOMAIN_EVENT_REBOOT: event(169, t.struct({dom: domainHandle})),
  DOMAIN_EVENT_DEVICE_REMOVED: event(311, t.struct({dom: domainHandle, devAlias: t.nonnullString})),
  NETWORK_EVENT_LIFECYCLE: event(315, t.struct({callbackID: t.int, net: networkHandle, event: t.int, detail: t.int})),
  DOMAIN_EVENT_CALLBACK_LIFECYCLE: event(318, t.struct({callbackID: t.int, dom: domainHandle, event: t.int, detail: t.int})),
  DOMAIN_EVENT_CALLBACK_REBOOT: event(319, t.struct({callbackID: t.int, dom: domainHandle})),
  DOMAIN_EVENT_CALLBACK_DEVICE_REMOVED: event(333, deviceEventMsg),
  DOMAIN_EVENT_CALLBACK_TUNABLE: event(346, t.struct({callbackID: t.int, dom: domainHandle, params: t.typedParams(2048)})),
  DOMAIN_EVENT_CALLBACK_DEVICE_ADDED: event(354, deviceEventMsg),
  DOMAIN_EVENT_CALLBACK_MIGRATION_ITERATION: event(359, t.struct({callbackID: t.int, dom: domainHandle, iteration: t.int})),
  CONNECT_EVENT_CONNECTION_CLOSED: event(362, t.struct({reason: t.int})),
  DOMAIN_EVENT_CALLBACK_DEVICE_REMOVAL_FAILED: event(367, deviceEventMsg),
  STORAGE_POOL_EVENT_LIFECYCLE: event(370, t.struct({callbackID: t.int, pool: poolHandle, event: t.int, detail: t.int})),
  STORAGE_POOL_EVENT_REFRESH: event(373, t.struct({callbackID: t.int, pool: poolHandle})),
  NODE_DEVICE_EVENT_LIFECYCLE: event(376, t.struct({callbackID: t.int, dev: nodeDeviceHandle, event: t.int, detail: t.int})),
  NODE_DEVICE_EVENT_UPDATE: event(377, t.struct({callbackID: t.int, dev: nodeDeviceHandle})),
  DOMAIN_EVENT_CALLBACK_METADATA_CHANGE: event(379, t.struct({callbackID: t.int, dom: domainHandle, type: t.int, nsuri: t.optString})),
  SECRET_EVENT_LIFECYCLE: event(382, t.struct({callbackID: t.int, secret: secretHandle, event: t.int, detail: t.int})),
  SECRET_EVENT_VALUE_CHANGED: event(383, t.struct({callbackID: t.int, secret: secretHandle})),
}
