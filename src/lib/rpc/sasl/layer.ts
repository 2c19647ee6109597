/**
 * DIGEST-MD5's security layer (RFC 2831 §2.3 integrity, §2.4 confidentiality) over a byte stream,
 * as libvirt runs it after SASL authentication: every byte written goes through wrap() and every
 * byte read through unwrap(). A unit on the wire is a 4-byte big-endian length, then the message
 * (encrypted with auth-conf, after padding for a block cipher, together with its MAC), the first 10
 * bytes of HMAC-MD5(Ki, {seqnum, message}), the message type 0x0001 and the 4-byte sequence number.
 * Each direction has its own keys and sequence number; a unit out of sequence, too big, badly padded
 * or with a bad MAC is an error (the caller drops the connection).
 */
import {createCipheriv, createDecipheriv, createHmac, timingSafeEqual, type Cipher as NodeCipher, type Decipher} from 'node:crypto'

export type Qop = 'auth' | 'auth-int' | 'auth-conf'
export type Cipher = 'rc4' | 'rc4-56' | 'rc4-40' | '3des'

/** A security layer over a connection's byte stream. */
export interface SecurityLayer {
  /** Plaintext out for what was read (units may span reads); throws on a bad unit. */
  unwrap(data: Buffer): Buffer
  /** The units carrying `data` (split to fit the peer's maxbuf). */
  wrap(data: Buffer): Buffer
}

export class LayerError extends Error {}

interface Keys {
  mac: Buffer
  key?: Buffer
}

export interface LayerOptions {
  qop: Exclude<Qop, 'auth'>
  cipher?: Cipher
  out: Keys
  in: Keys
  /** The peer's maxbuf: the largest unit it takes. */
  peerMaxbuf: number
  /** Ours: the largest unit we take. */
  maxbuf: number
}

/** A stream transform, one direction. */
interface Transform {
  block: number
  run(data: Buffer): Buffer
}

/** RC4, whose keystream runs on across units (not in OpenSSL 3's default provider). */
function rc4(key: Buffer): Transform {
  const s = new Uint8Array(256)
  for (let i = 0; i < 256; i++) s[i] = i
  for (let i = 0, j = 0; i < 256; i++) {
    j = (j + s[i] + key[i % key.length]) & 255
    ;[s[i], s[j]] = [s[j], s[i]]
  }
  const state = {i: 0, j: 0}
  return {
    block: 1,
    run(data) {
      // Locals, not closure slots, in the loop: several times faster in V8.
      const out = Buffer.allocUnsafe(data.length)
      const box = s
      const len = data.length
      let {i, j} = state
      for (let n = 0; n < len; n++) {
        i = (i + 1) & 255
        const si = box[i]
        j = (j + si) & 255
        const sj = box[j]
        box[i] = sj
        box[j] = si
        out[n] = data[n] ^ box[(si + sj) & 255]
      }
      state.i = i
      state.j = j
      return out
    },
  }
}

/** 56 key bits to a DES key of 8 bytes (the low bit of each byte is parity, ignored). */
function desKey(k: Buffer): Buffer {
  const b = Buffer.alloc(8)
  b[0] = k[0]
  for (let n = 1; n < 7; n++) b[n] = ((k[n - 1] << (8 - n)) | (k[n] >> n)) & 255
  b[7] = (k[6] << 1) & 255
  return b
}

/** Two-key triple DES in CBC mode, the chain running on across units; IV = Kc[8..15]. */
function tripleDes(kc: Buffer, decrypt: boolean): Transform {
  const key = Buffer.concat([desKey(kc.subarray(0, 7)), desKey(kc.subarray(7, 14))])
  const iv = kc.subarray(8, 16)
  const c: NodeCipher | Decipher = decrypt ? createDecipheriv('des-ede-cbc', key, iv) : createCipheriv('des-ede-cbc', key, iv)
  c.setAutoPadding(false)
  return {block: 8, run: (data) => c.update(data)}
}

function transform(cipher: Cipher, key: Buffer, decrypt: boolean): Transform {
  return cipher === '3des' ? tripleDes(key, decrypt) : rc4(key)
}

const TRAILER = 6 // message type + sequence number
const MAC_LEN = 10

export function securityLayer(o: LayerOptions): SecurityLayer {
  const conf = o.qop === 'auth-conf'
  if (conf && (!o.cipher || !o.out.key || !o.in.key)) throw new LayerError('auth-conf without a cipher')
  const enc = conf && o.cipher && o.out.key ? transform(o.cipher, o.out.key, false) : undefined
  const dec = conf && o.cipher && o.in.key ? transform(o.cipher, o.in.key, true) : undefined
  const block = enc?.block ?? 1
  // The largest message in one unit: the peer's maxbuf less MAC, trailer and the most padding.
  const chunk = o.peerMaxbuf - MAC_LEN - TRAILER - block
  if (chunk < 16) throw new LayerError(`maxbuf ${o.peerMaxbuf} too small`)
  let outSeq = 0
  let inSeq = 0
  let pending: Buffer = Buffer.alloc(0)
  const mac = (key: Buffer, seq: Buffer, msg: Buffer): Buffer => createHmac('md5', key).update(seq).update(msg).digest().subarray(0, MAC_LEN)

  const wrapOne = (msg: Buffer): Buffer => {
    const seq = Buffer.alloc(4)
    seq.writeUInt32BE(outSeq >>> 0)
    outSeq = (outSeq + 1) >>> 0
    const m = mac(o.out.mac, seq, msg)
    let body: Buffer
    if (enc) {
      const padLen = block - ((msg.length + MAC_LEN) % block)
      const pad = block > 1 ? Buffer.alloc(padLen, padLen) : Buffer.alloc(0)
      body = enc.run(Buffer.concat([msg, pad, m]))
    } else body = Buffer.concat([msg, m])
    const head = Buffer.alloc(4)
    head.writeUInt32BE(body.length + TRAILER)
    return Buffer.concat([head, body, Buffer.from([0, 1]), seq])
  }

  const unwrapOne = (unit: Buffer): Buffer => {
    const type = unit.readUInt16BE(unit.length - TRAILER)
    const seq = unit.subarray(unit.length - 4)
    if (type !== 1) throw new LayerError(`SASL unit of type ${type}`)
    if (seq.readUInt32BE(0) !== inSeq) throw new LayerError(`SASL unit out of sequence (${seq.readUInt32BE(0)}, expected ${inSeq})`)
    inSeq = (inSeq + 1) >>> 0
    let body = unit.subarray(0, unit.length - TRAILER)
    if (dec) {
      if (body.length % (enc?.block ?? 1) !== 0) throw new LayerError('SASL unit not a whole number of cipher blocks')
      body = dec.run(body)
    }
    const m = body.subarray(body.length - MAC_LEN)
    let msg = body.subarray(0, body.length - MAC_LEN)
    if (dec && block > 1) {
      const padLen = msg.length ? msg[msg.length - 1] : 0
      if (padLen < 1 || padLen > block || padLen > msg.length || msg.subarray(msg.length - padLen).some((b) => b !== padLen))
        throw new LayerError('bad SASL padding')
      msg = msg.subarray(0, msg.length - padLen)
    }
    if (!timingSafeEqual(m, mac(o.in.mac, seq, msg))) throw new LayerError('SASL unit with a bad MAC')
    return msg
  }

  return {
    wrap(data) {
      if (data.length <= chunk) return wrapOne(data)
      const units: Buffer[] = []
      for (let off = 0; off < data.length; off += chunk) units.push(wrapOne(data.subarray(off, off + chunk)))
      return Buffer.concat(units)
    },
    unwrap(data) {
      pending = pending.length ? Buffer.concat([pending, data]) : data
      const out: Buffer[] = []
      let off = 0
      while (pending.length - off >= 4) {
        const len = pending.readUInt32BE(off)
        if (len > o.maxbuf || len < MAC_LEN + TRAILER) throw new LayerError(`SASL unit of ${len} bytes (at most ${o.maxbuf})`)
        if (pending.length - off - 4 < len) break
        out.push(unwrapOne(pending.subarray(off + 4, off + 4 + len)))
        off += 4 + len
      }
      pending = Buffer.from(pending.subarray(off))
      return out.length === 1 ? out[0] : Buffer.concat(out)
    },
  }
}

/**
 * A connection's place for a security layer: set() puts what is read from now on through it, and
 * what is written after the packet being sent (the reply that completes authentication goes in
 * clear). A unit that fails to unwrap is logged and given back as an Error: drop the connection.
 */
export class LayerSlot {
  private reading: SecurityLayer | undefined
  private writing: SecurityLayer | undefined
  private next: SecurityLayer | undefined
  private log: ((msg: string) => void) | undefined

  get active(): boolean {
    return this.reading !== undefined
  }

  set(layer: SecurityLayer, log?: (msg: string) => void): void {
    this.reading = layer
    this.next = layer
    this.log = log
  }

  /** The bytes to write for one packet. */
  out(packet: Buffer): Buffer {
    const layer = this.writing
    if (this.next) [this.writing, this.next] = [this.next, undefined]
    return layer ? layer.wrap(packet) : packet
  }

  /** The plaintext of what was read (maybe empty: a unit not yet whole), or the error. */
  in(data: Buffer): Buffer | Error {
    if (!this.reading) return data
    try {
      return this.reading.unwrap(data)
    } catch (err) {
      const e = err instanceof Error ? err : new LayerError(String(err))
      this.log?.(`${e.message}; dropping connection`)
      return e
    }
  }
}
