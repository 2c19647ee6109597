/**
 * The REMOTE procedures of host interfaces (INTERFACE_*, and the connection's interface lists),
 * in procedure-number order.
 */
import * as t from '../../codec.js'
import {proc} from '../../program.js'
import {ErrorDomain} from '../../../errors.js'
import {LIST_MAX, listAll, nameList, names, num, s, xmlFlags, xmlRet} from './types.js'

const INTERFACE = ErrorDomain.INTERFACE

export const interfaceHandle = t.struct({name: t.nonnullString, mac: t.nonnullString})
export type InterfaceHandle = t.TypeOf<typeof interfaceHandle>

const iface = t.struct({iface: interfaceHandle})
const ifaceFlags = t.struct({iface: interfaceHandle, flags: t.uint})
const flagsOnly = t.struct({flags: t.uint})

export const interfaceProcs = {
  CONNECT_NUM_OF_INTERFACES: proc(126, t.voidType, num, {ro: true, errDomain: INTERFACE}),
  CONNECT_LIST_INTERFACES: proc(127, names, nameList, {ro: true, errDomain: INTERFACE}),
  INTERFACE_LOOKUP_BY_NAME: proc(128, t.struct({name: s}), iface, {ro: true, errDomain: INTERFACE}),
  INTERFACE_LOOKUP_BY_MAC_STRING: proc(129, t.struct({mac: s}), iface, {ro: true, errDomain: INTERFACE}),
  INTERFACE_GET_XML_DESC: proc(130, ifaceFlags, xmlRet, {ro: true, errDomain: INTERFACE}),
  INTERFACE_DEFINE_XML: proc(131, xmlFlags, iface, {errDomain: INTERFACE}),
  INTERFACE_UNDEFINE: proc(132, iface, t.voidType, {errDomain: INTERFACE}),
  INTERFACE_CREATE: proc(133, ifaceFlags, t.voidType, {errDomain: INTERFACE}),
  INTERFACE_DESTROY: proc(134, ifaceFlags, t.voidType, {errDomain: INTERFACE}),
  CONNECT_NUM_OF_DEFINED_INTERFACES: proc(137, t.voidType, num, {ro: true, errDomain: INTERFACE}),
  CONNECT_LIST_DEFINED_INTERFACES: proc(138, names, nameList, {ro: true, errDomain: INTERFACE}),
  INTERFACE_IS_ACTIVE: proc(156, iface, t.struct({active: t.int}), {ro: true, errDomain: INTERFACE}),
  INTERFACE_CHANGE_BEGIN: proc(220, flagsOnly, t.voidType, {errDomain: INTERFACE}),
  INTERFACE_CHANGE_COMMIT: proc(221, flagsOnly, t.voidType, {errDomain: INTERFACE}),
  INTERFACE_CHANGE_ROLLBACK: proc(222, flagsOnly, t.voidType, {errDomain: INTERFACE}),
  CONNECT_LIST_ALL_INTERFACES: proc(284, listAll, t.struct({ifaces: t.array(interfaceHandle, LIST_MAX), ret: t.uint}), {
    ro: true,
    errDomain: INTERFACE,
  }),
}
