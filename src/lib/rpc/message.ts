/**
 * libvirt RPC packets: a 4-byte total length, a 24-byte header, then an XDR payload.
 * FrameDecoder splits a byte stream into packets and enforces libvirt's size limits.
 */
import {XdrReader, XdrWriter} from './xdr.js'
import {VirError} from '../errors.js'
import * as t from './codec.js'
import {takePacketBuffer} from './packet-pool.js'

export const MESSAGE_MAX = 33554432
export const HEADER_SIZE = 24
export const LEN_SIZE = 4
export const STREAM_CHUNK_MAX = 262120

export const MessageType = {
  CALL: 0,
  REPLY: 1,
  MESSAGE: 2,
  STREAM: 3,
  CALL_WITH_FDS: 4,
  REPLY_WITH_FDS: 5,
  STREAM_HOLE: 6,
} as const

export const MessageStatus = {OK: 0, ERROR: 1, CONTINUE: 2} as const

export interface Header {
  prog: number
  vers: number
  proc: number
  type: number
  serial: number
  status: number
}

export interface Packet extends Header {
  /** The whole packet; the payload is buf[28..]. */
  buf: Buffer
}

export const PAYLOAD_OFFSET = LEN_SIZE + HEADER_SIZE
/** Where the serial sits in a packet (after the length word, program, version, procedure, type). */
export const SERIAL_OFFSET = 20

export function readHeader(buf: Buffer): Header {
  return {
    prog: buf.readUInt32BE(4),
    vers: buf.readUInt32BE(8),
    proc: buf.readInt32BE(12),
    type: buf.readInt32BE(16),
    serial: buf.readUInt32BE(SERIAL_OFFSET),
    status: buf.readInt32BE(24),
  }
}

/** Starts a packet: reserves the length word and writes the header. Finish with `finishPacket`. */
export function startPacket(h: Header, sizeHint = 256): XdrWriter {
  const w = new XdrWriter(sizeHint)
  w.uint(0)
  w.uint(h.prog)
  w.uint(h.vers)
  w.int(h.proc)
  w.int(h.type)
  w.uint(h.serial)
  w.int(h.status)
  return w
}

export function finishPacket(w: XdrWriter): Buffer {
  if (w.pos - LEN_SIZE > MESSAGE_MAX) throw new VirError(39, 7, `packet of ${w.pos} bytes exceeds the maximum message size`)
  w.buf.writeUInt32BE(w.pos, 0)
  return w.result()
}

export function buildPacket<T>(h: Header, codec: t.Codec<T>, body: T): Buffer {
  const w = startPacket(h)
  codec.enc(w, body)
  return finishPacket(w)
}

// remote_nonnull_domain / network are needed by the error struct; the full set lives in programs/remote.ts.
const errorDomainHandle = t.struct({name: t.nonnullString, uuid: t.uuid, id: t.int})
const errorNetworkHandle = t.struct({name: t.nonnullString, uuid: t.uuid})

/** virNetMessageError / remote_error. */
export const errorStruct = t.struct({
  code: t.int,
  domain: t.int,
  message: t.optString,
  level: t.int,
  dom: t.optional(errorDomainHandle),
  str1: t.optString,
  str2: t.optString,
  str3: t.optString,
  int1: t.int,
  int2: t.int,
  net: t.optional(errorNetworkHandle),
})
export type WireError = t.TypeOf<typeof errorStruct>

export function toWireError(err: VirError): WireError {
  return {
    code: err.code,
    domain: err.domain,
    message: err.message,
    level: 2,
    dom: null,
    str1: err.str1 ?? null,
    str2: err.str2 ?? null,
    str3: err.str3 ?? null,
    int1: err.int1,
    int2: err.int2,
    net: null,
  }
}

export function fromWireError(e: WireError): VirError {
  let code = e.code
  // Clients relabel "unknown procedure" as "not supported", as libvirt's client does.
  if ((e.domain === 7 || e.domain === 13) && code === 39 && e.message?.startsWith('unknown procedure')) code = 3
  return new VirError(code, e.domain, e.message ?? 'unknown error', {
    str1: e.str1 ?? undefined,
    str2: e.str2 ?? undefined,
    str3: e.str3 ?? undefined,
    int1: e.int1,
    int2: e.int2,
  })
}

export function buildErrorReply(h: Header, err: VirError, type: number = MessageType.REPLY): Buffer {
  return buildPacket({...h, type, status: MessageStatus.ERROR}, errorStruct, toWireError(err))
}

export class FrameError extends Error {}

const EMPTY = Buffer.alloc(0)

/** A packet at least this long is assembled in a buffer of its own, which a reader may fill in place. */
const ASSEMBLE_MIN = 65536

/**
 * Accumulates stream bytes and yields whole packets. A length word outside libvirt's limits is a
 * protocol violation: the caller must drop the connection.
 */
export class FrameDecoder {
  /** Bytes being parsed, from `off` on. */
  private buf: Buffer = EMPTY
  private off = 0
  /** Later bytes, kept apart until the partial packet at `off` can be completed. */
  private chunks: Buffer[] = []
  private have = 0
  private readonly max: number
  /** A large packet being assembled (see into()), and how many of its bytes are there. */
  private asm: Buffer | undefined
  private asmFill = 0

  constructor(max = MESSAGE_MAX) {
    this.max = max
  }

  /** Feeds bytes; calls onPacket for each complete packet. Throws FrameError on a bad length. */
  push(data: Buffer, onPacket: (p: Packet) => void): void {
    this.append(data)
    for (let p = this.take(); p; p = this.take()) onPacket(p)
  }

  /** Adds bytes without parsing them; `take` yields the packets. */
  append(data: Buffer): void {
    if (data.length === 0) return
    if (this.asm) {
      const want = this.asm.length - this.asmFill
      // Read in place (into()): nothing to copy.
      if (data.buffer === this.asm.buffer && data.byteOffset === this.asm.byteOffset + this.asmFill && data.length <= want) {
        this.asmFill += data.length
        return
      }
      const n = Math.min(want, data.length)
      data.copy(this.asm, this.asmFill, 0, n)
      this.asmFill += n
      // The rest starts the next packet: held until take() has yielded the assembled one.
      if (n < data.length) {
        this.chunks.push(data.subarray(n))
        this.have += data.length - n
      }
      return
    }
    if (this.off >= this.buf.length && this.have === 0) {
      this.buf = data
      this.off = 0
    } else {
      this.chunks.push(data)
      this.have += data.length
    }
  }

  /**
   * Where the next `n` bytes may be read in place: the rest of the large packet being assembled,
   * when exactly `n` bytes of it are missing; else undefined (read elsewhere and append()).
   */
  into(n: number): Buffer | undefined {
    if (!this.asm || this.asm.length - this.asmFill !== n) return undefined
    return this.asm.subarray(this.asmFill)
  }

  /**
   * The next complete packet, or undefined until more bytes arrive. Throws FrameError on a
   * length word outside libvirt's limits. A packet is a view of the received bytes (no copy).
   */
  take(): Packet | undefined {
    if (this.asm) {
      if (this.asmFill < this.asm.length) return undefined
      const pkt = this.asm
      this.asm = undefined
      this.asmFill = 0
      if (this.have) {
        this.buf = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks)
        this.off = 0
        this.chunks = []
        this.have = 0
      }
      return packetOf(pkt)
    }
    for (;;) {
      const avail = this.buf.length - this.off
      if (avail >= LEN_SIZE) {
        const len = this.buf.readUInt32BE(this.off)
        if (len < LEN_SIZE + HEADER_SIZE || len - LEN_SIZE > this.max) {
          throw new FrameError(`packet length ${len} outside the allowed range ${LEN_SIZE + HEADER_SIZE}..${this.max + LEN_SIZE}`)
        }
        if (avail >= len) {
          const pkt = this.buf.subarray(this.off, this.off + len)
          this.off += len
          if (this.off === this.buf.length && this.have === 0) {
            this.buf = EMPTY
            this.off = 0
          }
          return packetOf(pkt)
        }
        if (avail + this.have < len) {
          // A large packet arrives piecewise: gather it in its own buffer from now on, once.
          if (len >= ASSEMBLE_MIN) this.assemble(len)
          return undefined
        }
      } else if (avail + this.have < LEN_SIZE) return undefined
      // The packet at `off` is complete across the chunks: join them once.
      this.buf = Buffer.concat([this.buf.subarray(this.off), ...this.chunks])
      this.off = 0
      this.chunks = []
      this.have = 0
    }
  }

  /** Moves the partial packet at `off` (all the bytes held, fewer than `len`) into a buffer of its own. */
  private assemble(len: number): void {
    const asm = takePacketBuffer(len)
    let fill = this.buf.copy(asm, 0, this.off)
    for (const c of this.chunks) fill += c.copy(asm, fill)
    this.asm = asm
    this.asmFill = fill
    this.buf = EMPTY
    this.off = 0
    this.chunks = []
    this.have = 0
  }

  /** Bytes received and not yet taken as packets. */
  pending(): number {
    return this.buf.length - this.off + this.have + this.asmFill
  }
}

function packetOf(pkt: Buffer): Packet {
  return {
    prog: pkt.readUInt32BE(4),
    vers: pkt.readUInt32BE(8),
    proc: pkt.readInt32BE(12),
    type: pkt.readInt32BE(16),
    serial: pkt.readUInt32BE(SERIAL_OFFSET),
    status: pkt.readInt32BE(24),
    buf: pkt,
  }
}

export function payloadReader(p: Packet): XdrReader {
  return new XdrReader(p.buf, PAYLOAD_OFFSET, p.buf.length)
}
