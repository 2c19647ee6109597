/**
 * The REMOTE procedures of network filters and their bindings (NWFILTER_*, NWFILTER_BINDING_*,
 * and the connection's filter and binding lists), in procedure-number order.
 */
import * as t from '../../codec.js'
import {proc} from '../../program.js'
import {ErrorDomain} from '../../../errors.js'
import {LIST_MAX, listAll, names, num, s, xmlArg, xmlFlags, xmlRet} from './types.js'

const NWFILTER = ErrorDomain.NWFILTER

export const nwfilterHandle = t.struct({name: t.nonnullString, uuid: t.uuid})
export type NwFilterHandle = t.TypeOf<typeof nwfilterHandle>
export const nwfilterBindingHandle = t.struct({portdev: t.nonnullString, filtername: t.nonnullString})
export type NwFilterBindingHandle = t.TypeOf<typeof nwfilterBindingHandle>

const retFilter = t.struct({nwfilter: nwfilterHandle})
const retBinding = t.struct({nwfilter: nwfilterBindingHandle})
const ro = {ro: true, errDomain: NWFILTER}
const rw = {errDomain: NWFILTER}

export const nwfilterProcs = {
  NWFILTER_LOOKUP_BY_NAME: proc(175, t.struct({name: s}), retFilter, ro),
  NWFILTER_LOOKUP_BY_UUID: proc(176, t.struct({uuid: t.uuid}), retFilter, ro),
  NWFILTER_GET_XML_DESC: proc(177, t.struct({nwfilter: nwfilterHandle, flags: t.uint}), xmlRet, ro),
  CONNECT_NUM_OF_NWFILTERS: proc(178, t.voidType, num, ro),
  CONNECT_LIST_NWFILTERS: proc(179, names, t.struct({names: t.array(s, 1024)}), ro),
  NWFILTER_DEFINE_XML: proc(180, xmlArg, retFilter, rw),
  NWFILTER_UNDEFINE: proc(181, t.struct({nwfilter: nwfilterHandle}), t.voidType, rw),
  CONNECT_LIST_ALL_NWFILTERS: proc(286, listAll, t.struct({filters: t.array(nwfilterHandle, LIST_MAX), ret: t.uint}), ro),
  NWFILTER_BINDING_LOOKUP_BY_PORT_DEV: proc(397, t.struct({name: s}), retBinding, ro),
  NWFILTER_BINDING_GET_XML_DESC: proc(398, t.struct({nwfilter: nwfilterBindingHandle, flags: t.uint}), xmlRet, ro),
  NWFILTER_BINDING_CREATE_XML: proc(399, xmlFlags, retBinding, rw),
  NWFILTER_BINDING_DELETE: proc(400, t.struct({nwfilter: nwfilterBindingHandle}), t.voidType, rw),
  CONNECT_LIST_ALL_NWFILTER_BINDINGS: proc(401, listAll, t.struct({bindings: t.array(nwfilterBindingHandle, LIST_MAX), ret: t.uint}), ro),
  NWFILTER_DEFINE_XML_FLAGS: proc(431, xmlFlags, retFilter, rw),
}
