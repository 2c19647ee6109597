/** The KEEPALIVE program: PING and PONG, both MESSAGE packets without payload. */
import * as t from '../codec.js'
import {defineProgram, event} from '../program.js'

export const KEEPALIVE_PROGRAM = 0x6b656570
export const KEEPALIVE_VERSION = 1
export const KeepaliveProc = {PING: 1, PONG: 2} as const

export const keepalive = defineProgram(
  'KEEPALIVE',
  KEEPALIVE_PROGRAM,
  KEEPALIVE_VERSION,
  {},
  {
    PING: event(KeepaliveProc.PING, t.voidType),
    PONG: event(KeepaliveProc.PONG, t.voidType),
  },
)
