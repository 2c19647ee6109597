/**
 * Client side of an RPC connection: numbers calls, matches replies by serial, decodes errors into
 * VirError, answers keepalive PINGs and hands MESSAGE packets (events) to listeners.
 */
import {connect as netConnect, type Socket} from 'node:net'
import {EventEmitter} from 'node:events'
import {PollGovernor, PREEMPTED_NS, pollableFd, readNow} from './busy-poll.js'
import {
  FrameDecoder,
  MessageStatus,
  MessageType,
  PAYLOAD_OFFSET,
  SERIAL_OFFSET,
  errorStruct,
  finishPacket,
  fromWireError,
  payloadReader,
  startPacket,
  type Packet,
} from './message.js'
import type {AnyEventDef, AnyProcDef, AnyProgram, EventDef, ProcDef} from './program.js'
import {ErrorCode, ErrorDomain, VirError} from '../errors.js'
import {KEEPALIVE_PROGRAM, KeepaliveProc} from './programs/keepalive.js'
import {FdReader} from './fd-reader.js'
import {FdWriter} from './fd-writer.js'
import {closeFds, dupFd} from '../os/fdpass.js'
import type {SecurityLayer} from './sasl/layer.js'

interface Pending {
  def: AnyProcDef | null
  prog: number
  proc: number
  /** The caller takes descriptors from the reply (callFds); otherwise they are closed. */
  wantFds?: boolean
  resolve: (v: unknown) => void
  reject: (e: Error) => void
}

/** A reply and the descriptors that came beside it (REPLY_WITH_FDS); the caller owns them. */
export interface FdsReply<R> {
  ret: R
  fds: number[]
}

/** A reply as raw bytes, for forwarding (the proxy daemon). */
export interface RawReply {
  status: number
  payload: Buffer
  /** The whole reply packet (header included). */
  packet: Buffer
  /** Descriptors beside a REPLY_WITH_FDS; whoever gets the reply owns them. */
  fds?: number[]
}

export interface ClientEvent {
  program: AnyProgram
  def: AnyEventDef
  body: unknown
}

/** The body of an event if it is a `def` event (typed by its layout), else undefined. */
export function eventBody<M>(e: ClientEvent, def: EventDef<M>): M | undefined {
  // The body was decoded with e.def's codec, which is def's.
  return e.def === def ? (e.body as M) : undefined
}

export class RpcClient extends EventEmitter {
  readonly socket: Socket
  private readonly decoder = new FrameDecoder()
  private serial = 0
  private readonly pending = new Map<number, Pending>()
  private readonly programs = new Map<number, AnyProgram>()
  private closedError: Error | undefined
  private readonly poll = new PollGovernor()
  /** RPC streams (stream-client.ts): STREAM, STREAM_HOLE packets, and replies to no pending call. */
  streamPacket: ((p: Packet) => void) | undefined
  /** Descriptor passing, on UNIX sockets only (see fd-reader.ts, fd-writer.ts). */
  private readonly fdReader: FdReader | undefined
  private readonly fdWriter: FdWriter | undefined
  private layer: SecurityLayer | undefined

  constructor(socket: Socket, programs: AnyProgram[]) {
    super()
    this.socket = socket
    for (const p of programs) this.programs.set(p.prog, p)
    socket.setNoDelay?.(true)
    const fdFailed = (err: Error) => {
      this.fail(new VirError(ErrorCode.RPC, ErrorDomain.RPC, err.message))
      socket.destroy()
    }
    this.fdReader = FdReader.attach(socket, MessageType.REPLY_WITH_FDS, {onData: (d) => this.feed(d), onError: fdFailed})
    if (this.fdReader) this.fdWriter = new FdWriter(socket, this.fdReader.fd, fdFailed)
    else socket.on('data', (d: Buffer) => this.feed(d))
    socket.on('error', (err) => this.fail(new VirError(ErrorCode.SYSTEM_ERROR, ErrorDomain.RPC, `connection to daemon failed: ${err.message}`)))
    socket.on('close', () => this.fail(new VirError(ErrorCode.RPC, ErrorDomain.RPC, 'End of file while reading data: Input/output error')))
  }

  /** Connects to a UNIX socket path or host:port. */
  static connect(target: {path: string} | {host: string; port: number}, programs: AnyProgram[]): Promise<RpcClient> {
    return new Promise((resolve, reject) => {
      const socket = 'path' in target ? netConnect(target.path) : netConnect(target.port, target.host)
      const onError = (err: NodeJS.ErrnoException) => {
        const where = 'path' in target ? `'${target.path}'` : `${target.host}:${target.port}`
        reject(
          new VirError(
            ErrorCode.SYSTEM_ERROR,
            ErrorDomain.RPC,
            `Failed to connect socket to ${where}: ${err.code === 'ENOENT' ? 'No such file or directory' : err.code === 'ECONNREFUSED' ? 'Connection refused' : err.message}`,
          ),
        )
      }
      socket.once('error', onError)
      socket.once('connect', () => {
        socket.off('error', onError)
        resolve(new RpcClient(socket, programs))
      })
    })
  }

  static fromSocket(socket: Socket, programs: AnyProgram[]): RpcClient {
    return new RpcClient(socket, programs)
  }

  /** The serial the next call will carry (to register a stream before its call goes out). */
  get nextSerial(): number {
    return this.serial
  }

  get isClosed(): boolean {
    return this.closedError !== undefined
  }

  call<A, R>(program: AnyProgram, def: ProcDef<A, R>, args: A): Promise<R> {
    if (this.closedError) return Promise.reject(this.closedError)
    const serial = this.serial++
    const w = startPacket({prog: program.prog, vers: program.vers, proc: def.num, type: MessageType.CALL, serial, status: MessageStatus.OK})
    def.args.enc(w, args)
    const buf = finishPacket(w)
    return new Promise<R>((resolve, reject) => {
      this.pending.set(serial, {def, prog: program.prog, proc: def.num, resolve: resolve as (v: unknown) => void, reject})
      this.write(buf)
    })
  }

  /** Whether descriptors can travel on this connection (a UNIX socket). */
  get canPassFds(): boolean {
    return this.fdWriter !== undefined
  }

  /**
   * A call that passes descriptors (CALL_WITH_FDS, when `fds` is not empty; the caller keeps its
   * copies) or takes them from the reply (REPLY_WITH_FDS: the caller owns what comes back).
   */
  callFds<A, R>(program: AnyProgram, def: ProcDef<A, R>, args: A, fds: number[] = []): Promise<FdsReply<R>> {
    if (this.closedError) return Promise.reject(this.closedError)
    if (fds.length && !this.fdWriter)
      return Promise.reject(new VirError(ErrorCode.OPERATION_INVALID, ErrorDomain.RPC, 'Cannot send file descriptors over this connection'))
    const serial = this.serial++
    const type = fds.length ? MessageType.CALL_WITH_FDS : MessageType.CALL
    const w = startPacket({prog: program.prog, vers: program.vers, proc: def.num, type, serial, status: MessageStatus.OK})
    if (fds.length) w.uint(fds.length)
    def.args.enc(w, args)
    const buf = finishPacket(w)
    return new Promise<FdsReply<R>>((resolve, reject) => {
      this.pending.set(serial, {def, prog: program.prog, proc: def.num, wantFds: true, resolve: resolve as (v: unknown) => void, reject})
      this.write(buf, fds.length ? fds.map(dupFd) : undefined)
    })
  }

  /** Puts every later byte through SASL's security layer (once authentication negotiated one). */
  setSecurityLayer(layer: SecurityLayer): void {
    this.layer = layer
  }

  /** Every write goes here: with descriptors pending, later packets wait behind them. */
  private write(buf: Buffer, fds?: number[]): boolean {
    if (this.layer) buf = this.layer.wrap(buf)
    if (this.fdWriter) return this.fdWriter.write(buf, fds)
    return this.socket.write(buf)
  }

  private feed(d: Buffer): void {
    try {
      this.decoder.push(this.layer ? this.layer.unwrap(d) : d, (p) => this.onPacket(p))
    } catch (err) {
      this.fail(new VirError(ErrorCode.RPC, ErrorDomain.RPC, `malformed packet from server: ${(err as Error).message}`))
      this.socket.destroy()
    }
  }

  /**
   * Reads the socket directly until no call is pending or `windowUs` passes, so a forwarder can
   * answer its own client without a trip through the event loop (see busyPollUs on the server).
   */
  pollReplies(windowUs: number): void {
    const fd = pollableFd(this.socket)
    if (fd === undefined || windowUs <= 0 || !this.poll.shouldPoll()) return
    let last = process.hrtime.bigint()
    const deadline = last + BigInt(windowUs) * 1000n
    let received = false
    while (this.pending.size > 0 && !this.closedError) {
      const d = this.fdReader ? this.fdReader.readNow() : readNow(fd)
      if (d === 'end') return
      if (d === null) {
        const now = process.hrtime.bigint()
        if (now > deadline || now - last > PREEMPTED_NS) break
        last = now
        continue
      }
      received = true
      this.feed(d)
      last = process.hrtime.bigint()
    }
    this.poll.record(received)
  }

  /**
   * Sends a copy of another connection's CALL packet under this connection's next serial; the
   * callback runs synchronously when the reply arrives (the proxy's forwarding path).
   */
  forwardCall(call: Buffer, cb: (err: Error | null, reply?: RawReply) => void, fds?: number[]): void {
    if (this.closedError || (fds?.length && !this.fdWriter)) {
      if (fds) closeFds(fds)
      cb(this.closedError ?? new VirError(ErrorCode.OPERATION_INVALID, ErrorDomain.RPC, 'Cannot send file descriptors over this connection'))
      return
    }
    const serial = this.serial++
    const buf = Buffer.from(call)
    buf.writeUInt32BE(serial, SERIAL_OFFSET)
    this.pending.set(serial, {
      def: null,
      prog: buf.readUInt32BE(4),
      proc: buf.readInt32BE(12),
      resolve: (r) => cb(null, r as RawReply),
      reject: (e: Error) => cb(e),
    })
    this.write(buf, fds?.length ? fds : undefined)
  }

  /** Like callRaw, but the callback runs synchronously when the reply is decoded. */
  callRawCb(prog: number, vers: number, proc: number, payload: Buffer, cb: (err: Error | null, reply?: RawReply) => void): void {
    if (this.closedError) {
      cb(this.closedError)
      return
    }
    const serial = this.serial++
    const w = startPacket({prog, vers, proc, type: MessageType.CALL, serial, status: MessageStatus.OK}, 28 + payload.length)
    w.bytes(payload)
    this.pending.set(serial, {def: null, prog, proc, resolve: (r) => cb(null, r as RawReply), reject: (e: Error) => cb(e)})
    this.write(finishPacket(w))
  }

  /** Sends a call whose payload is already encoded; resolves with the raw reply. */
  callRaw(prog: number, vers: number, proc: number, payload: Buffer): Promise<RawReply> {
    if (this.closedError) return Promise.reject(this.closedError)
    const serial = this.serial++
    const w = startPacket({prog, vers, proc, type: MessageType.CALL, serial, status: MessageStatus.OK}, 28 + payload.length)
    w.bytes(payload)
    const buf = finishPacket(w)
    return new Promise<RawReply>((resolve, reject) => {
      this.pending.set(serial, {def: null, prog, proc, resolve: resolve as (v: unknown) => void, reject})
      this.write(buf)
    })
  }

  /**
   * Sends a raw, already framed packet (the proxy, streams, tests), with descriptors after it if
   * given; false when the socket's buffer is full (wait for its 'drain').
   */
  sendRaw(buf: Buffer, fds?: number[]): boolean {
    return this.write(buf, fds)
  }

  close(): void {
    this.socket.end()
  }

  destroy(): void {
    this.socket.destroy()
  }

  private onPacket(p: Packet): void {
    if (p.prog === KEEPALIVE_PROGRAM) {
      if (p.proc === KeepaliveProc.PING) {
        this.write(
          finishPacket(
            startPacket({prog: KEEPALIVE_PROGRAM, vers: 1, proc: KeepaliveProc.PONG, type: MessageType.MESSAGE, serial: 0, status: 0}, 28),
          ),
        )
      }
      return
    }
    if (p.type === MessageType.MESSAGE) {
      this.emit('raw-message', p)
      const program = this.programs.get(p.prog)
      const def = program?.eventsByNum.get(p.proc)
      if (!program || !def) return
      try {
        const r = payloadReader(p)
        const body = def.body.dec(r)
        this.emit('event', {program, def, body} satisfies ClientEvent)
      } catch {
        // an undecodable event is dropped, as libvirt's client does
      }
      return
    }
    if (p.type === MessageType.STREAM || p.type === MessageType.STREAM_HOLE || (p.type === MessageType.REPLY && !this.pending.has(p.serial))) {
      this.streamPacket?.(p)
      return
    }
    if (p.type === MessageType.REPLY_WITH_FDS) {
      if (!this.fdReader) {
        // libvirt's client refuses such a reply on a socket that cannot carry descriptors, and closes.
        this.fail(
          new VirError(ErrorCode.INTERNAL_ERROR, ErrorDomain.RPC, 'internal error: Receiving file descriptors is not supported on this socket'),
        )
        this.socket.destroy()
        return
      }
      // Its descriptors were received before the packet was handed on (one queue entry each).
      const fds = this.fdReader.fds.shift() ?? []
      if (!this.onReply(p, fds)) closeFds(fds)
      return
    }
    if (p.type === MessageType.REPLY) this.onReply(p, [])
  }

  /** Settles the pending call of a reply; false when nobody took its descriptors. */
  private onReply(p: Packet, fds: number[]): boolean {
    const pending = this.pending.get(p.serial)
    if (!pending || pending.prog !== p.prog || pending.proc !== p.proc) return false
    this.pending.delete(p.serial)
    if (!pending.def) {
      pending.resolve({status: p.status, payload: p.buf.subarray(PAYLOAD_OFFSET), packet: p.buf, ...(fds.length ? {fds} : {})} satisfies RawReply)
      return true
    }
    try {
      const r = payloadReader(p)
      if (p.type === MessageType.REPLY_WITH_FDS) r.uint() // the descriptor count
      if (p.status === MessageStatus.ERROR) {
        pending.reject(fromWireError(errorStruct.dec(r)))
        return false
      }
      const ret = pending.def.ret.dec(r)
      r.done()
      if (!pending.wantFds) {
        pending.resolve(ret)
        return false
      }
      pending.resolve({ret, fds} satisfies FdsReply<unknown>)
      return true
    } catch (err) {
      pending.reject(new VirError(ErrorCode.RPC, ErrorDomain.RPC, `Unable to decode reply to ${pending.def.name}: ${(err as Error).message}`))
      return false
    }
  }

  private fail(err: Error): void {
    if (!this.closedError) this.closedError = err
    for (const p of this.pending.values()) p.reject(err)
    this.pending.clear()
    this.emit('close', err)
  }
}
