/**
 * STORAGE_VOL_UPLOAD and STORAGE_VOL_DOWNLOAD: the driver's transfer carried by an RPC stream
 * (rpc/stream.ts), sparse when the client asks for it, with the stream's flow control both ways
 * (a slow reader holds the file reads, a slow disk holds the client's socket).
 */
import {ErrorDomain, VirError, errors} from '../../errors.js'
import {VolTransferFlags, type VolDownload} from '../../drivers/storage-vol-types.js'
import {openServerStream, STREAMS_DOMAIN, untilDrained, type ServerStream} from '../../rpc/stream.js'
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

export function registerVolumeStreams(on: On): void {
  on(P.STORAGE_VOL_UPLOAD, async (conn, {vol, offset, length, flags}) => {
    const call = conn.currentCall
    const drv = poolDrv(conn)
    if (!drv.volUpload) throw errors.noSupport(S, 'virStorageVolUpload')
    const up = await drv.volUpload(vol, offset, length, flags)
    const st = openServerStream(conn, {allowSkip: (flags & VolTransferFlags.SPARSE_STREAM) !== 0}, call)
    st.setConsumer({
      chunk: (c) => up.write(c),
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
    void pump(st, down)
  })
}
