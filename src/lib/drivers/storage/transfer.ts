/**
 * vol-upload and vol-download on files and block devices: byte ranges (offset, length) and sparse
 * transfers (holes skipped on upload; on download the holes the kernel reports, SEEK_DATA/SEEK_HOLE,
 * or zero runs where it cannot say).
 *
 * An upload that starts at offset 0 of a regular file goes to a hidden partial file beside it and
 * replaces the volume only when the client finishes: a daemon killed half-way leaves the volume as
 * it was (the partial file is removed at the next start); its bytes bypass the page cache (direct-write.ts).
 * Like libvirtd's, uploads are not fsynced. Uploads at an offset write in place, as
 * libvirt does.
 */
import * as fsp from 'node:fs/promises'
import type {FileHandle} from 'node:fs/promises'

import {VirError} from '../../errors.js'
import type {VolChunk, VolUpload} from '../storage-vol-types.js'
import {partialPath, sysErr} from './file-ops.js'
import {DIRECT_ALIGN, DirectWriter, writevAll} from './direct-write.js'

/** Bytes read per step when copying a volume's tail. */
const READ_SIZE = 1 << 20
/** Upload bytes gathered per write, and the most queued behind the stream. */
const BATCH = 4 << 20
const MAX_QUEUED = 16 << 20
const ZERO = Buffer.alloc(READ_SIZE)

function isZero(b: Buffer): boolean {
  return b.length === ZERO.length ? b.equals(ZERO) : b.equals(ZERO.subarray(0, b.length))
}

/** Opens an upload into `path`; `done` runs once it is over (finished, aborted or failed). */
export async function openUpload(path: string, offset: bigint, length: bigint, done: () => void): Promise<VolUpload> {
  const st = await fsp.stat(path).catch((err: unknown) => {
    throw sysErr(`cannot stat file '${path}'`, err)
  })
  const replace = offset === 0n && st.isFile()
  const target = replace ? partialPath(path) : path
  let fh: FileHandle
  try {
    fh = await fsp.open(target, replace ? 'wx' : 'r+', 0o600)
  } catch (err) {
    done()
    throw sysErr(`Unable to open '${path}'`, err)
  }
  // A new file is written around the page cache (see direct-write.ts); in place, as libvirt does, otherwise.
  const direct = replace ? await DirectWriter.open(target, BATCH + (1 << 20)) : undefined
  let pos = replace ? 0n : offset
  let written = 0n
  let over = false
  // Writes are batched (up to BATCH bytes per writev) and run behind the stream, at most MAX_QUEUED ahead.
  let batch: Buffer[] = []
  let batchLen = 0
  let batchAt = pos
  let queued = 0
  let chain: Promise<void> = Promise.resolve()
  /** The writes still running, oldest first: a full queue waits for the oldest only. */
  const inFlight: Promise<void>[] = []
  let failure: unknown
  /** Queues the batch; `whole` false keeps back the bytes past the last aligned offset for the next one. */
  const flush = (whole = true) => {
    if (batchLen === 0) return
    const keep = whole || !direct ? 0 : Number((batchAt + BigInt(batchLen)) % BigInt(DIRECT_ALIGN))
    const [bufs, rest] = splitTail(batch, keep)
    const at = batchAt
    const n = batchLen - keep
    batch = rest
    batchLen = keep
    batchAt = at + BigInt(n)
    queued += n
    // Buffered writes go one after the other; direct ones run side by side (each has its own
    // staging buffer): a disk answers several in flight faster than one at a time.
    const run = async () => {
      if (failure !== undefined) return
      if (direct) await direct.write(bufs, n, Number(at), fh)
      else await writevAll(fh, bufs, Number(at))
    }
    const job: Promise<void> = (direct ? run() : chain.then(run))
      .catch((err: unknown) => {
        failure ??= err
      })
      .finally(() => {
        queued -= n
        void inFlight.splice(inFlight.indexOf(job), 1)
      })
    if (!direct) chain = job
    inFlight.push(job)
  }
  const end = async (keep: boolean) => {
    if (over) return
    over = true
    await Promise.all(inFlight)
    await direct?.close()
    await fh.close().catch(() => {})
    if (!keep && replace) await fsp.rm(target, {force: true})
    done()
  }
  const room = (n: bigint): bigint => {
    if (length === 0n) return n
    const left = length - written
    if (left <= 0n) throw sysErr('cannot write to stream', {code: 'ENOSPC'})
    return n < left ? n : left
  }
  const check = async () => {
    if (failure !== undefined) {
      const err = failure
      await end(false)
      throw sysErr(`cannot write to '${path}'`, err)
    }
  }
  return {
    async write(c: VolChunk) {
      await check()
      try {
        if (Buffer.isBuffer(c)) {
          const n = Number(room(BigInt(c.length)))
          if (batchLen === 0) batchAt = pos
          batch.push(n === c.length ? c : c.subarray(0, n))
          batchLen += n
          pos += BigInt(n)
          written += BigInt(n)
          if (batchLen >= BATCH) flush(false)
          if (queued > MAX_QUEUED) await inFlight[0]
        } else {
          flush()
          const n = room(c.hole)
          pos += n
          written += n
        }
      } catch (err) {
        await end(false)
        throw err
      }
    },
    async finish() {
      flush()
      await Promise.all(inFlight)
      await check()
      try {
        const cur = (await fh.stat({bigint: true})).size
        if (cur < pos && !st.isBlockDevice()) await fh.truncate(Number(pos))
        if (replace) {
          // The volume's bytes beyond what was uploaded stay as they were.
          const orig = BigInt(st.size)
          if (orig > pos) await copyTail(path, fh, pos, orig)
          await fh.chmod(st.mode & 0o7777)
          await fh.chown(st.uid, st.gid).catch(() => {})
        }
        // No fsync, as libvirtd's upload: the rename makes the new content appear whole to anyone
        // after a daemon crash; surviving power loss is left to the filesystem, as for an in-place write.
        if (replace) await fsp.rename(target, path)
        await end(true)
      } catch (err) {
        await end(false)
        throw err instanceof VirError ? err : sysErr(`cannot finish upload to '${path}'`, err)
      }
    },
    abort: () => end(false),
  }
}

/** Splits `bufs` into everything but its last `keep` bytes, and those. */
function splitTail(bufs: Buffer[], keep: number): [Buffer[], Buffer[]] {
  if (keep === 0) return [bufs, []]
  const head = [...bufs]
  const tail: Buffer[] = []
  let left = keep
  while (left > 0) {
    const b = head.pop()
    if (!b) break
    if (b.length <= left) {
      tail.unshift(b)
      left -= b.length
    } else {
      head.push(b.subarray(0, b.length - left))
      tail.unshift(b.subarray(b.length - left))
      left = 0
    }
  }
  return [head, tail]
}

async function copyTail(src: string, dst: FileHandle, from: bigint, to: bigint): Promise<void> {
  const fh = await fsp.open(src, 'r')
  try {
    const buf = Buffer.alloc(READ_SIZE)
    for (let p = from; p < to;) {
      const {bytesRead} = await fh.read(buf, 0, Number(to - p < BigInt(READ_SIZE) ? to - p : BigInt(READ_SIZE)), Number(p))
      if (bytesRead === 0) break
      if (!isZero(buf.subarray(0, bytesRead))) await dst.write(buf, 0, bytesRead, Number(p))
      p += BigInt(bytesRead)
    }
  } finally {
    await fh.close()
  }
}
