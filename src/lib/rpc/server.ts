/**
 * Server side of one RPC connection: framing, program lookup, access gates (auth, open,
 * read-only), argument decoding, reply encoding, keepalive and event delivery. What a procedure
 * does is up to the program's handler; this file only speaks the protocol.
 */
import type {Socket} from 'node:net'
import {apiName, asVirError, type ServedProgram} from './dispatch.js'
import {PREEMPTED_NS, pollableFd, readNow} from './busy-poll.js'
import {
  FrameDecoder,
  FrameError,
  MessageStatus,
  MessageType,
  buildErrorReply,
  finishPacket,
  payloadReader,
  startPacket,
  type Header,
  type Packet,
} from './message.js'
import type {AnyProcDef, AnyProgram, EventDef} from './program.js'
import {ErrorCode, ErrorDomain, VirError} from '../errors.js'
import {KEEPALIVE_PROGRAM, KeepaliveProc} from './programs/keepalive.js'
import {FdReader} from './fd-reader.js'
import {FdWriter, WithFds} from './fd-writer.js'
import {closeFds} from '../os/fdpass.js'
import {LayerSlot} from './sasl/layer.js'

export interface ConnectionOptions {
  programs: Map<number, ServedProgram>
  readonly: boolean
  /** Whether the listener's auth scheme is "none" (then the client is authenticated at once). */
  authenticated: boolean
  keepaliveInterval: number
  keepaliveCount: number
  /**
   * max_client_requests: calls of one client being served at once. Beyond it the daemon stops
   * reading the client, as libvirt does (it counts a reply until it is written out).
   */
  maxRequests: number
  /**
   * Busy-poll window in microseconds: after serving a request on a plain (non-TLS) socket while
   * no other client is active, keep reading the socket for this long before going back to the
   * event loop. A client doing one call after another then skips the epoll sleep/wake-up per
   * call. 0 disables it.
   */
  busyPollUs?: number
  log?: (msg: string) => void
}

export {HandlerTable, type Handler, type ServedProgram} from './dispatch.js'

/** Which connection last received data, and when (for the busy-poll eligibility check). */
let lastDataConn = 0n
let lastDataAt = 0
/** Busy polling only starts when no other client has sent anything for this long. */
const BUSY_POLL_QUIET_MS = 2
/**
 * One busy-poll session serves a client for at most this long before yielding to the event
 * loop, where every other client's input is seen: the bound on what a streaming client costs
 * the others' latency.
 */
const BUSY_POLL_TURN_NS = 500_000n
/**
 * Calls served from one client's input in one turn of the event loop; a client that sends many
 * at once (pipelining) has the rest served in later turns, after the other clients' input.
 */
const PUMP_TURN_FRAMES = 32

let nextConnectionId = 1n

export class RpcConnection {
  readonly id = nextConnectionId++
  readonly socket: Socket
  readonly connectedAt = Date.now()
  readonly: boolean
  authenticated: boolean
  /** Set once CONNECT_OPEN succeeded; holds whatever the daemon attaches to the open connection. */
  opened = false
  closed = false
  /** Per-connection state owned by the program handlers (driver connection, event callbacks...). */
  state: Record<string, unknown> = {}
  private readonly decoder = new FrameDecoder()
  private readonly opts: ConnectionOptions
  /** Calls being served asynchronously (handlers' promises, forwarded calls). */
  private inFlight = 0
  /** Whether we paused the socket (the client is throttled). */
  private readPaused = false
  private drainWait = false
  private turnPending = false
  private keepaliveOn = false
  private keepaliveTimer: NodeJS.Timeout | undefined
  private lastRx = Date.now()
  private pingsLeft = 0
  private closeHandlers: Array<() => void> = []
  /** RPC streams (stream.ts): STREAM and STREAM_HOLE packets go here. */
  streamPacket: ((p: Packet) => void) | undefined
  /** The last packet received was stream data: a bulk transfer, not calls worth busy polling for. */
  private bulk = false
  /** The header of the call whose handler is running (read it synchronously, e.g. to open a stream). */
  currentCall: Header | undefined
  /** Holds on reading the client (a stream's consumer not draining). */
  private holds = 0
  /** Descriptor passing, on UNIX sockets only (see fd-reader.ts, fd-writer.ts). */
  private readonly fdReader: FdReader | undefined
  private readonly fdWriter: FdWriter | undefined
  /** The descriptors of the CALL_WITH_FDS being dispatched (see takeFds). */
  private callFds: number[] = []
  readonly securityLayer = new LayerSlot() // SASL's, once authentication negotiated one (sasl/layer.ts)

  constructor(socket: Socket, opts: ConnectionOptions) {
    this.socket = socket
    this.opts = opts
    this.readonly = opts.readonly
    this.authenticated = opts.authenticated
    socket.setNoDelay?.(true)
    const fdFailed = (err: Error) => {
      this.opts.log?.(`client ${this.id}: ${err.message}; dropping connection`)
      this.socket.destroy()
      this.teardown()
    }
    this.fdReader = FdReader.attach(socket, MessageType.CALL_WITH_FDS, {
      onData: (d) => this.onData(d),
      onError: fdFailed,
      target: (n) => this.decoder.into(n),
    })
    if (this.fdReader) this.fdWriter = new FdWriter(socket, this.fdReader.fd, fdFailed)
    else socket.on('data', (d: Buffer) => this.onData(d))
    socket.on('error', () => this.teardown())
    socket.on('close', () => this.teardown())
  }

  onClose(fn: () => void): void {
    if (this.closed) fn()
    else this.closeHandlers.push(fn)
  }

  /** Starts keepalive as negotiated by the client (feature PROGRAM_KEEPALIVE). */
  enableKeepalive(): void {
    if (this.keepaliveOn || this.opts.keepaliveInterval <= 0) return
    this.keepaliveOn = true
    this.pingsLeft = this.opts.keepaliveCount
    const tickMs = this.opts.keepaliveInterval * 1000
    this.keepaliveTimer = setInterval(() => {
      if (Date.now() - this.lastRx < tickMs) {
        this.pingsLeft = this.opts.keepaliveCount
        return
      }
      if (this.pingsLeft <= 0) {
        this.opts.log?.(`client ${this.id}: no keepalive response, closing`)
        this.close()
        return
      }
      this.pingsLeft--
      this.sendRaw(this.keepalivePacket(KeepaliveProc.PING))
    }, tickMs)
    this.keepaliveTimer.unref()
  }

  private keepalivePacket(proc: number): Buffer {
    return finishPacket(startPacket({prog: KEEPALIVE_PROGRAM, vers: 1, proc, type: MessageType.MESSAGE, serial: 0, status: MessageStatus.OK}, 28))
  }

  sendEvent<M>(program: AnyProgram, def: EventDef<M>, body: M): void {
    if (this.closed) return
    const w = startPacket({prog: program.prog, vers: program.vers, proc: def.num, type: MessageType.MESSAGE, serial: 1, status: MessageStatus.OK})
    def.body.enc(w, body)
    this.sendRaw(finishPacket(w))
  }

  /**
   * Sends a framed packet; `fds` (owned by the connection from now on) go after it, on UNIX sockets;
   * `done` runs once it is written. Every write goes here, so nothing comes between a packet and its
   * descriptors. Returns false when the socket's buffer is full (wait for 'drain').
   */
  sendRaw(buf: Buffer, fds?: number[], done?: (err?: Error | null) => void): boolean {
    if (this.closed || !this.socket.writable) {
      if (fds) closeFds(fds)
      return true
    }
    buf = this.securityLayer.out(buf)
    if (this.fdWriter) return this.fdWriter.write(buf, fds, done)
    // Over TCP/TLS a packet goes without its descriptors, as libvirtd's does: a client reports
    // that it cannot receive descriptors on this socket.
    if (fds) closeFds(fds)
    return this.socket.write(buf, done)
  }

  /** Whether descriptors can travel on this connection (a UNIX socket). */
  get canPassFds(): boolean {
    return this.fdWriter !== undefined
  }

  /**
   * The descriptors that came with the call being dispatched (CALL_WITH_FDS); the caller owns
   * them. A handler takes them before its first await; those nobody takes are closed.
   */
  takeFds(): number[] {
    return this.callFds.splice(0)
  }

  /**
   * Counts a call served outside this class (the proxy's forwarded calls) against
   * max_client_requests; call the returned function once its reply is sent.
   */
  track(): () => void {
    this.inFlight++
    let done = false
    return () => {
      if (done) return
      done = true
      this.settle()
    }
  }

  /** Stops reading the client until the returned function is called (stream flow control). */
  hold(): () => void {
    this.holds++
    let done = false
    return () => {
      if (done) return
      done = true
      this.holds--
      if (this.readPaused) queueMicrotask(() => this.pump())
    }
  }

  /** Closes after pending writes flush. */
  close(): void {
    if (this.closed) return
    this.socket.end()
    this.teardown()
  }

  private teardown(): void {
    if (this.closed) return
    this.closed = true
    if (this.keepaliveTimer) clearInterval(this.keepaliveTimer)
    // A client that does not read its replies would hold them forever: give end() a second.
    if (!this.socket.destroyed) setTimeout(() => this.socket.destroy(), 1000).unref()
    for (const fn of this.closeHandlers.splice(0)) {
      try {
        fn()
      } catch (err) {
        this.opts.log?.(`client ${this.id}: close handler failed: ${(err as Error).message}`)
      }
    }
  }

  private onData(d: Buffer): void {
    const now = Date.now()
    this.lastRx = now
    const othersQuiet = lastDataConn === this.id || now - lastDataAt >= BUSY_POLL_QUIET_MS
    lastDataConn = this.id
    lastDataAt = now
    const plain = this.securityLayer.in(d)
    if (plain instanceof Error) return void this.socket.destroy(plain) // a bad unit drops the connection
    this.decoder.append(plain)
    this.pump()
    if (othersQuiet && this.opts.busyPollUs && !this.bulk && !this.securityLayer.active) this.busyPoll(this.opts.busyPollUs)
  }

  /**
   * Whether the client must wait: max_client_requests calls are being served, or its unsent
   * replies fill the socket's buffer (it does not read them). Like libvirt, the daemon then
   * stops reading the client until it catches up.
   */
  private throttled(): boolean {
    return this.inFlight >= Math.max(1, this.opts.maxRequests) || this.socket.writableNeedDrain || this.holds > 0
  }

  /** Serves the calls received so far until none is left or the client is throttled. */
  private pump(): void {
    let budget = PUMP_TURN_FRAMES
    try {
      while (!this.closed) {
        if (this.throttled()) {
          this.throttle()
          return
        }
        if (budget-- === 0) {
          this.yieldTurn()
          return
        }
        const p = this.decoder.take()
        if (!p) break
        this.onPacket(p)
      }
    } catch (err) {
      if (!(err instanceof FrameError)) throw err
      this.opts.log?.(`client ${this.id}: ${err.message}; dropping connection`)
      this.socket.destroy()
      this.teardown()
      return
    }
    if (this.readPaused && !this.closed) {
      this.readPaused = false
      this.socket.resume()
    }
  }

  /** Leaves the rest of the received calls for the next turn of the event loop. */
  private yieldTurn(): void {
    this.pauseReading()
    if (this.turnPending) return
    this.turnPending = true
    setImmediate(() => {
      this.turnPending = false
      this.pump()
    })
  }

  private pauseReading(): void {
    if (this.readPaused) return
    this.readPaused = true
    this.socket.pause()
  }

  private throttle(): void {
    this.pauseReading()
    if (this.socket.writableNeedDrain && !this.drainWait) {
      this.drainWait = true
      this.socket.once('drain', () => {
        this.drainWait = false
        this.pump()
      })
    }
  }

  /**
   * Reads the socket directly while requests keep arriving within the window, for one turn at
   * most (BUSY_POLL_TURN_NS): then the event loop sees the other clients. No back-off between
   * sessions: a daemon behind virtproxyd gets its next call a little later than the window, and
   * skipping sessions there made every call wait for an event-loop wake-up (a third of the
   * throughput through the proxy, measured with bench/proxy.mjs).
   */
  private busyPoll(windowUs: number): void {
    const fd = pollableFd(this.socket)
    if (fd === undefined) return
    const windowNs = BigInt(windowUs) * 1000n
    const start = process.hrtime.bigint()
    const turnEnd = start + BUSY_POLL_TURN_NS
    let deadline = start + windowNs
    let last = start
    while (!this.closed && this.inFlight === 0 && !this.readPaused && !this.bulk && !this.securityLayer.active) {
      const d = this.fdReader ? this.fdReader.readNow() : readNow(fd)
      if (d === 'end') return // libuv sees EOF/errors too and closes the connection
      const now = process.hrtime.bigint()
      if (d === null) {
        if (now > deadline || now - last > PREEMPTED_NS) break
        last = now
        continue
      }
      this.lastRx = Date.now()
      lastDataAt = this.lastRx
      this.decoder.append(d)
      this.pump()
      if (now > turnEnd) break
      last = process.hrtime.bigint()
      deadline = last + windowNs
    }
  }

  private onPacket(p: Packet): void {
    if (this.closed) return
    if (p.type !== MessageType.CALL_WITH_FDS || !this.fdReader) {
      this.onMessage(p)
      return
    }
    // Each packet with descriptors has its entry in the reader's queue, whatever becomes of it.
    this.callFds = this.fdReader.fds.shift() ?? []
    try {
      this.onMessage(p)
    } finally {
      closeFds(this.callFds.splice(0))
    }
  }

  private onMessage(p: Packet): void {
    if (p.prog === KEEPALIVE_PROGRAM) {
      if (p.type === MessageType.MESSAGE && p.proc === KeepaliveProc.PING) this.sendRaw(this.keepalivePacket(KeepaliveProc.PONG))
      return
    }
    this.bulk = p.type === MessageType.STREAM || p.type === MessageType.STREAM_HOLE
    if (this.bulk) {
      this.streamPacket?.(p)
      return
    }
    const served = this.opts.programs.get(p.prog)
    if (p.type !== MessageType.CALL && p.type !== MessageType.CALL_WITH_FDS) return // replies, events, streams: nothing to answer
    if (!served || served.program.vers !== p.vers) {
      this.replyError(p, new VirError(ErrorCode.RPC, ErrorDomain.RPC, `Cannot find program ${p.prog} version ${p.vers}`))
      return
    }
    if (p.type === MessageType.CALL_WITH_FDS && !this.fdReader) {
      this.replyError(p, new VirError(ErrorCode.RPC, ErrorDomain.RPC, 'file descriptor passing is not supported by this server'))
      return
    }
    if (p.status !== MessageStatus.OK) {
      this.replyError(p, new VirError(ErrorCode.RPC, ErrorDomain.RPC, `Unexpected message status ${p.status}`))
      return
    }
    if (served.forward && this.opened && !served.forward.local.has(p.proc)) {
      served.forward.call(this, p)
      return
    }
    const def = served.program.byNum.get(p.proc)
    if (!def) {
      this.replyError(p, served.unimplemented?.(this, p.proc) ?? new VirError(ErrorCode.RPC, ErrorDomain.RPC, `unknown procedure: ${p.proc}`))
      return
    }
    if (!this.authenticated && !def.preAuth) {
      this.replyError(p, new VirError(ErrorCode.RPC, ErrorDomain.RPC, 'authentication required'))
      return
    }
    if (!this.opened && !def.preOpen) {
      this.replyError(p, new VirError(ErrorCode.INTERNAL_ERROR, ErrorDomain.RPC, 'internal error: hypervisor connection not open'))
      return
    }
    if (this.readonly && !def.ro) {
      const api = apiName(def.name)
      this.replyError(
        p,
        new VirError(ErrorCode.OPERATION_DENIED, def.errDomain, `operation forbidden: read only access prevents ${api}`, {
          str1: 'operation forbidden: %s',
          str2: `read only access prevents ${api}`,
        }),
      )
      return
    }
    let args: unknown
    try {
      const r = payloadReader(p)
      if (p.type === MessageType.CALL_WITH_FDS) r.uint() // the descriptor count
      args = def.args.dec(r)
      r.done()
    } catch {
      this.replyError(p, new VirError(ErrorCode.RPC, ErrorDomain.RPC, 'Unable to decode message payload'))
      return
    }
    let result: unknown
    try {
      this.currentCall = p
      result = served.handle(this, def, args)
    } catch (err) {
      this.replyError(p, asVirError(err))
      return
    } finally {
      this.currentCall = undefined
    }
    if (result instanceof Promise) {
      this.inFlight++
      result.then(
        (v: unknown) => {
          this.settle()
          this.reply(p, def, v)
        },
        (err: unknown) => {
          this.settle()
          this.replyError(p, asVirError(err))
        },
      )
    } else this.reply(p, def, result)
  }

  /** One asynchronous call done: the client may be read again. */
  private settle(): void {
    this.inFlight--
    if (this.readPaused) queueMicrotask(() => this.pump())
  }

  private reply(h: Header, def: AnyProcDef, value: unknown): void {
    const fds = value instanceof WithFds ? value.fds : undefined
    if (this.closed) {
      if (fds) closeFds(fds)
      return
    }
    let buf: Buffer
    try {
      const type = fds ? MessageType.REPLY_WITH_FDS : MessageType.REPLY
      const w = startPacket({prog: h.prog, vers: h.vers, proc: h.proc, type, serial: h.serial, status: MessageStatus.OK})
      if (fds) w.uint(fds.length)
      def.ret.enc(w, value instanceof WithFds ? value.value : value)
      buf = finishPacket(w)
    } catch (err) {
      if (fds) closeFds(fds)
      this.replyError(h, asVirError(err))
      return
    }
    this.sendRaw(buf, fds)
    if (def.name === 'CONNECT_CLOSE') this.close()
  }

  replyError(h: Header, err: VirError): void {
    this.sendRaw(buildErrorReply(h, err))
  }
}
