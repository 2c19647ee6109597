/** The ADMIN program (0x06900690 v1), served on the admin socket only. */
import * as t from '../codec.js'
import {defineProgram, proc} from '../program.js'

export const ADMIN_PROGRAM = 0x06900690
export const ADMIN_VERSION = 1

export const serverHandle = t.struct({name: t.nonnullString})
export const clientHandle = t.struct({srv: serverHandle, id: t.uhyper, timestamp: t.hyper, transport: t.uint})
const LIST_MAX = 16384
const flags = t.struct({flags: t.uint})
const open = {ro: true, preOpen: true, preAuth: true}
const any = {ro: true}

export const admin = defineProgram('ADMIN', ADMIN_PROGRAM, ADMIN_VERSION, {
  CONNECT_OPEN: proc(1, flags, t.voidType, open),
  CONNECT_CLOSE: proc(2, t.voidType, t.voidType, open),
  CONNECT_GET_LIB_VERSION: proc(3, t.voidType, t.struct({libVer: t.uhyper}), any),
  CONNECT_LIST_SERVERS: proc(
    4,
    t.struct({need_results: t.uint, flags: t.uint}),
    t.struct({servers: t.array(serverHandle, LIST_MAX), ret: t.uint}),
    any,
  ),
  CONNECT_LOOKUP_SERVER: proc(5, t.struct({name: t.nonnullString, flags: t.uint}), t.struct({srv: serverHandle}), any),
  SERVER_GET_THREADPOOL_PARAMETERS: proc(6, t.struct({srv: serverHandle, flags: t.uint}), t.struct({params: t.typedParams(32)}), any),
  SERVER_LIST_CLIENTS: proc(
    8,
    t.struct({srv: serverHandle, need_results: t.uint, flags: t.uint}),
    t.struct({clients: t.array(clientHandle, LIST_MAX), ret: t.uint}),
    any,
  ),
  SERVER_LOOKUP_CLIENT: proc(9, t.struct({srv: serverHandle, id: t.uhyper, flags: t.uint}), t.struct({clnt: clientHandle}), any),
  CLIENT_GET_INFO: proc(10, t.struct({clnt: clientHandle, flags: t.uint}), t.struct({params: t.typedParams(64)}), any),
  CLIENT_CLOSE: proc(11, t.struct({clnt: clientHandle, flags: t.uint}), t.voidType, any),
  SERVER_GET_CLIENT_LIMITS: proc(12, t.struct({srv: serverHandle, flags: t.uint}), t.struct({params: t.typedParams(32)}), any),
  CONNECT_SET_DAEMON_TIMEOUT: proc(19, t.struct({timeout: t.uint, flags: t.uint}), t.voidType, any),
})
