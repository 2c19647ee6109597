/**
 * STORAGE_VOL_UPLOAD and STORAGE_VOL_DOWNLOAD: the driver's transfer carried by an RPC stream
 * (rpc/stream.ts), sparse when the client asks for it, with the stream's flow control both ways
 * (a slow reader holds the file reads, a slow disk holds the client's socket).
 */
import {ErrorDomain, VirError, errors} from '../../errors.js'
import {VolTransferFlags, type VolDownload} from '../../drivers/storage-vol-types.js'
import {giveFrame, openServerStream, STREAMS_DOMAIN, takeFrame, untilDrained, type DataFrame, type ServerStream} from '../../rpc/stream.js'
import {P, poolDrv, type On} from './context.js'

const S = ErrorDomain.STORAGE

function asVirError(err: unknown): VirError {
  return err instanceof VirError ? err : new VirError(1, STREAMS_DOMAIN, `stream had I/O failure: ${(err as Error).message}`)
}

/** Sends the download's chunks, waiting for the stream to drain whenever its window is full. */
async function pump(st: ServerStream, down: VolDownload): Promise<void> {
  const ready = () => untilDrained(st)
  try {
    // The next read runs while the socket drains the previous chunk.
    const prefetch = () => {
      const p = down.next()
      p.catch(() => undefined) // a read still running when the stream closes fails unobserved
      return p
    }
    let next = prefetch()
    for (;;) {
      if (st.closed) return
      const c = await next
      if (st.closed) return
      if (c === null) {
        st.end()
        return
      }
      next = prefetch()
      const room = Buffer.isBuffer(c) ? st.write(c) : st.writeHole(c.hole)
      if (!room) await ready()
    }
  } catch (err) {
    st.fail(asVirError(err))
  } finally {
    if (st.closed) await down.close()
  }
}

/**
 * STREAM packets per frame (about 1.25 MiB per read: a 1 MiB extent of a sparse file goes in one
 * read, a packet's data being a little under 256 KiB), and frames per download: one being read, the
 * others on the socket.
 */
const FRAME_PACKETS = 5
const FRAMES = 3

/**
 * Sends a download that reads straight into the stream's packets: a few frames in rotation, each
 * filled by the file (readv) while the others are on the socket, refilled once written. Memory stays
 * at FRAMES frames whatever the client's pace; nothing is copied or allocated per packet, and the
 * frames serve the next download once this one is over (stream-frame.ts).
 */
async function pumpFrames(st: ServerStream, nextInto: NonNullable<VolDownload['nextInto']>): Promise<void> {
  const free: DataFrame[] = Array.from({length: FRAMES}, () => takeFrame(FRAME_PACKETS))
  let pumping = true
  let wake: (() => void) | undefined
  const release = (f: DataFrame, reusable: boolean) => {
    if (!reusable) return
    if (!pumping) {
      giveFrame(f)
      return
    }
    free.push(f)
    wake?.()
  }
  const onClose = () => wake?.()
  st.on('close', onClose)
  try {
    for (;;) {
      while (free.length === 0 && !st.closed) await new Promise<void>((r) => (wake = r))
      wake = undefined
      const f = free.pop()
      if (!f) return
      if (st.closed) {
        free.push(f)
        return
      }
      const r = await nextInto(f.slots)
      if (st.closed || r === null) {
        free.push(f)
        if (r === null) st.end()
        return
      }
      if (typeof r === 'number') st.sendFrame(f, r, (reusable) => release(f, reusable))
      else {
        free.push(f)
        if (!st.writeHole(r.hole)) await untilDrained(st)
      }
    }
  } finally {
    pumping = false
    st.off('close', onClose)
    for (const f of free.splice(0)) giveFrame(f)
  }
}

export function registerVolumeStreams(on: On): void {
  on(P.STORAGE_VOL_UPLOAD, async (conn, {vol, offset, length, flags}) => {
    const call = conn.currentCall
    const drv = poolDrv(conn)
    if (!drv.volUpload) throw errors.noSupport(S, 'virStorageVolUpload')
    const up = await drv.volUpload(vol, offset, length, flags)
    const st = openServerStream(conn, {allowSkip: (flags & VolTransferFlags.SPARSE_STREAM) !== 0}, call)
    st.setConsumer({
      chunk: (c, release) => up.write(c, release),
      finish: () => up.finish(),
      abort: () => void up.abort(),
    })
  })
  on(P.STORAGE_VOL_DOWNLOAD, async (conn, {vol, offset, length, flags}) => {
    const call = conn.currentCall
    const drv = poolDrv(conn)
    if (!drv.volDownload) throw errors.noSupport(S, 'virStorageVolDownload')
    const down = await drv.volDownload(vol, offset, length, flags)
    const st = openServerStream(conn, {allowSkip: (flags & VolTransferFlags.SPARSE_STREAM) !== 0}, call)
    st.on('close', () => void down.close())
    const nextInto = down.nextInto?.bind(down)
    if (nextInto) {
      void pumpFrames(st, nextInto)
        .catch((err: unknown) => st.fail(asVirError(err)))
        .finally(() => {
          if (st.closed) void down.close()
        })
    } else void pump(st, down)
  })
}
