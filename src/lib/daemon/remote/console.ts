/**
 * The REMOTE handlers that carry a stream: DOMAIN_OPEN_CONSOLE (the guest's console, both ways)
 * and DOMAIN_SCREENSHOT (an image, daemon to client). The driver gives Node streams; rpc/stream.ts
 * carries them with bounded buffers both ways.
 */
import type {Duplex} from 'node:stream'
import {ErrorDomain, errors} from '../../errors.js'
import {ioFailure, openServerStream, untilDrained, type ServerStream, type StreamChunk} from '../../rpc/stream.js'
import {P, hv, u, type On} from './context.js'

/** Carries a guest console: guest output to the client, the client's input to the guest. */
function bridge(st: ServerStream, dev: Duplex): void {
  // A pty whose other side (QEMU) went away reads EIO: the guest stopped, the stream ends.
  st.pipeFrom(dev, {onError: (e) => ((e as NodeJS.ErrnoException).code === 'EIO' ? undefined : ioFailure())})
  st.setConsumer({
    chunk: (c: StreamChunk) => {
      if (!Buffer.isBuffer(c) || dev.destroyed) return
      if (!dev.write(c)) return untilDrained(dev)
    },
    finish: () => {
      dev.destroy()
    },
  })
  st.on('close', () => dev.destroy())
}

export function registerConsole(on: On): void {
  on(P.DOMAIN_OPEN_CONSOLE, async (conn, a) => {
    const call = conn.currentCall
    const drv = hv(conn)
    if (!drv.openConsole) throw errors.noSupport(ErrorDomain.DOMAIN, 'virDomainOpenConsole')
    const gc = await drv.openConsole(u(a.dom), a.dev_name, a.flags)
    bridge(openServerStream(conn, {}, call), gc.stream)
  })

  on(P.DOMAIN_SCREENSHOT, async (conn, a) => {
    const call = conn.currentCall
    const drv = hv(conn)
    if (!drv.screenshot) throw errors.noSupport(ErrorDomain.DOMAIN, 'virDomainScreenshot')
    const shot = await drv.screenshot(u(a.dom), a.screen, a.flags)
    const st = openServerStream(conn, {}, call)
    st.pipeFrom(shot.data)
    st.on('close', () => {
      shot.data.destroy()
      shot.cleanup?.()
    })
    return {mime: shot.mime}
  })
}
