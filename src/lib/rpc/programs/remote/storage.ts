/**
 * The REMOTE procedures of storage pools and volumes (STORAGE_*, and the connection's pool lists and events),
 * in procedure-number order.
 */
import * as t from '../../codec.js'
import {proc} from '../../program.js'
import {
  LIST_MAX,
  STORAGE,
  autostart,
  callbackId,
  intRet,
  listAll,
  nameList,
  names,
  num,
  pool,
  poolFlags,
  poolHandle,
  registerAny,
  retPool,
  s,
  xmlFlags,
  xmlRet,
} from './types.js'

export const storageProcs = {
  CONNECT_NUM_OF_STORAGE_POOLS: proc(71, t.voidType, num, {ro: true, errDomain: STORAGE}),
  CONNECT_LIST_STORAGE_POOLS: proc(72, names, nameList, {ro: true, errDomain: STORAGE}),
  CONNECT_NUM_OF_DEFINED_STORAGE_POOLS: proc(73, t.voidType, num, {ro: true, errDomain: STORAGE}),
  CONNECT_LIST_DEFINED_STORAGE_POOLS: proc(74, names, nameList, {ro: true, errDomain: STORAGE}),
  STORAGE_POOL_CREATE_XML: proc(76, xmlFlags, retPool, {errDomain: STORAGE}),
  STORAGE_POOL_DEFINE_XML: proc(77, xmlFlags, retPool, {errDomain: STORAGE}),
  STORAGE_POOL_CREATE: proc(78, poolFlags, t.voidType, {errDomain: STORAGE}),
  STORAGE_POOL_BUILD: proc(79, poolFlags, t.voidType, {errDomain: STORAGE}),
  STORAGE_POOL_DESTROY: proc(80, pool, t.voidType, {errDomain: STORAGE}),
  STORAGE_POOL_UNDEFINE: proc(82, pool, t.voidType, {errDomain: STORAGE}),
  STORAGE_POOL_REFRESH: proc(83, poolFlags, t.voidType, {errDomain: STORAGE}),
  STORAGE_POOL_LOOKUP_BY_NAME: proc(84, t.struct({name: s}), retPool, {ro: true, errDomain: STORAGE}),
  STORAGE_POOL_LOOKUP_BY_UUID: proc(85, t.struct({uuid: t.uuid}), retPool, {ro: true, errDomain: STORAGE}),
  STORAGE_POOL_GET_INFO: proc(87, pool, t.struct({state: t.uint, capacity: t.uhyper, allocation: t.uhyper, available: t.uhyper}), {
    ro: true,
    errDomain: STORAGE,
  }),
  STORAGE_POOL_GET_XML_DESC: proc(88, poolFlags, xmlRet, {ro: true, errDomain: STORAGE}),
  STORAGE_POOL_GET_AUTOSTART: proc(89, pool, autostart, {ro: true, errDomain: STORAGE}),
  STORAGE_POOL_SET_AUTOSTART: proc(90, t.struct({pool: poolHandle, autostart: t.int}), t.voidType, {errDomain: STORAGE}),
  STORAGE_POOL_NUM_OF_VOLUMES: proc(91, pool, num, {ro: true, errDomain: STORAGE}),
  STORAGE_POOL_LIST_VOLUMES: proc(92, t.struct({pool: poolHandle, maxnames: t.int}), nameList, {ro: true, errDomain: STORAGE}),
  STORAGE_POOL_IS_ACTIVE: proc(154, pool, intRet('active'), {ro: true, errDomain: STORAGE}),
  STORAGE_POOL_IS_PERSISTENT: proc(155, pool, intRet('persistent'), {ro: true, errDomain: STORAGE}),
  CONNECT_LIST_ALL_STORAGE_POOLS: proc(281, listAll, t.struct({pools: t.array(poolHandle, LIST_MAX), ret: t.uint}), {ro: true, errDomain: STORAGE}),
  CONNECT_STORAGE_POOL_EVENT_REGISTER_ANY: proc(368, registerAny(poolHandle), callbackId, {ro: true, errDomain: STORAGE}),
  CONNECT_STORAGE_POOL_EVENT_DEREGISTER_ANY: proc(369, callbackId, t.voidType, {ro: true, errDomain: STORAGE}),
}
