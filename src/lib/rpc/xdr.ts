/**
 * XDR (RFC 4506) reader and writer: big-endian, every item padded to 4 bytes.
 * Hypers are BigInt; char/short take a full word, as rpcgen encodes them.
 */

import {isUtf8} from 'node:buffer'

export class XdrError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'XdrError'
  }
}

const PAD = [0, 3, 2, 1]

export class XdrWriter {
  buf: Buffer
  pos: number

  constructor(initial = 256) {
    this.buf = Buffer.allocUnsafe(initial)
    this.pos = 0
  }

  private ensure(n: number): void {
    const need = this.pos + n
    if (need <= this.buf.length) return
    let size = this.buf.length * 2
    while (size < need) size *= 2
    const next = Buffer.allocUnsafe(size)
    this.buf.copy(next, 0, 0, this.pos)
    this.buf = next
  }

  int(v: number): void {
    this.ensure(4)
    this.buf.writeInt32BE(v | 0, this.pos)
    this.pos += 4
  }

  uint(v: number): void {
    this.ensure(4)
    this.buf.writeUInt32BE(v >>> 0, this.pos)
    this.pos += 4
  }

  hyper(v: bigint | number): void {
    this.ensure(8)
    this.buf.writeBigInt64BE(BigInt(v), this.pos)
    this.pos += 8
  }

  uhyper(v: bigint | number): void {
    this.ensure(8)
    this.buf.writeBigUInt64BE(BigInt(v), this.pos)
    this.pos += 8
  }

  double(v: number): void {
    this.ensure(8)
    this.buf.writeDoubleBE(v, this.pos)
    this.pos += 8
  }

  bool(v: boolean): void {
    this.int(v ? 1 : 0)
  }

  /** Fixed-length opaque: exactly n bytes plus padding, no length word. */
  fixedOpaque(data: Uint8Array, n: number): void {
    if (data.length !== n) throw new XdrError(`fixed opaque needs ${n} bytes, got ${data.length}`)
    const pad = PAD[n & 3]
    this.ensure(n + pad)
    this.buf.set(data, this.pos)
    this.pos += n
    for (let i = 0; i < pad; i++) this.buf[this.pos++] = 0
  }

  opaque(data: Uint8Array, max: number): void {
    if (data.length > max) throw new XdrError(`opaque of ${data.length} bytes exceeds its limit of ${max}`)
    this.uint(data.length)
    const pad = PAD[data.length & 3]
    this.ensure(data.length + pad)
    this.buf.set(data, this.pos)
    this.pos += data.length
    for (let i = 0; i < pad; i++) this.buf[this.pos++] = 0
  }

  string(s: string, max: number): void {
    const len = Buffer.byteLength(s)
    if (len > max) throw new XdrError(`string of ${len} bytes exceeds its limit of ${max}`)
    const pad = PAD[len & 3]
    this.ensure(4 + len + pad)
    this.buf.writeUInt32BE(len, this.pos)
    this.pos += 4
    this.buf.write(s, this.pos, len, 'utf8')
    this.pos += len
    for (let i = 0; i < pad; i++) this.buf[this.pos++] = 0
  }

  bytes(data: Uint8Array): void {
    this.ensure(data.length)
    this.buf.set(data, this.pos)
    this.pos += data.length
  }

  result(): Buffer {
    return this.buf.subarray(0, this.pos)
  }
}

export class XdrReader {
  readonly buf: Buffer
  pos: number
  readonly end: number

  constructor(buf: Buffer, start = 0, end = buf.length) {
    this.buf = buf
    this.pos = start
    this.end = end
  }

  private need(n: number): void {
    if (this.pos + n > this.end) throw new XdrError('message payload too short')
  }

  int(): number {
    this.need(4)
    const v = this.buf.readInt32BE(this.pos)
    this.pos += 4
    return v
  }

  uint(): number {
    this.need(4)
    const v = this.buf.readUInt32BE(this.pos)
    this.pos += 4
    return v
  }

  hyper(): bigint {
    this.need(8)
    const v = this.buf.readBigInt64BE(this.pos)
    this.pos += 8
    return v
  }

  uhyper(): bigint {
    this.need(8)
    const v = this.buf.readBigUInt64BE(this.pos)
    this.pos += 8
    return v
  }

  double(): number {
    this.need(8)
    const v = this.buf.readDoubleBE(this.pos)
    this.pos += 8
    return v
  }

  /** Any non-zero word is true, as libvirt's XDR decoder reads it (some clients send 0x01000000). */
  bool(): boolean {
    return this.int() !== 0
  }

  fixedOpaque(n: number): Buffer {
    const total = n + PAD[n & 3]
    this.need(total)
    const out = Buffer.from(this.buf.subarray(this.pos, this.pos + n))
    this.pos += total
    return out
  }

  opaque(max: number): Buffer {
    const len = this.uint()
    if (len > max) throw new XdrError(`opaque length ${len} exceeds its limit of ${max}`)
    return this.fixedOpaque(len)
  }

  string(max: number): string {
    const len = this.uint()
    if (len > max) throw new XdrError(`string length ${len} exceeds its limit of ${max}`)
    const total = len + PAD[len & 3]
    this.need(total)
    const s = decodeUtf8(this.buf, this.pos, this.pos + len)
    this.pos += total
    return s
  }

  remaining(): number {
    return this.end - this.pos
  }

  /** Asserts the payload was consumed exactly: trailing bytes mean a malformed message. */
  done(): void {
    if (this.pos !== this.end) throw new XdrError(`${this.end - this.pos} unexpected trailing bytes in message payload`)
  }
}

/**
 * UTF-8 text. Bytes that are not UTF-8 become U+DC80..U+DCFF (lone surrogates), so that a reader
 * can refuse them and name them as libvirt does (the XML reader: "Input is not proper UTF-8").
 */
export function decodeUtf8(buf: Buffer, start: number, end: number): string {
  const s = buf.toString('utf8', start, end)
  if (s.indexOf('\ufffd') < 0 || isUtf8(buf.subarray(start, end))) return s
  let out = ''
  let i = start
  while (i < end) {
    const b = buf[i]
    let n: number
    let cp = 0
    let min = 0
    if (b < 0x80) n = 0
    else if (b >= 0xc2 && b <= 0xdf) [n, cp, min] = [1, b & 0x1f, 0x80]
    else if (b >= 0xe0 && b <= 0xef) [n, cp, min] = [2, b & 0x0f, 0x800]
    else if (b >= 0xf0 && b <= 0xf4) [n, cp, min] = [3, b & 0x07, 0x10000]
    else n = -1
    let j = 1
    for (; n > 0 && j <= n && i + j < end && (buf[i + j] & 0xc0) === 0x80; j++) cp = (cp << 6) | (buf[i + j] & 0x3f)
    if (n === 0) {
      out += String.fromCharCode(b)
      i++
    } else if (n > 0 && j === n + 1 && cp >= min && cp <= 0x10ffff && (cp < 0xd800 || cp > 0xdfff)) {
      out += String.fromCodePoint(cp)
      i += n + 1
    } else {
      out += String.fromCharCode(0xdc00 + b)
      i++
    }
  }
  return out
}
