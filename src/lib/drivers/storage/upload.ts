/**
 * vol-upload into files and block devices: in place, through the page cache, as libvirtd writes
 * (from `offset`, at most `length` bytes when not 0; bytes past the upload keep their old content).
 *
 * The stream's packets are gathered into batches of BATCH bytes, each written with one writev
 * straight from the packets' buffers, one batch at a time behind the stream; the packets' buffers
 * are given back (packet-pool.ts) once written. At most MAX_QUEUED bytes wait for the disk: past
 * that, write() holds the stream, which stops reading the client (a slow disk never grows the
 * daemon's memory). A hole of a sparse upload reads as zeros afterwards: punched in a regular file,
 * written as zeros on a block device (as libvirt does).
 *
 * A regular file is marked as being uploaded before its first byte (upload-mark.ts), and the mark
 * says the upload is complete only once every byte is written: an upload cut short (daemon killed,
 * client gone or aborting, write error) leaves the volume known as incomplete, and the driver
 * refuses to hand it out as a whole volume until it is uploaded again or deleted.
 */
import * as fsp from 'node:fs/promises'
import type {FileHandle} from 'node:fs/promises'

import {VirError} from '../../errors.js'
import type {VolChunk, VolUpload} from '../storage-vol-types.js'
import {sysErr} from './file-ops.js'
import {punchHole} from './seek-data.js'
import {fileId, markUploading, markWritten, uploadEnded} from './upload-mark.js'

/** Upload bytes gathered per write, and the most waiting for the disk. */
const BATCH = 4 << 20
const MAX_QUEUED = 16 << 20
const ZEROS = Buffer.alloc(1 << 20)

/** writev until every byte is written (a short write goes on where it stopped). */
export async function writevAll(fh: FileHandle, bufs: Buffer[], at: number): Promise<void> {
  let left = bufs
  let pos = at
  while (left.length > 0) {
    let {bytesWritten} = await fh.writev(left, pos)
    if (bytesWritten === 0) throw Object.assign(new Error('no progress writing'), {code: 'EIO'})
    pos += bytesWritten
    const next: Buffer[] = []
    for (const b of left) {
      if (bytesWritten >= b.length) {
        bytesWritten -= b.length
        continue
      }
      next.push(bytesWritten > 0 ? b.subarray(bytesWritten) : b)
      bytesWritten = 0
    }
    left = next
  }
}

/** Makes [at, at+len) read as zeros; `size`: the file's size (regular files), past which nothing needs clearing. */
async function zeroRange(fh: FileHandle, size: bigint | undefined, at: bigint, len: bigint): Promise<void> {
  if (size !== undefined) {
    // Past the end there is nothing to clear: the final size is set at finish.
    const end = at + len < size ? at + len : size
    if (end <= at || punchHole(fh.fd, at, end - at)) return
    len = end - at
  }
  for (let p = at; p < at + len;) {
    const n = at + len - p < BigInt(ZEROS.length) ? Number(at + len - p) : ZEROS.length
    await writevAll(fh, [ZEROS.subarray(0, n)], Number(p))
    p += BigInt(n)
  }
}

/**
 * Opens an upload into `path`; `done` runs once it is over: `complete` true when it finished, false
 * when it was aborted or failed (the volume then holds part of the upload), undefined when it could
 * not start (nothing written).
 */
export async function openUpload(path: string, offset: bigint, length: bigint, done: (complete?: boolean) => void): Promise<VolUpload> {
  let fh: FileHandle
  try {
    fh = await fsp.open(path, 'r+')
  } catch (err) {
    done()
    throw sysErr(`Unable to open '${path}'`, err)
  }
  const st = await fh.stat({bigint: true})
  const isFile = st.isFile()
  // The mark is made durable while the first bytes arrive: the writes wait for it (see `chain`).
  const marked = isFile ? markUploading(path, fileId(st)) : Promise.resolve(false)
  let pos = offset
  // The file's size as the writes (in order, on `chain`) leave it: nothing else writes it meanwhile.
  let size = st.size
  let written = 0n
  let over = false
  // The batch being gathered, and the packets' buffers to give back once it is written.
  let batch: Buffer[] = []
  let releases: Array<() => void> = []
  let batchLen = 0
  let batchAt = pos
  let queued = 0
  /** The writes, one after the other; `chain` is the last, `inFlight` those not done, oldest first. */
  let chain: Promise<void> = marked.then(() => {})
  const inFlight: Array<Promise<void>> = []
  let failure: unknown
  const queue = (n: number, job: () => Promise<void>, after: Array<() => void> = []) => {
    queued += n
    const p: Promise<void> = chain
      .then(() => (failure === undefined ? job() : undefined))
      .catch((err: unknown) => {
        failure ??= err
      })
      .finally(() => {
        queued -= n
        void inFlight.shift()
        for (const r of after) r()
      })
    chain = p
    inFlight.push(p)
  }
  const flush = () => {
    if (batchLen === 0) return
    const bufs = batch
    const at = Number(batchAt)
    const upTo = BigInt(at + batchLen)
    queue(
      batchLen,
      async () => {
        await writevAll(fh, bufs, at)
        if (upTo > size) size = upTo
      },
      releases,
    )
    batch = []
    releases = []
    batchLen = 0
  }
  const end = async (complete = false) => {
    if (over) return
    over = true
    flush()
    await chain
    await fh.close().catch(() => {})
    if (await marked) uploadEnded(path)
    done(complete && failure === undefined)
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
      await end()
      throw sysErr(`cannot write to '${path}'`, err)
    }
  }
  return {
    async write(c: VolChunk, release?: () => void) {
      await check()
      try {
        if (Buffer.isBuffer(c)) {
          const n = Number(room(BigInt(c.length)))
          if (batchLen === 0) batchAt = pos
          batch.push(n === c.length ? c : c.subarray(0, n))
          if (release) releases.push(release)
          batchLen += n
          pos += BigInt(n)
          written += BigInt(n)
          if (batchLen >= BATCH) flush()
          // The disk is behind: hold the stream until the oldest batches are written.
          while (queued > MAX_QUEUED && failure === undefined && inFlight.length > 0) await inFlight[0]
        } else {
          flush()
          const n = room(c.hole)
          const at = pos
          queue(0, () => zeroRange(fh, isFile ? size : undefined, at, n))
          pos += n
          written += n
        }
      } catch (err) {
        release?.()
        await end()
        throw err
      }
    },
    async finish() {
      flush()
      await chain
      await check()
      try {
        if (isFile && size < pos) await fh.truncate(Number(pos))
        // Complete: every byte is in the page cache. The mark says so, the data is synced after.
        if (await marked) markWritten(path, fileId(st))
        await end(true)
      } catch (err) {
        await end()
        throw err instanceof VirError ? err : sysErr(`cannot finish upload to '${path}'`, err)
      }
    },
    abort: () => end(),
  }
}
