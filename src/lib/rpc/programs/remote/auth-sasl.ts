/**
 * The REMOTE procedures of SASL authentication (AUTH_SASL_INIT, _START, _STEP), in number order.
 * Their data is `char data<65536>` with a `nil` flag beside it (1: the C pointer was NULL); an XDR
 * char array carries each byte in a 4-byte word.
 */
import * as t from '../../codec.js'
import {XdrError} from '../../xdr.js'
import {proc} from '../../program.js'

/** REMOTE_AUTH_SASL_DATA_MAX */
export const SASL_DATA_MAX = 65536

/** `char x<max>` as raw bytes, one word per byte. */
export function charBytes(max: number): t.Codec<Buffer> {
  return {
    enc(w, v) {
      if (v.length > max) throw new XdrError(`char array of ${v.length} exceeds its limit of ${max}`)
      w.uint(v.length)
      for (const b of v) w.int((b << 24) >> 24)
    },
    dec(r) {
      const n = r.uint()
      if (n > max) throw new XdrError(`char array length ${n} exceeds its limit of ${max}`)
      const out = Buffer.alloc(n)
      for (let i = 0; i < n; i++) out[i] = r.int() & 0xff
      return out
    },
  }
}

const data = charBytes(SASL_DATA_MAX)
const stepRet = t.struct({complete: t.int, nil: t.int, data})
const pre = {ro: true, preOpen: true, preAuth: true}

export const authSaslProcs = {
  AUTH_SASL_INIT: proc(67, t.voidType, t.struct({mechlist: t.nonnullString}), pre),
  AUTH_SASL_START: proc(68, t.struct({mech: t.nonnullString, nil: t.int, data}), stepRet, pre),
  AUTH_SASL_STEP: proc(69, t.struct({nil: t.int, data}), stepRet, pre),
}
