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

/**
 * A gap this long between two iterations of a spin means the process was descheduled: the cores
 * are oversubscribed and spinning only takes CPU from the processes that have work.
 */
export const PREEMPTED_NS = 200_000n
/** After this many fruitless sessions in a row, a socket is polled once every 2^MAX_BACKOFF calls. */
const MAX_BACKOFF = 6

/**
 * Whether busy polling pays off on one socket; used where virtproxyd waits for a backend's reply
 * (RpcClient.pollReplies). A session that received nothing (the backend answered later than the
 * window, or the spin was descheduled) makes the socket skip the next 1, 3, 7, ... 63 chances; a
 * session that received something resets it. The daemon's own polling of its clients has no such
 * back-off: behind a proxy it cost a wake-up per call (see RpcConnection.busyPoll).
 */
export class PollGovernor {
  private skip = 0
  private misses = 0

  /** Whether to poll this time. */
  shouldPoll(): boolean {
    if (this.skip === 0) return true
    this.skip--
    return false
  }

  /** Records how a session went. */
  record(received: boolean): void {
    if (received) {
      this.misses = 0
      return
    }
    this.misses = Math.min(this.misses + 1, MAX_BACKOFF)
    this.skip = (1 << this.misses) - 1
  }
}
