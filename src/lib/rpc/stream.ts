/**
 * RPC streams, daemon side: a duplex byte channel with holes, carried by the call that opened it.
 *
 * Protocol (libvirt's, see docs/kbase/internals/rpc.rst): a procedure such as DOMAIN_OPEN_CONSOLE,
 * DOMAIN_SCREENSHOT or STORAGE_VOL_UPLOAD/DOWNLOAD answers its CALL with a normal REPLY; from then
 * on both sides send packets with the call's program, version, procedure and serial:
 * - type STREAM, status CONTINUE: data; the payload is the raw bytes (no XDR framing), at most
 *   STREAM_CHUNK_MAX per packet.
 * - type STREAM_HOLE, status CONTINUE: a hole of a sparse stream, payload `{hyper length; uint flags}`;
 *   only on streams opened with `allowSkip` (a hole on another stream makes the daemon drop the
 *   client, as libvirtd does).
 * - type STREAM, status CONTINUE, empty: the daemon's end of data (its source ended). The stream
 *   stays registered until the client answers with OK (finish) or ERROR (abort). (libvirt's client
 *   takes a STREAM OK it did not ask for as a protocol error and drops the connection.)
 * - type STREAM, status OK, empty, from the client (virStreamFinish): the client's end of data; the
 *   daemon lets the consumer finish (flush a file...) and confirms with an empty STREAM OK, or
 *   replies with a REPLY-type error.
 * - type STREAM, status ERROR from the client: abort (virStreamAbort); the daemon drops what is
 *   queued and confirms with an empty STREAM OK. From the daemon: the stream failed (payload: the
 *   error struct); the stream is then gone.
 * Stream packets for a stream that no longer exists are dropped (they are not acknowledged, so
 * some may still be on their way when a stream ends).
 *
 * Flow control, per stream, with bounded buffers:
 * - daemon -> client: `write` returns false once `window` bytes are handed to the socket and not
 *   yet flushed to the kernel; the producer stops reading its source (pty, QEMU, file) until
 *   'drain'. `pipeFrom(readable)` does this for a Node readable.
 * - client -> daemon: chunks are queued for the consumer, which may return a promise to say it is
 *   busy (a file or pty not draining); once `window` bytes are queued the daemon stops reading the
 *   client's socket until the consumer catches up.
 *
 * Usage in a handler (create the stream as the handler's last step: its packets go out only after
 * the call's REPLY, from the next turn of the event loop):
 *   const call = conn.currentCall      // synchronously, before the handler's first await
 *   ...checks...
 *   const st = openServerStream(conn, {allowSkip: false}, call)
 *   st.setConsumer({chunk: (c) => ..., finish: async () => ..., abort: () => ...})
 *   st.pipeFrom(source)          // or st.write(buf) / st.writeHole(n) / st.end() / st.fail(err)
 *   st.on('close', () => ...)    // finished, aborted, failed or the connection closed
 */
import {EventEmitter} from 'node:events'
import type {Readable} from 'node:stream'
import {
  MessageStatus,
  MessageType,
  STREAM_CHUNK_MAX,
  buildErrorReply,
  finishPacket,
  payloadReader,
  startPacket,
  type Header,
  type Packet,
} from './message.js'
import * as t from './codec.js'
export {giveFrame, takeFrame, type DataFrame} from './stream-frame.js'
import {releasePacketBuffer} from './packet-pool.js'
import {frameHeaders, type DataFrame} from './stream-frame.js'
import {ErrorCode, VirError} from '../errors.js'
import type {RpcConnection} from './server.js'

/** virErrorDomain VIR_FROM_STREAMS. */
export const STREAMS_DOMAIN = 38
/** Bytes a stream may have in flight in each direction before its producer is held. */
export const STREAM_WINDOW = 256 * 1024

/** remote's virNetStreamHole: the payload of a STREAM_HOLE packet. */
export const streamHole = t.struct({length: t.hyper, flags: t.uint})

/** One unit of a stream: bytes, or a hole (sparse streams). */
export type StreamChunk = Buffer | {hole: bigint}

/** Takes what the client sends on a stream. */
export interface StreamConsumer {
  /**
   * The next chunk, in order. Return a promise while busy: later chunks wait, bounded by the window.
   * `release`, with data received into a reusable buffer: call it once the bytes are no longer
   * needed (written out), and the buffer serves a later packet (see packet-pool.ts).
   */
  chunk(c: StreamChunk, release?: () => void): void | Promise<void>
  /** The client finished sending, after every chunk was consumed. A rejection is sent back as the error. */
  finish?(): void | Promise<void>
  /** The client aborted, the daemon failed the stream, or the connection closed. */
  abort?(): void
}

export interface StreamKey {
  prog: number
  vers: number
  proc: number
  serial: number
}

export interface StreamOptions {
  /** Sparse stream: holes allowed both ways. */
  allowSkip?: boolean
  /** Per-direction buffer bound in bytes (default STREAM_WINDOW). */
  window?: number
}

type RxItem = {kind: 'chunk'; chunk: StreamChunk; size: number; release?: () => void} | {kind: 'finish'; header: Header}

/** Server side of one stream; see the file header. Events: 'drain', 'close'. */
export class ServerStream extends EventEmitter {
  readonly key: StreamKey
  readonly allowSkip: boolean
  private readonly conn: RpcConnection
  private readonly window: number
  private readonly registry: StreamRegistry
  private consumer: StreamConsumer | undefined
  private readonly rx: RxItem[] = []
  private rxBytes = 0
  private release: (() => void) | undefined
  private consuming = false
  /** Bytes written to the socket and not yet flushed. */
  private txPending = 0
  private txBlocked = false
  /** Packets made before the call's reply went out (with what runs once each is written). */
  private early: Array<{buf: Buffer; done?: () => void}> | undefined = []
  /** We sent our end of data. */
  private sentEnd = false
  closed = false

  constructor(conn: RpcConnection, registry: StreamRegistry, key: StreamKey, opts: StreamOptions) {
    super()
    this.conn = conn
    this.registry = registry
    this.key = key
    this.allowSkip = opts.allowSkip ?? false
    this.window = opts.window ?? STREAM_WINDOW
    setImmediate(() => {
      const early = this.early ?? []
      this.early = undefined
      for (const e of early) this.send(e.buf, e.done)
    })
  }

  setConsumer(c: StreamConsumer): void {
    this.consumer = c
    this.consume()
  }

  /** Bytes queued towards the client and not yet flushed to the socket. */
  get pendingOut(): number {
    return this.txPending + (this.early?.reduce((n, e) => n + e.buf.length, 0) ?? 0)
  }

  /** Bytes received from the client and not yet consumed. */
  get pendingIn(): number {
    return this.rxBytes
  }

  /** Sends data; false once the window is full (wait for 'drain'). */
  write(data: Buffer): boolean {
    if (this.closed || this.sentEnd) return false
    for (let off = 0; off < data.length; off += STREAM_CHUNK_MAX) {
      const part = data.subarray(off, off + STREAM_CHUNK_MAX)
      const w = this.start(MessageType.STREAM, MessageStatus.CONTINUE, 28 + part.length)
      w.bytes(part)
      this.send(finishPacket(w))
    }
    return this.hasRoom()
  }

  /**
   * Sends the first `bytes` data bytes a source put in `f`'s slots (in order), as consecutive STREAM
   * packets, without copying them; `done` runs once the stream is done with `f`: `reusable` when its
   * bytes were written (or never queued) and `f` may be filled again, false when the stream or its
   * connection closed first (the socket may still hold `f`: it must not be filled again). False once
   * the window is full.
   */
  sendFrame(f: DataFrame, bytes: number, done: (reusable: boolean) => void): boolean {
    if (this.closed || this.sentEnd || bytes <= 0) {
      done(true)
      return !this.closed && !this.sentEnd && this.hasRoom()
    }
    const off = frameHeaders(f, this.key, bytes)
    let called = false
    const once = (reusable: boolean) => {
      if (called) return
      called = true
      this.off('close', onClose)
      done(reusable)
    }
    // A connection that closes drops what it had queued without calling back: release on close too,
    // but the frame may still be queued on the socket then, so it must not be filled again.
    const onClose = () => once(false)
    this.once('close', onClose)
    if (!this.send(f.buf.subarray(0, off), () => once(true))) once(true)
    return this.hasRoom()
  }

  /** Sends a hole of `length` bytes (sparse streams only). */
  writeHole(length: bigint): boolean {
    if (this.closed || this.sentEnd) return false
    if (!this.allowSkip) throw new VirError(ErrorCode.RPC, STREAMS_DOMAIN, 'Unexpected stream hole')
    const w = this.start(MessageType.STREAM_HOLE, MessageStatus.CONTINUE, 40)
    streamHole.enc(w, {length, flags: 0})
    this.send(finishPacket(w))
    return this.hasRoom()
  }

  /** End of data from the daemon (an empty CONTINUE, as libvirtd sends it); the client then finishes or aborts. */
  end(): void {
    if (this.closed || this.sentEnd) return
    this.sentEnd = true
    this.send(finishPacket(this.start(MessageType.STREAM, MessageStatus.CONTINUE, 28)))
  }

  /** The stream failed: the client gets the error, the stream is gone. */
  fail(err: VirError): void {
    if (this.closed) return
    this.send(buildErrorReply({...this.key, type: MessageType.STREAM, status: MessageStatus.ERROR}, err, MessageType.STREAM))
    this.shut(true)
  }

  /**
   * Sends what `src` produces, pausing it while the window is full; its end ends the stream, its
   * error fails it (with `onError`'s choice: an error to send, or undefined to end the stream
   * normally). Returns a function that detaches the source.
   */
  pipeFrom(src: Readable, opts: {onError?: (e: Error) => VirError | undefined} = {}): () => void {
    const onData = (d: Buffer | string) => {
      if (!this.write(typeof d === 'string' ? Buffer.from(d) : d)) src.pause()
    }
    const onDrain = () => src.resume()
    const onEnd = () => this.end()
    const onError = (e: Error) => {
      const err = opts.onError ? opts.onError(e) : ioFailure()
      if (err) this.fail(err)
      else this.end()
    }
    const detach = () => {
      src.pause()
      src.off('data', onData)
      src.off('end', onEnd)
      src.off('error', onError)
      this.off('drain', onDrain)
      this.off('close', detach)
    }
    src.on('data', onData)
    src.on('end', onEnd)
    src.on('error', onError)
    this.on('drain', onDrain)
    this.on('close', detach)
    src.resume()
    return detach
  }

  private hasRoom(): boolean {
    if (this.pendingOut < this.window) return true
    this.txBlocked = true
    return false
  }

  private start(type: number, status: number, size: number) {
    return startPacket({...this.key, type, status}, size)
  }

  /** Queues a packet; false when it was dropped (the connection is gone), `done` then never runs. */
  private send(buf: Buffer, done?: () => void): boolean {
    if (this.early) {
      this.early.push({buf, done})
      return true
    }
    if (this.conn.closed || !this.conn.socket.writable) return false
    this.txPending += buf.length
    this.conn.sendRaw(buf, undefined, () => {
      done?.()
      this.txPending -= buf.length
      if (this.txBlocked && this.txPending < this.window / 2) {
        this.txBlocked = false
        // from the next turn of the event loop: a source that produces synchronously and a socket
        // that takes everything at once would otherwise never let the loop go on
        setImmediate(() => this.emit('drain'))
      }
    })
    return true
  }

  /** A STREAM or STREAM_HOLE packet from the client. */
  onPacket(p: Packet): void {
    if (this.closed) return
    if (p.type === MessageType.STREAM_HOLE) {
      if (!this.allowSkip) {
        this.conn.socket.destroy() // libvirtd drops the client: "Unexpected stream hole"
        return
      }
      let hole: bigint
      try {
        hole = streamHole.dec(payloadReader(p)).length
      } catch {
        this.conn.socket.destroy()
        return
      }
      this.queue({kind: 'chunk', chunk: {hole}, size: 0})
      return
    }
    if (p.status === MessageStatus.CONTINUE) {
      // The packet's bytes are the daemon's own (the frame decoder never reuses them): no copy.
      const data = p.buf.subarray(28)
      const whole = p.buf
      if (data.length > 0) this.queue({kind: 'chunk', chunk: data, size: data.length, release: () => releasePacketBuffer(whole)})
    } else if (p.status === MessageStatus.OK) {
      this.queue({kind: 'finish', header: p})
    } else {
      // abort: what is queued is dropped, the abort is confirmed at once
      this.rx.length = 0
      this.rxBytes = 0
      this.confirm()
      this.shut(true)
    }
  }

  private queue(item: RxItem): void {
    this.rx.push(item)
    if (item.kind === 'chunk') this.rxBytes += item.size
    if (this.rxBytes >= this.window && !this.release) this.release = this.conn.hold()
    this.consume()
  }

  private consume(): void {
    if (this.consuming) return
    this.consuming = true
    const step = (): void => {
      while (!this.closed) {
        const item = this.rx.shift()
        if (!item) break
        if (item.kind === 'finish') {
          this.finish(item.header)
          break
        }
        this.rxBytes -= item.size
        if (this.rxBytes < this.window) this.unhold()
        let r: void | Promise<void>
        try {
          r = this.consumer?.chunk(item.chunk, item.release)
        } catch (err) {
          this.failWrite(err)
          break
        }
        if (r instanceof Promise) {
          r.then(step, (err: unknown) => {
            this.consuming = false
            this.failWrite(err)
          })
          this.unhold()
          return
        }
      }
      this.unhold()
      this.consuming = false
    }
    step()
  }

  private unhold(): void {
    if (this.release && this.rxBytes < this.window) {
      const r = this.release
      this.release = undefined
      r()
    }
  }

  /** The consumer could not take data: libvirt replies with a REPLY-type error and aborts. */
  private failWrite(err: unknown): void {
    const e = err instanceof VirError ? err : new VirError(ErrorCode.RPC, STREAMS_DOMAIN, `stream had I/O failure: ${String(err)}`)
    this.sendNow(buildErrorReply({...this.key, type: MessageType.REPLY, status: MessageStatus.ERROR}, e))
    this.shut(true)
  }

  private finish(h: Header): void {
    this.closed = true
    const done = (err?: unknown) => {
      if (err === undefined) this.confirm()
      else this.sendNow(buildErrorReply({...h, type: MessageType.REPLY, status: MessageStatus.ERROR}, asStreamError(err)))
      this.shut(false)
    }
    let r: void | Promise<void>
    try {
      r = this.consumer?.finish?.()
    } catch (err) {
      done(err)
      return
    }
    if (r instanceof Promise) r.then(() => done(), done)
    else done()
  }

  /** The zero-length STREAM OK that confirms a finish or an abort. */
  private confirm(): void {
    this.sendNow(finishPacket(this.start(MessageType.STREAM, MessageStatus.OK, 28)))
  }

  /** Sends even after close (confirmations), in order with earlier packets. */
  private sendNow(buf: Buffer): void {
    if (this.early) this.early.push({buf})
    else this.conn.sendRaw(buf)
  }

  /** Removes the stream; `aborted` tells the consumer its data will not be finished. */
  shut(aborted: boolean): void {
    const wasOpen = !this.closed || this.registry.has(this)
    this.closed = true
    this.rx.length = 0
    this.rxBytes = 0
    this.unhold()
    this.registry.remove(this)
    if (!wasOpen) return
    if (aborted) this.consumer?.abort?.()
    this.emit('close')
  }
}

/** libvirtd's error when a stream's source or sink fails. */
/** Resolves once `e` can take more writes ('drain') or is gone ('close'): sockets, duplexes, streams. */
export function untilDrained(e: Pick<EventEmitter, 'on' | 'off'>): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      e.off('drain', done)
      e.off('close', done)
      resolve()
    }
    e.on('drain', done)
    e.on('close', done)
  })
}

export function ioFailure(): VirError {
  return new VirError(ErrorCode.RPC, STREAMS_DOMAIN, 'stream had I/O failure')
}

function asStreamError(err: unknown): VirError {
  return err instanceof VirError ? err : new VirError(ErrorCode.RPC, STREAMS_DOMAIN, `stream had I/O failure: ${String(err)}`)
}

/** The streams of one connection, by (procedure, serial). */
export class StreamRegistry {
  private readonly streams = new Map<string, ServerStream>()

  constructor(private readonly conn: RpcConnection) {}

  static key(proc: number, serial: number): string {
    return `${proc}:${serial}`
  }

  has(s: ServerStream): boolean {
    return this.streams.get(StreamRegistry.key(s.key.proc, s.key.serial)) === s
  }

  get size(): number {
    return this.streams.size
  }

  open(key: StreamKey, opts: StreamOptions): ServerStream {
    const s = new ServerStream(this.conn, this, key, opts)
    this.streams.set(StreamRegistry.key(key.proc, key.serial), s)
    return s
  }

  remove(s: ServerStream): void {
    if (this.has(s)) this.streams.delete(StreamRegistry.key(s.key.proc, s.key.serial))
  }

  onPacket(p: Packet): void {
    const s = this.streams.get(StreamRegistry.key(p.proc, p.serial))
    if (s && s.key.prog === p.prog && s.key.vers === p.vers) s.onPacket(p)
  }

  closeAll(): void {
    for (const s of [...this.streams.values()]) s.shut(true)
  }
}

const registries = new WeakMap<RpcConnection, StreamRegistry>()

/** The connection's stream registry, created (and hooked into the connection) on first use. */
export function streamsOf(conn: RpcConnection): StreamRegistry {
  let reg = registries.get(conn)
  if (!reg) {
    const r = new StreamRegistry(conn)
    reg = r
    registries.set(conn, r)
    conn.streamPacket = (p) => r.onPacket(p)
    conn.onClose(() => r.closeAll())
  }
  return reg
}

/**
 * Opens a stream on the call being handled on `conn` (call it synchronously in the handler, before
 * any await, or pass the header read then as `call`).
 */
export function openServerStream(conn: RpcConnection, opts: StreamOptions = {}, call: StreamKey | undefined = conn.currentCall): ServerStream {
  if (!call) throw new VirError(ErrorCode.INTERNAL_ERROR, STREAMS_DOMAIN, 'internal error: no call to open a stream on')
  return streamsOf(conn).open({prog: call.prog, vers: call.vers, proc: call.proc, serial: call.serial}, opts)
}
