/**
 * Busy polling: reading a socket's fd directly for a short window instead of sleeping in the
 * event loop, for peers that answer within microseconds. Linux only (uses the libuv handle's fd).
 */
import {readSync} from 'node:fs'
import type {Socket} from 'node:net'

const pollBuf = Buffer.allocUnsafe(65536)

/** The fd under a plain (non-TLS) socket, or undefined when it cannot be polled. */
export function pollableFd(socket: Socket): number | undefined {
  if ((socket as {encrypted?: boolean}).encrypted) return undefined
  const fd = (socket as unknown as {_handle?: {fd?: number}})._handle?.fd
  return fd === undefined || fd < 0 ? undefined : fd
}

/**
 * One non-blocking read: a copy of the bytes, null when nothing is there yet (EAGAIN), or 'end'
 * on EOF or error (libuv sees those too and closes the socket). EAGAIN is the common case while
 * spinning, so no stack trace is built for it.
 */
export function readNow(fd: number): Buffer | null | 'end' {
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = 0
  try {
    const n = readSync(fd, pollBuf, 0, pollBuf.length, null)
    return n === 0 ? 'end' : Buffer.from(pollBuf.subarray(0, n))
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EAGAIN' ? null : 'end'
  } finally {
    Error.stackTraceLimit = limit
  }
}
