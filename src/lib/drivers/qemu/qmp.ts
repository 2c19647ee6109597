/**
 * A QMP (QEMU Machine Protocol) client over the monitor's UNIX socket.
 *
 * Protocol: QEMU sends a greeting `{"QMP": {"version": ..., "capabilities": [...]}}`; the client
 * must send `qmp_capabilities` before anything else. Then each command `{"execute", "arguments",
 * "id"}` gets exactly one reply `{"return": ..., "id"}` or `{"error": {"class", "desc"}, "id"}`,
 * and asynchronous events `{"event", "data", "timestamp"}` may arrive at any time. Messages are
 * JSON documents separated by CRLF (QEMU escapes newlines inside strings, so a line is a message).
 *
 * Emits 'event' (QmpEvent) for every asynchronous event and 'close' once when the socket closes.
 * Never emits 'error': failures reject the pending commands and end in 'close'.
 */
import {EventEmitter} from 'node:events'
import net from 'node:net'
import {ErrorCode, ErrorDomain, VirError} from '../../errors.js'
import {sendFds, sendFdsNow, socketFd} from '../../os/fdpass.js'

export interface QmpVersion {
  qemu: {major: number; minor: number; micro: number}
  package: string
}

export interface QmpGreeting {
  version: QmpVersion
  capabilities: string[]
}

export interface QmpEvent {
  event: string
  data: Record<string, unknown>
  timestamp: {seconds: number; microseconds: number}
}

/** A command QEMU answered with an error: OPERATION_FAILED in the QEMU error domain. */
export class QmpError extends VirError {
  readonly qmpClass: string
  readonly desc: string
  readonly command: string

  constructor(command: string, qmpClass: string, desc: string) {
    const detail = `unable to execute QEMU command '${command}': ${desc}`
    super(ErrorCode.OPERATION_FAILED, ErrorDomain.QEMU, `operation failed: ${detail}`, {str1: 'operation failed: %s', str2: detail})
    this.name = 'QmpError'
    this.qmpClass = qmpClass
    this.desc = desc
    this.command = command
  }
}

/** The monitor went away (process exited, socket closed) before a reply arrived. */
export function monitorClosedError(command?: string): VirError {
  const detail = command ? `End of file from qemu monitor (while executing '${command}')` : 'End of file from qemu monitor'
  return new VirError(ErrorCode.OPERATION_FAILED, ErrorDomain.QEMU, `operation failed: ${detail}`, {str1: 'operation failed: %s', str2: detail})
}

/** Bytes sent right away with the descriptors on the first one (0 when the socket is full). */
function sendNow(fd: number, data: Buffer, fds: number[]): number {
  return sendFdsNow(fd, data, fds) ?? 0
}

interface Pending {
  command: string
  resolve: (v: unknown) => void
  reject: (e: Error) => void
  timer?: NodeJS.Timeout
}

export interface QmpConnectOptions {
  /** Give up when the greeting has not arrived within this many ms (default 10000). */
  timeoutMs?: number
  /** Default per-command timeout in ms (default 30000; 0 = none). */
  commandTimeoutMs?: number
}

export class QmpClient extends EventEmitter {
  readonly path: string
  greeting!: QmpGreeting
  private readonly sock: net.Socket
  private buf = ''
  private nextId = 1
  private readonly pending = new Map<string, Pending>()
  private isClosed = false
  private readonly commandTimeoutMs: number
  private greetingWaiter?: {resolve: (g: QmpGreeting) => void; reject: (e: Error) => void}
  /** Set while a command with descriptors is being written: other writes wait behind it. */
  private writeGate: Promise<void> | undefined

  private constructor(path: string, sock: net.Socket, commandTimeoutMs: number) {
    super()
    this.setMaxListeners(0)
    this.path = path
    this.sock = sock
    this.commandTimeoutMs = commandTimeoutMs
    sock.setEncoding('utf8')
    sock.on('data', (chunk: string) => this.onData(chunk))
    sock.on('error', () => {
      // 'close' follows; pending commands are rejected there.
    })
    sock.on('close', () => this.onClose())
  }

  /**
   * Connects to a monitor socket, reads the greeting and negotiates capabilities. Rejects with the
   * socket error (ENOENT, ECONNREFUSED, ...) when nothing listens, so callers can retry.
   */
  static connect(path: string, opts: QmpConnectOptions = {}): Promise<QmpClient> {
    const timeoutMs = opts.timeoutMs ?? 10000
    return new Promise<QmpClient>((resolve, reject) => {
      const sock = net.connect(path)
      let settled = false
      const fail = (err: Error) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        sock.destroy()
        reject(err)
      }
      const timer = setTimeout(
        () =>
          fail(
            new VirError(
              ErrorCode.OPERATION_TIMEOUT,
              ErrorDomain.QEMU,
              `Timed out during operation: QEMU monitor '${path}' sent no greeting within ${timeoutMs} ms`,
            ),
          ),
        timeoutMs,
      )
      sock.once('error', fail)
      sock.once('connect', () => {
        sock.off('error', fail)
        const client = new QmpClient(path, sock, opts.commandTimeoutMs ?? 30000)
        client
          .waitGreeting()
          .then(async (g) => {
            client.greeting = g
            await client.execute('qmp_capabilities')
            if (settled) {
              client.close()
              return
            }
            settled = true
            clearTimeout(timer)
            resolve(client)
          })
          .catch((err: unknown) => {
            client.close()
            fail(err as Error)
          })
      })
    })
  }

  get closed(): boolean {
    return this.isClosed
  }

  private waitGreeting(): Promise<QmpGreeting> {
    return new Promise((resolve, reject) => {
      if (this.isClosed) {
        reject(monitorClosedError())
        return
      }
      this.greetingWaiter = {resolve, reject}
    })
  }

  /**
   * Runs a command whose bytes carry descriptors (SCM_RIGHTS), as `getfd` and `add-fd` need: QEMU
   * keeps what came with the command for it. The caller keeps its own copies of `fds`.
   */
  executeWithFds<T = unknown>(
    command: string,
    args: Record<string, unknown> | undefined,
    fds: number[],
    opts: {timeoutMs?: number} = {},
  ): Promise<T> {
    return this.execute<T>(command, args, {...opts, fds})
  }

  /** Runs a command; resolves with its `return` value, rejects with a QmpError or when the monitor closes. */
  execute<T = unknown>(command: string, args?: Record<string, unknown>, opts: {timeoutMs?: number; fds?: number[]} = {}): Promise<T> {
    if (this.isClosed) return Promise.reject(monitorClosedError(command))
    const id = `vctl-${this.nextId++}`
    const msg: Record<string, unknown> = {execute: command, id}
    if (args !== undefined) msg.arguments = args
    return new Promise<T>((resolve, reject) => {
      const p: Pending = {command, resolve: resolve as (v: unknown) => void, reject}
      const timeoutMs = opts.timeoutMs ?? this.commandTimeoutMs
      if (timeoutMs > 0) {
        p.timer = setTimeout(() => {
          this.pending.delete(id)
          reject(
            new VirError(
              ErrorCode.OPERATION_TIMEOUT,
              ErrorDomain.QEMU,
              `Timed out during operation: QEMU command '${command}' got no reply within ${timeoutMs} ms`,
            ),
          )
        }, timeoutMs)
        p.timer.unref()
      }
      this.pending.set(id, p)
      this.write(JSON.stringify(msg) + '\n', opts.fds)
    })
  }

  /** Writes a command line, with descriptors riding on its bytes when `fds` is given. */
  private write(line: string, fds?: number[]): void {
    if (this.writeGate) {
      const gate = this.writeGate
      this.writeGate = gate.then(() => this.write(line, fds))
      return
    }
    if (!fds) {
      this.sock.write(line)
      return
    }
    const fail = (err: Error) => {
      this.failPending(line, err)
    }
    const fd = socketFd(this.sock)
    if (fd === undefined) {
      fail(new Error('the monitor socket cannot carry file descriptors'))
      return
    }
    const data = Buffer.from(line)
    // Whatever Node still buffers must reach QEMU first; then the bytes go out with the descriptors.
    const sent = this.sock.writableLength === 0 ? sendNow(fd, data, fds) : 0
    if (sent === data.length) return
    this.writeGate = new Promise<void>((resolve) => {
      const rest = async () => {
        if (sent === 0) await new Promise<void>((r) => this.sock.write('', () => r()))
        await sendFds(fd, data.subarray(sent), sent === 0 ? fds : [])
      }
      rest()
        .catch((err: unknown) => fail(err instanceof Error ? err : new Error(String(err))))
        .finally(() => {
          this.writeGate = undefined
          resolve()
        })
    })
  }

  /** A command that could not be written fails at once (its descriptors never reached QEMU). */
  private failPending(line: string, err: Error): void {
    const id = (JSON.parse(line) as {id: string}).id
    const p = this.pending.get(id)
    if (!p) return
    this.pending.delete(id)
    if (p.timer) clearTimeout(p.timer)
    p.reject(new VirError(ErrorCode.SYSTEM_ERROR, ErrorDomain.QEMU, `Unable to send file descriptors to the QEMU monitor: ${err.message}`))
  }

  /** Closes the connection (QEMU keeps running and listens for the next client). */
  close(): void {
    if (!this.isClosed) this.sock.destroy()
  }

  /** Closes the connection and resolves once the socket is fully closed. */
  closeAndWait(): Promise<void> {
    if (this.isClosed) return Promise.resolve()
    return new Promise((resolve) => {
      this.once('close', () => resolve())
      this.sock.destroy()
    })
  }

  private onData(chunk: string): void {
    this.buf += chunk
    let nl: number
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl).trim()
      this.buf = this.buf.slice(nl + 1)
      if (line.length === 0) continue
      let msg: Record<string, unknown>
      try {
        msg = JSON.parse(line) as Record<string, unknown>
      } catch {
        continue // QEMU never sends malformed JSON; ignore rather than crash the daemon
      }
      this.onMessage(msg)
    }
  }

  private onMessage(msg: Record<string, unknown>): void {
    if ('QMP' in msg) {
      const g = msg.QMP as QmpGreeting
      const w = this.greetingWaiter
      this.greetingWaiter = undefined
      w?.resolve(g)
      return
    }
    if (typeof msg.event === 'string') {
      const ev: QmpEvent = {
        event: msg.event,
        data: (msg.data as Record<string, unknown>) ?? {},
        timestamp: (msg.timestamp as QmpEvent['timestamp']) ?? {seconds: 0, microseconds: 0},
      }
      this.emit('event', ev)
      return
    }
    const id = typeof msg.id === 'string' ? msg.id : undefined
    if (id === undefined) return
    const p = this.pending.get(id)
    if (!p) return
    this.pending.delete(id)
    if (p.timer) clearTimeout(p.timer)
    if ('error' in msg) {
      const e = (msg.error as {class?: string; desc?: string}) ?? {}
      p.reject(new QmpError(p.command, e.class ?? 'GenericError', e.desc ?? 'unknown error'))
    } else {
      p.resolve(msg.return)
    }
  }

  private onClose(): void {
    if (this.isClosed) return
    this.isClosed = true
    const w = this.greetingWaiter
    this.greetingWaiter = undefined
    w?.reject(monitorClosedError())
    for (const [id, p] of this.pending) {
      this.pending.delete(id)
      if (p.timer) clearTimeout(p.timer)
      p.reject(monitorClosedError(p.command))
    }
    this.emit('close')
  }
}
