/**
 * The REMOTE procedures of virtual networks (NETWORK_*, and the connection's network lists and events),
 * in procedure-number order.
 */
import * as t from '../../codec.js'
import {proc} from '../../program.js'
import {
  LIST_MAX,
  NETWORK,
  autostart,
  callbackId,
  intRet,
  listAll,
  nameList,
  names,
  net,
  networkHandle,
  num,
  registerAny,
  retNet,
  s,
  xmlArg,
  xmlFlags,
  xmlRet,
} from './types.js'

export const networkProcs = {
  CONNECT_LIST_DEFINED_NETWORKS: proc(36, names, nameList, {ro: true, errDomain: NETWORK}),
  CONNECT_LIST_NETWORKS: proc(38, names, nameList, {ro: true, errDomain: NETWORK}),
  NETWORK_CREATE: proc(39, net, t.voidType, {errDomain: NETWORK}),
  NETWORK_CREATE_XML: proc(40, xmlArg, retNet, {errDomain: NETWORK}),
  NETWORK_DEFINE_XML: proc(41, xmlArg, retNet, {errDomain: NETWORK}),
  NETWORK_DESTROY: proc(42, net, t.voidType, {errDomain: NETWORK}),
  NETWORK_GET_XML_DESC: proc(43, t.struct({net: networkHandle, flags: t.uint}), xmlRet, {ro: true, errDomain: NETWORK}),
  NETWORK_GET_AUTOSTART: proc(44, net, autostart, {ro: true, errDomain: NETWORK}),
  NETWORK_GET_BRIDGE_NAME: proc(45, net, t.struct({name: s}), {ro: true, errDomain: NETWORK}),
  NETWORK_LOOKUP_BY_NAME: proc(46, t.struct({name: s}), retNet, {ro: true, errDomain: NETWORK}),
  NETWORK_LOOKUP_BY_UUID: proc(47, t.struct({uuid: t.uuid}), retNet, {ro: true, errDomain: NETWORK}),
  NETWORK_SET_AUTOSTART: proc(48, t.struct({net: networkHandle, autostart: t.int}), t.voidType, {errDomain: NETWORK}),
  NETWORK_UNDEFINE: proc(49, net, t.voidType, {errDomain: NETWORK}),
  CONNECT_NUM_OF_DEFINED_NETWORKS: proc(50, t.voidType, num, {ro: true, errDomain: NETWORK}),
  CONNECT_NUM_OF_NETWORKS: proc(52, t.voidType, num, {ro: true, errDomain: NETWORK}),
  NETWORK_IS_ACTIVE: proc(152, net, intRet('active'), {ro: true, errDomain: NETWORK}),
  NETWORK_IS_PERSISTENT: proc(153, net, intRet('persistent'), {ro: true, errDomain: NETWORK}),
  CONNECT_LIST_ALL_NETWORKS: proc(283, listAll, t.struct({nets: t.array(networkHandle, LIST_MAX), ret: t.uint}), {ro: true, errDomain: NETWORK}),
  CONNECT_NETWORK_EVENT_REGISTER_ANY: proc(313, registerAny(networkHandle), callbackId, {ro: true, errDomain: NETWORK}),
  CONNECT_NETWORK_EVENT_DEREGISTER_ANY: proc(314, callbackId, t.voidType, {ro: true, errDomain: NETWORK}),
  NETWORK_DEFINE_XML_FLAGS: proc(432, xmlFlags, retNet, {errDomain: NETWORK}),
  NETWORK_CREATE_XML_FLAGS: proc(437, xmlFlags, retNet, {errDomain: NETWORK}),
}
