/**
 * The REMOTE procedures of the connection, authentication and the host (CONNECT_*, NODE_*, AUTH_*),
 * in procedure-number order.
 */
import * as t from '../../codec.js'
import {proc} from '../../program.js'
import {s} from './types.js'

export const connectProcs = {
  CONNECT_OPEN: proc(1, t.struct({name: t.optString, flags: t.uint}), t.voidType, {ro: true, preOpen: true}),
  CONNECT_CLOSE: proc(2, t.voidType, t.voidType, {ro: true, preOpen: true}),
  CONNECT_GET_TYPE: proc(3, t.voidType, t.struct({type: s}), {ro: true}),
  CONNECT_GET_VERSION: proc(4, t.voidType, t.struct({hv_ver: t.uhyper}), {ro: true}),
  CONNECT_GET_MAX_VCPUS: proc(5, t.struct({type: t.optString}), t.struct({max_vcpus: t.int}), {ro: true}),
  NODE_GET_INFO: proc(
    6,
    t.voidType,
    t.struct({
      model: t.charFixed(32),
      memory: t.uhyper,
      cpus: t.int,
      mhz: t.int,
      nodes: t.int,
      sockets: t.int,
      cores: t.int,
      threads: t.int,
    }),
    {ro: true},
  ),
  CONNECT_GET_CAPABILITIES: proc(7, t.voidType, t.struct({capabilities: s}), {ro: true}),
  CONNECT_GET_HOSTNAME: proc(59, t.voidType, t.struct({hostname: s}), {ro: true}),
  CONNECT_SUPPORTS_FEATURE: proc(60, t.struct({feature: t.int}), t.struct({supported: t.int}), {ro: true, preOpen: true}),
  AUTH_LIST: proc(66, t.voidType, t.struct({types: t.array(t.int, 20)}), {ro: true, preOpen: true, preAuth: true}),
  AUTH_POLKIT: proc(70, t.voidType, t.struct({complete: t.int}), {ro: true, preOpen: true, preAuth: true}),
  NODE_GET_FREE_MEMORY: proc(102, t.voidType, t.struct({freeMem: t.uhyper}), {ro: true}),
  CONNECT_GET_URI: proc(110, t.voidType, t.struct({uri: s}), {ro: true}),
  NODE_GET_SECURITY_MODEL: proc(122, t.voidType, t.struct({model: t.charString(257), doi: t.charString(257)}), {ro: true}),
  CONNECT_IS_SECURE: proc(149, t.voidType, t.struct({secure: t.int}), {ro: true}),
  CONNECT_GET_LIB_VERSION: proc(157, t.voidType, t.struct({lib_ver: t.uhyper}), {ro: true}),
  NODE_GET_MEMORY_STATS: proc(
    228,
    t.struct({nparams: t.int, cellNum: t.int, flags: t.uint}),
    t.struct({params: t.array(t.struct({field: s, value: t.uhyper}), 16), nparams: t.int}),
    {ro: true},
  ),
  CONNECT_REGISTER_CLOSE_CALLBACK: proc(360, t.voidType, t.voidType, {ro: true}),
  CONNECT_UNREGISTER_CLOSE_CALLBACK: proc(361, t.voidType, t.voidType, {ro: true}),
}
