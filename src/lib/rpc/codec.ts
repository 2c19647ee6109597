/**
 * Declarative XDR types. A procedure's argument and reply layouts are written as values built
 * from these combinators; each value is both the encoder and the decoder, so no procedure has a
 * hand-written codec and the TypeScript type of a message is inferred from its layout.
 */
import {XdrError, XdrReader, XdrWriter} from './xdr.js'

export interface Codec<T> {
  enc(w: XdrWriter, v: T): void
  dec(r: XdrReader): T
}

export type TypeOf<C> = C extends Codec<infer T> ? T : never

/** libvirt's limit on any protocol string (REMOTE_STRING_MAX). */
export const STRING_MAX = 4194304

export const voidType: Codec<void> = {enc() {}, dec() {}}

export const int: Codec<number> = {enc: (w, v) => w.int(v), dec: (r) => r.int()}
export const uint: Codec<number> = {enc: (w, v) => w.uint(v), dec: (r) => r.uint()}
export const hyper: Codec<bigint> = {enc: (w, v) => w.hyper(v), dec: (r) => r.hyper()}
export const uhyper: Codec<bigint> = {enc: (w, v) => w.uhyper(v), dec: (r) => r.uhyper()}
export const double: Codec<number> = {enc: (w, v) => w.double(v), dec: (r) => r.double()}

export function string(max = STRING_MAX): Codec<string> {
  return {enc: (w, v) => w.string(v, max), dec: (r) => r.string(max)}
}

export const nonnullString = string()

export function opaque(max: number): Codec<Buffer> {
  return {enc: (w, v) => w.opaque(v, max), dec: (r) => r.opaque(max)}
}

export function fixedOpaque(n: number): Codec<Buffer> {
  return {enc: (w, v) => w.fixedOpaque(v, n), dec: (r) => r.fixedOpaque(n)}
}

export const uuid = fixedOpaque(16)

/** `T *x`: a present flag, then the value. */
export function optional<T>(inner: Codec<T>): Codec<T | null> {
  return {
    enc(w, v) {
      if (v === null || v === undefined) w.uint(0)
      else {
        w.uint(1)
        inner.enc(w, v)
      }
    },
    dec(r) {
      // The present flag is an XDR bool: libvirt reads any non-zero word as present.
      if (!r.bool()) return null
      return inner.dec(r)
    },
  }
}

export const optString = optional(nonnullString)

/** `T x<max>`: a count, then the elements. */
export function array<T>(inner: Codec<T>, max: number): Codec<T[]> {
  return {
    enc(w, v) {
      if (v.length > max) throw new XdrError(`array of ${v.length} elements exceeds its limit of ${max}`)
      w.uint(v.length)
      for (const item of v) inner.enc(w, item)
    },
    dec(r) {
      const n = r.uint()
      if (n > max) throw new XdrError(`array length ${n} exceeds its limit of ${max}`)
      if (n * 4 > r.remaining()) throw new XdrError('message payload too short')
      const out = new Array<T>(n)
      for (let i = 0; i < n; i++) out[i] = inner.dec(r)
      return out
    },
  }
}

/** `char x[n]`: n characters, one 4-byte word each, NUL padded. Decoded up to the first NUL. */
export function charFixed(n: number): Codec<string> {
  return {
    enc(w, v) {
      const bytes = Buffer.from(v, 'latin1')
      for (let i = 0; i < n; i++) w.int(i < bytes.length && i < n - 1 ? (bytes[i] << 24) >> 24 : 0)
    },
    dec(r) {
      let s = ''
      let ended = false
      for (let i = 0; i < n; i++) {
        const c = r.int() & 0xff
        if (c === 0) ended = true
        else if (!ended) s += String.fromCharCode(c)
      }
      return s
    },
  }
}

/** `char x<max>` carrying a C string: the count includes the terminating NUL, one word per char. */
export function charString(max: number): Codec<string> {
  return {
    enc(w, v) {
      const bytes = Buffer.from(v, 'latin1')
      const n = bytes.length + 1
      if (n > max) throw new XdrError(`char array of ${n} exceeds its limit of ${max}`)
      w.uint(n)
      for (const b of bytes) w.int((b << 24) >> 24)
      w.int(0)
    },
    dec(r) {
      const n = r.uint()
      if (n > max) throw new XdrError(`char array length ${n} exceeds its limit of ${max}`)
      let s = ''
      let ended = false
      for (let i = 0; i < n; i++) {
        const c = r.int() & 0xff
        if (c === 0) ended = true
        else if (!ended) s += String.fromCharCode(c)
      }
      return s
    },
  }
}

type Fields = Record<string, Codec<unknown>>
export type StructOf<F extends Fields> = {[K in keyof F]: TypeOf<F[K]>}

/** A struct: its fields in declaration order. */
export function struct<F extends Fields>(fields: F): Codec<StructOf<F>> {
  const entries = Object.entries(fields)
  const names = entries.map(([k]) => k)
  const codecs = entries.map(([, c]) => c)
  const n = names.length
  return {
    enc(w, v) {
      const fieldsOf: Record<string, unknown> = v
      for (let i = 0; i < n; i++) codecs[i].enc(w, fieldsOf[names[i]])
    },
    dec(r) {
      const out: Record<string, unknown> = {}
      for (let i = 0; i < n; i++) out[names[i]] = codecs[i].dec(r)
      // Every field was decoded by its own codec, in declaration order.
      return out as StructOf<F>
    },
  }
}

/** Typed parameters (virTypedParameter): name plus a discriminated value. */
export type TypedParamValue =
  | {type: 1; value: number}
  | {type: 2; value: number}
  | {type: 3; value: bigint}
  | {type: 4; value: bigint}
  | {type: 5; value: number}
  | {type: 6; value: boolean}
  | {type: 7; value: string}
export type TypedParam = {field: string} & TypedParamValue

export const TypedParamType = {INT: 1, UINT: 2, LLONG: 3, ULLONG: 4, DOUBLE: 5, BOOLEAN: 6, STRING: 7} as const

export const typedParam: Codec<TypedParam> = {
  enc(w, v) {
    w.string(v.field, 80)
    w.int(v.type)
    switch (v.type) {
      case 1:
        w.int(v.value)
        break
      case 2:
        w.uint(v.value)
        break
      case 3:
        w.hyper(v.value)
        break
      case 4:
        w.uhyper(v.value)
        break
      case 5:
        w.double(v.value)
        break
      case 6:
        w.int(v.value ? 1 : 0)
        break
      case 7:
        w.string(v.value, STRING_MAX)
        break
    }
  },
  dec(r) {
    const field = r.string(80)
    const type = r.int()
    switch (type) {
      case 1:
        return {field, type, value: r.int()}
      case 2:
        return {field, type, value: r.uint()}
      case 3:
        return {field, type, value: r.hyper()}
      case 4:
        return {field, type, value: r.uhyper()}
      case 5:
        return {field, type, value: r.double()}
      case 6:
        return {field, type, value: r.bool()}
      case 7:
        return {field, type, value: r.string(STRING_MAX)}
      default:
        throw new XdrError(`unknown typed parameter type ${type}`)
    }
  },
}

export function typedParams(max: number): Codec<TypedParam[]> {
  return array(typedParam, max)
}

/** Encodes a value into a standalone buffer. */
export function encode<T>(codec: Codec<T>, value: T): Buffer {
  const w = new XdrWriter(64)
  codec.enc(w, value)
  return w.result()
}

/** Decodes a whole buffer; trailing bytes are an error. */
export function decode<T>(codec: Codec<T>, buf: Buffer, start = 0, end = buf.length): T {
  const r = new XdrReader(buf, start, end)
  const v = codec.dec(r)
  r.done()
  return v
}
