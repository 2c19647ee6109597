/**
 * Data frames of a daemon's RPC stream: one reusable buffer laid out as consecutive STREAM packets,
 * filled in place by a source (readv) and sent as it is (ServerStream.sendFrame in stream.ts).
 *
 * Frames outlive the transfer that used them: a few are kept (at most POOL_FRAMES, dropped after
 * IDLE_MS unused), so that one download after another neither allocates nor makes V8 collect
 * megabytes of external memory each time. Only a frame whose bytes the socket has taken may come
 * back (a frame still queued on a closed stream's connection is left to the garbage collector).
 */
import {MessageStatus, MessageType, STREAM_CHUNK_MAX} from './message.js'

/** Bytes of a STREAM packet before its data: the length word and the header. */
const DATA_HEADER = 28

/**
 * A reusable buffer laid out as consecutive STREAM packets of STREAM_CHUNK_MAX data bytes each, with
 * the room for each packet's header left before its slot: a source reads straight into `slots`
 * (readv) and ServerStream.sendFrame sends the packets from the same memory.
 */
export interface DataFrame {
  buf: Buffer
  slots: Buffer[]
}

/** A frame for up to `packets` full STREAM packets. */
function dataFrame(packets: number): DataFrame {
  const size = DATA_HEADER + STREAM_CHUNK_MAX
  const buf = Buffer.allocUnsafeSlow(packets * size)
  const slots = Array.from({length: packets}, (_, i) => buf.subarray(i * size + DATA_HEADER, (i + 1) * size))
  return {buf, slots}
}

/** Free frames kept for the next transfer, and how long they stay unused before they are dropped. */
const POOL_FRAMES = 6
const IDLE_MS = 30_000
const pool: DataFrame[] = []
let idle: NodeJS.Timeout | undefined

/** A frame of `packets` packets: a free one when there is one, else a new one. */
export function takeFrame(packets: number): DataFrame {
  const i = pool.findIndex((f) => f.slots.length === packets)
  return i >= 0 ? pool.splice(i, 1)[0] : dataFrame(packets)
}

/** Gives back a frame nothing refers to any more (its bytes written, or never sent). */
export function giveFrame(f: DataFrame): void {
  if (pool.length >= POOL_FRAMES || pool.includes(f)) return
  pool.push(f)
  if (idle) idle.refresh()
  else {
    idle = setTimeout(() => {
      pool.length = 0
      idle = undefined
    }, IDLE_MS)
    idle.unref()
  }
}

/** Frames kept for reuse (tests). */
export function pooledFrames(): number {
  return pool.length
}

/** Writes the headers of the packets that carry the first `bytes` data bytes of `f`; returns where the last ends. */
export function frameHeaders(f: DataFrame, key: {prog: number; vers: number; proc: number; serial: number}, bytes: number): number {
  let off = 0
  for (let left = bytes; left > 0; left -= STREAM_CHUNK_MAX) {
    const n = Math.min(left, STREAM_CHUNK_MAX)
    const b = f.buf
    b.writeUInt32BE(DATA_HEADER + n, off)
    b.writeUInt32BE(key.prog, off + 4)
    b.writeUInt32BE(key.vers, off + 8)
    b.writeInt32BE(key.proc, off + 12)
    b.writeInt32BE(MessageType.STREAM, off + 16)
    b.writeUInt32BE(key.serial, off + 20)
    b.writeInt32BE(MessageStatus.CONTINUE, off + 24)
    off += DATA_HEADER + n
  }
  return off
}
