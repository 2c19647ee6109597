/**
 * The REMOTE procedures of node devices (NODE_DEVICE_*, NODE_NUM_OF_DEVICES, NODE_LIST_DEVICES, the
 * connection's node-device list and events), in procedure-number order, and their event messages.
 */
import * as t from '../../codec.js'
import {proc} from '../../program.js'
import {ErrorDomain} from '../../../errors.js'
import {LIST_MAX, callbackId, intRet, listAll, num, s, xmlRet} from './types.js'

const NODEDEV = ErrorDomain.NODEDEV
const ro = {ro: true, errDomain: NODEDEV}

export const nodeDeviceHandle = t.struct({name: t.nonnullString})
export type NodeDeviceHandle = t.TypeOf<typeof nodeDeviceHandle>

const CAPS_LIST_MAX = 65536
const name = t.struct({name: s})
const nameFlags = t.struct({name: s, flags: t.uint})
const retDev = t.struct({dev: nodeDeviceHandle})
const names = (max: number) => t.struct({names: t.array(s, max)})

export const nodedevProcs = {
  NODE_NUM_OF_DEVICES: proc(111, t.struct({cap: t.optString, flags: t.uint}), num, ro),
  NODE_LIST_DEVICES: proc(112, t.struct({cap: t.optString, maxnames: t.int, flags: t.uint}), names(LIST_MAX), ro),
  NODE_DEVICE_LOOKUP_BY_NAME: proc(113, name, retDev, ro),
  NODE_DEVICE_GET_XML_DESC: proc(114, nameFlags, xmlRet, ro),
  NODE_DEVICE_GET_PARENT: proc(115, name, t.struct({parentName: t.optString}), ro),
  NODE_DEVICE_NUM_OF_CAPS: proc(116, name, num, ro),
  NODE_DEVICE_LIST_CAPS: proc(117, t.struct({name: s, maxnames: t.int}), names(CAPS_LIST_MAX), ro),
  NODE_DEVICE_DETTACH: proc(118, name, t.voidType, {errDomain: NODEDEV}),
  NODE_DEVICE_RE_ATTACH: proc(119, name, t.voidType, {errDomain: NODEDEV}),
  NODE_DEVICE_RESET: proc(120, name, t.voidType, {errDomain: NODEDEV}),
  NODE_DEVICE_CREATE_XML: proc(123, t.struct({xml_desc: s, flags: t.uint}), retDev, {errDomain: NODEDEV}),
  NODE_DEVICE_DESTROY: proc(124, name, t.voidType, {errDomain: NODEDEV}),
  CONNECT_LIST_ALL_NODE_DEVICES: proc(285, listAll, t.struct({devices: t.array(nodeDeviceHandle, LIST_MAX), ret: t.uint}), ro),
  NODE_DEVICE_LOOKUP_SCSI_HOST_BY_WWN: proc(297, t.struct({wwnn: s, wwpn: s, flags: t.uint}), retDev, ro),
  NODE_DEVICE_DETACH_FLAGS: proc(301, t.struct({name: s, driverName: t.optString, flags: t.uint}), t.voidType, {errDomain: NODEDEV}),
  CONNECT_NODE_DEVICE_EVENT_REGISTER_ANY: proc(374, t.struct({eventID: t.int, dev: t.optional(nodeDeviceHandle)}), callbackId, ro),
  CONNECT_NODE_DEVICE_EVENT_DEREGISTER_ANY: proc(375, callbackId, t.voidType, ro),
  NODE_DEVICE_DEFINE_XML: proc(428, t.struct({xml_desc: s, flags: t.uint}), retDev, {errDomain: NODEDEV}),
  NODE_DEVICE_UNDEFINE: proc(429, nameFlags, t.voidType, {errDomain: NODEDEV}),
  NODE_DEVICE_CREATE: proc(430, nameFlags, t.voidType, {errDomain: NODEDEV}),
  NODE_DEVICE_GET_AUTOSTART: proc(433, name, intRet('autostart'), {errDomain: NODEDEV}),
  NODE_DEVICE_SET_AUTOSTART: proc(434, t.struct({name: s, autostart: t.int}), t.voidType, {errDomain: NODEDEV}),
  NODE_DEVICE_IS_PERSISTENT: proc(435, name, intRet('persistent'), ro),
  NODE_DEVICE_IS_ACTIVE: proc(436, name, intRet('active'), ro),
}
