/**
 * Writing packets that carry descriptors (REPLY_WITH_FDS from a server, CALL_WITH_FDS from a
 * client), as libvirt does: the whole packet first, then each descriptor by its own sendmsg of one
 * zero byte with SCM_RIGHTS. Whatever else is written on the connection meanwhile (events,
 * keepalives, other replies) waits until the descriptors are out, so nothing comes between the
 * packet and its descriptors.
 */
import type {Socket} from 'node:net'
import {closeFds, sendFds} from '../os/fdpass.js'
import {LEN_SIZE, HEADER_SIZE} from './message.js'

/** A handler's result with descriptors to return beside it (REPLY_WITH_FDS). */
export class WithFds<T> {
  constructor(
    readonly value: T,
    /** Descriptors handed over with the reply; the connection closes them once sent (or on failure). */
    readonly fds: number[],
  ) {}
}

/** Where the fd count sits in a packet with descriptors: right after the header. */
export const FD_COUNT_OFFSET = LEN_SIZE + HEADER_SIZE

const ZERO = Buffer.from([0])
/** How long a peer may leave its socket full while descriptors wait to be sent. */
const SEND_TIMEOUT_MS = 30000

interface Queued {
  buf: Buffer
  fds?: number[]
  done?: (err?: Error | null) => void
}

export class FdWriter {
  private busy = false
  private readonly queue: Queued[] = []

  constructor(
    private readonly socket: Socket,
    private readonly fd: number,
    private readonly onError: (err: Error) => void,
  ) {
    socket.once('close', () => {
      for (const q of this.queue.splice(0)) if (q.fds) closeFds(q.fds)
    })
  }

  /**
   * Writes a packet, with descriptors after it when `fds` is given (the writer owns and closes them);
   * `done` runs once it is written. Returns what socket.write returns (true while queued behind
   * descriptors: the queue is flushed as soon as they are out).
   */
  write(buf: Buffer, fds?: number[], done?: (err?: Error | null) => void): boolean {
    if (this.busy) {
      this.queue.push({buf, fds, done})
      return true
    }
    if (!fds) return this.socket.write(buf, done)
    this.busy = true
    return this.socket.write(buf, (err) => {
      if (err) {
        this.abort(fds, err)
        done?.(err)
        return
      }
      this.sendAll(fds).then(
        () => {
          closeFds(fds)
          this.busy = false
          done?.()
          this.flush()
        },
        (e: unknown) => {
          const error = e instanceof Error ? e : new Error(String(e))
          this.abort(fds, error)
          done?.(error)
        },
      )
    })
  }

  private async sendAll(fds: number[]): Promise<void> {
    for (const fd of fds) {
      if (this.socket.destroyed) throw new Error('connection closed before its file descriptors were sent')
      await sendFds(this.fd, ZERO, [fd], SEND_TIMEOUT_MS)
    }
  }

  private flush(): void {
    while (!this.busy && this.queue.length) {
      const q = this.queue.shift()!
      this.write(q.buf, q.fds, q.done)
    }
  }

  private abort(fds: number[], err: Error): void {
    closeFds(fds)
    for (const q of this.queue.splice(0)) if (q.fds) closeFds(q.fds)
    this.onError(err)
  }
}
