/**
 * The REMOTE procedures of secrets (SECRET_*, and the connection's secret lists and events),
 * in procedure-number order.
 */
import * as t from '../../codec.js'
import {proc} from '../../program.js'
import {LIST_MAX, SECRET, callbackId, listAll, num, registerAny, retSecret, s, secret, secretHandle, xmlFlags, xmlRet} from './types.js'

export const secretProcs = {
  CONNECT_NUM_OF_SECRETS: proc(139, t.voidType, num, {ro: true, errDomain: SECRET}),
  SECRET_LOOKUP_BY_UUID: proc(141, t.struct({uuid: t.uuid}), retSecret, {ro: true, errDomain: SECRET}),
  SECRET_DEFINE_XML: proc(142, xmlFlags, retSecret, {errDomain: SECRET}),
  SECRET_GET_XML_DESC: proc(143, t.struct({secret: secretHandle, flags: t.uint}), xmlRet, {ro: true, errDomain: SECRET}),
  SECRET_SET_VALUE: proc(144, t.struct({secret: secretHandle, value: t.opaque(65536), flags: t.uint}), t.voidType, {errDomain: SECRET}),
  SECRET_GET_VALUE: proc(145, t.struct({secret: secretHandle, flags: t.uint}), t.struct({value: t.opaque(65536)}), {errDomain: SECRET}),
  SECRET_UNDEFINE: proc(146, secret, t.voidType, {errDomain: SECRET}),
  SECRET_LOOKUP_BY_USAGE: proc(147, t.struct({usageType: t.int, usageID: s}), retSecret, {ro: true, errDomain: SECRET}),
  CONNECT_LIST_ALL_SECRETS: proc(287, listAll, t.struct({secrets: t.array(secretHandle, LIST_MAX), ret: t.uint}), {ro: true, errDomain: SECRET}),
  CONNECT_SECRET_EVENT_REGISTER_ANY: proc(380, registerAny(secretHandle), callbackId, {ro: true, errDomain: SECRET}),
  CONNECT_SECRET_EVENT_DEREGISTER_ANY: proc(381, callbackId, t.voidType, {ro: true, errDomain: SECRET}),
}
