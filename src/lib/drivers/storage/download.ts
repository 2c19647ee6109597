/**
 * vol-download of files and block devices: a byte range (offset, length), sparse or not.
 *
 * A dense download, or a sparse one of a regular file (the kernel says where the holes are: lseek
 * SEEK_DATA / SEEK_HOLE), reads with readv straight into the buffers the RPC stream sends
 * (nextInto): nothing is copied in the daemon. A sparse download of something else (a block device)
 * reads blocks and sends the zero runs of SEGMENT bytes as holes (next).
 */
import * as fsp from 'node:fs/promises'
import type {FileHandle} from 'node:fs/promises'

import {ErrorDomain, errors} from '../../errors.js'
import type {VolChunk, VolDownload} from '../storage-vol-types.js'
import {sysErr} from './file-ops.js'
import {nextData} from './seek-data.js'

const S = ErrorDomain.STORAGE
/** Bytes read per step of a zero-scanning download (a zero run of this size becomes a hole). */
const READ_SIZE = 1 << 20
const ZERO = Buffer.alloc(READ_SIZE)
/** Granularity of hole detection on sparse downloads (a filesystem block). */
const SEGMENT = 4096

function isZero(b: Buffer): boolean {
  return b.length === ZERO.length ? b.equals(ZERO) : b.equals(ZERO.subarray(0, b.length))
}

/** The size of a file or block device, and whether it is a regular file. */
async function sizeOf(fh: FileHandle, path: string): Promise<{size: bigint; isFile: boolean}> {
  const st = await fh.stat({bigint: true})
  if (!st.isBlockDevice()) return {size: st.size, isFile: st.isFile()}
  const name = (await fsp.realpath(path)).replace(/^\/dev\//, '')
  const sectors = await fsp.readFile(`/sys/class/block/${name}/size`, 'utf8').catch(() => '0')
  return {size: BigInt(sectors.trim() || '0') * 512n, isFile: false}
}

/** The first `n` bytes of `bufs` (views, no copy). */
function firstBytes(bufs: Buffer[], n: number): Buffer[] {
  const out: Buffer[] = []
  for (const b of bufs) {
    if (n <= 0) break
    out.push(b.length <= n ? b : b.subarray(0, n))
    n -= b.length
  }
  return out
}

/** Opens a download of `path` from `offset` for `length` bytes (0: to the end). */
export async function openDownload(path: string, offset: bigint, length: bigint, sparse: boolean, done: () => void): Promise<VolDownload> {
  let fh: FileHandle
  try {
    fh = await fsp.open(path, 'r')
  } catch (err) {
    done()
    throw sysErr(`Unable to open '${path}'`, err)
  }
  const {size, isFile} = await sizeOf(fh, path)
  if (offset > size) {
    await fh.close()
    done()
    throw errors.invalidArg(S, `offset ${offset} is beyond the end of the volume (${size} bytes)`)
  }
  const stop = length === 0n || offset + length > size ? size : offset + length
  let pos = offset
  let closed = false
  // Only the chunked reads (next) need a buffer of their own: nextInto reads into the caller's.
  let buf: Buffer | undefined
  /** Chunks read but not yet handed out (a read may hold data and holes). */
  const ready: VolChunk[] = []
  let hole = 0n
  // Whether the kernel can tell where the holes are (undefined: lseek is not available here).
  // The first extent, asked for here to learn whether lseek works, is the first one used.
  let first = sparse && isFile ? nextData(fh.fd, offset) : undefined
  let useSeek = first !== undefined
  const extentFrom = (at: bigint) => {
    if (first === undefined || at !== offset) return nextData(fh.fd, at)
    const e = first
    first = undefined
    return e
  }
  let extentEnd = -1n
  let fdClosed = false
  const closeFd = async () => {
    if (fdClosed) return
    fdClosed = true
    await fh.close().catch(() => {})
  }
  /** The transfer is over (the stream closed): the volume is no longer in use. */
  const close = async () => {
    if (closed) return
    closed = true
    await closeFd()
    done()
  }
  /**
   * At the end of an extent, when the kernel knows the holes (lseek): moves to the next data and
   * returns the hole skipped, if any (to the end when no data follows). Null when data follows at
   * once, or lseek is not used (or failed after all: the rest then goes as data, read).
   */
  const skipHole = (): {hole: bigint} | null => {
    if (pos >= stop || !useSeek || pos < extentEnd) return null
    const e = extentFrom(pos)
    if (e === undefined) {
      useSeek = false
      return null
    }
    const next = e === null || e.start >= stop ? stop : e.start
    if (e !== null) extentEnd = e.end < stop ? e.end : stop
    const hole = next - pos
    pos = next
    return hole > 0n ? {hole} : null
  }
  /** Reads the next block; zero runs of SEGMENT bytes become holes when sparse, consecutive holes merge. */
  const fill = async (): Promise<boolean> => {
    while (ready.length === 0) {
      if (pos >= stop) return false
      const skipped = skipHole()
      if (skipped) {
        ready.push(skipped)
        return true
      }
      const limit = useSeek ? extentEnd : stop
      const want = limit - pos < BigInt(READ_SIZE) ? Number(limit - pos) : READ_SIZE
      buf ??= Buffer.allocUnsafe(READ_SIZE)
      const {bytesRead} = await fh.read(buf, 0, want, Number(pos))
      if (bytesRead === 0) return false
      pos += BigInt(bytesRead)
      if (!sparse || useSeek) {
        ready.push(Buffer.from(buf.subarray(0, bytesRead)))
        return true
      }
      if (isZero(buf.subarray(0, bytesRead))) {
        hole += BigInt(bytesRead)
        if (pos >= stop) {
          ready.push({hole})
          hole = 0n
        }
        continue
      }
      let dataStart = -1
      for (let off = 0; off < bytesRead; off += SEGMENT) {
        const seg = buf.subarray(off, Math.min(off + SEGMENT, bytesRead))
        if (isZero(seg)) {
          if (dataStart >= 0) ready.push(Buffer.from(buf.subarray(dataStart, off)))
          dataStart = -1
          hole += BigInt(seg.length)
        } else {
          if (hole > 0n) ready.push({hole})
          hole = 0n
          if (dataStart < 0) dataStart = off
        }
      }
      if (dataStart >= 0) ready.push(Buffer.from(buf.subarray(dataStart, bytesRead)))
      // A hole at the end of this block may continue in the next: keep it open unless this is the end.
      if (hole > 0n && pos >= stop) {
        ready.push({hole})
        hole = 0n
      }
    }
    return true
  }
  /** Reads into `into`; holes from the kernel when sparse. */
  const nextInto = async (into: Buffer[]): Promise<number | {hole: bigint} | null> => {
    if (closed || fdClosed) return null
    const skipped = skipHole()
    if (skipped) return skipped
    const limit = useSeek ? extentEnd : stop
    if (pos >= limit) {
      // End of data; the volume stays in use until the client finishes the stream.
      await closeFd()
      return null
    }
    const room = into.reduce((n, b) => n + b.length, 0)
    const want = limit - pos < BigInt(room) ? Number(limit - pos) : room
    const {bytesRead} = await fh.readv(firstBytes(into, want), Number(pos))
    if (bytesRead === 0) {
      await closeFd()
      return null
    }
    pos += BigInt(bytesRead)
    return bytesRead
  }
  return {
    ...(!sparse || useSeek ? {nextInto} : {}),
    async next() {
      if (closed || fdClosed) return null
      if (ready.length === 0 && !(await fill())) {
        if (hole > 0n) {
          const h = hole
          hole = 0n
          return {hole: h}
        }
        // End of data; the volume stays in use until the client finishes the stream.
        await closeFd()
        return null
      }
      return ready.shift() ?? null
    },
    close,
  }
}
