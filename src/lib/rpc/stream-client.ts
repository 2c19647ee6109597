/**
 * RPC streams, client side (the protocol is described in stream.ts).
 *
 *   const {stream, ret} = await openStream(client, remote, P.DOMAIN_OPEN_CONSOLE, args)
 *   for await (const chunk of stream) ...   // Buffer, or {hole} on sparse streams; ends at the daemon's EOF
 *   await stream.write(buf)                 // resolves once the socket takes more
 *   await stream.finish()                   // our end of data; resolves on the daemon's confirmation
 *   await stream.abort()                    // or: give up; the daemon drops the stream
 *
 * Flow control: at most `window` bytes received and not yet read are kept; beyond that the
 * client stops reading its socket (as the daemon does) until the reader catches up.
 */
import {
  MessageStatus,
  MessageType,
  STREAM_CHUNK_MAX,
  errorStruct,
  finishPacket,
  fromWireError,
  payloadReader,
  startPacket,
  type Packet,
} from './message.js'
import type {AnyProgram, ProcDef} from './program.js'
import type {RpcClient} from './client.js'
import {ErrorCode, ErrorDomain, VirError} from '../errors.js'
import {STREAM_WINDOW, STREAMS_DOMAIN, streamHole, untilDrained, type StreamChunk, type StreamKey} from './stream.js'

interface Waiter {
  resolve: (c: StreamChunk | null) => void
  reject: (e: Error) => void
}

/** Client side of one stream. */
export class ClientStream implements AsyncIterable<StreamChunk> {
  readonly key: StreamKey
  private readonly client: RpcClient
  private readonly window: number
  private readonly rx: StreamChunk[] = []
  private rxBytes = 0
  private paused = false
  private eof = false
  private error: Error | undefined
  private waiter: Waiter | undefined
  /** Set while our finish/abort waits for the daemon's confirmation. */
  private closing: {resolve: () => void; reject: (e: Error) => void} | undefined
  private done = false
  private readonly onGone: (s: ClientStream) => void

  constructor(client: RpcClient, key: StreamKey, onGone: (s: ClientStream) => void, window = STREAM_WINDOW) {
    this.client = client
    this.key = key
    this.window = window
    this.onGone = onGone
  }

  /** The next chunk, or null at the daemon's end of data. Rejects with the stream's error. One read at a time. */
  read(): Promise<StreamChunk | null> {
    const c = this.rx.shift()
    if (c) {
      if (Buffer.isBuffer(c)) this.rxBytes -= c.length
      this.resumeIfRoom()
      return Promise.resolve(c)
    }
    if (this.error) return Promise.reject(this.error)
    if (this.eof || this.done) return Promise.resolve(null)
    if (this.waiter) return Promise.reject(new VirError(ErrorCode.RPC, STREAMS_DOMAIN, 'a read is already pending on this stream'))
    return new Promise((resolve, reject) => (this.waiter = {resolve, reject}))
  }

  async *[Symbol.asyncIterator](): AsyncIterator<StreamChunk> {
    for (let c = await this.read(); c; c = await this.read()) yield c
  }

  /** Sends bytes; resolves when the socket can take more. */
  async write(data: Buffer): Promise<void> {
    this.check()
    let ok = true
    for (let off = 0; off < data.length; off += STREAM_CHUNK_MAX) {
      const part = data.subarray(off, off + STREAM_CHUNK_MAX)
      const w = startPacket({...this.key, type: MessageType.STREAM, status: MessageStatus.CONTINUE}, 28 + part.length)
      w.bytes(part)
      ok = this.client.sendRaw(finishPacket(w))
    }
    if (!ok) await this.drained()
  }

  /** Sends a hole (sparse streams). */
  async writeHole(length: bigint): Promise<void> {
    this.check()
    const w = startPacket({...this.key, type: MessageType.STREAM_HOLE, status: MessageStatus.CONTINUE}, 40)
    streamHole.enc(w, {length, flags: 0})
    if (!this.client.sendRaw(finishPacket(w))) await this.drained()
  }

  /** Our end of data; resolves once the daemon confirms (rejects with its error). */
  finish(): Promise<void> {
    return this.close(MessageStatus.OK)
  }

  /** Abandons the stream; resolves once the daemon confirms. */
  abort(): Promise<void> {
    return this.close(MessageStatus.ERROR)
  }

  get finished(): boolean {
    return this.done
  }

  private close(status: number): Promise<void> {
    if (this.done) return this.error && status === MessageStatus.OK ? Promise.reject(this.error) : Promise.resolve()
    if (this.closing) return Promise.reject(new VirError(ErrorCode.RPC, STREAMS_DOMAIN, 'stream is already closing'))
    return new Promise<void>((resolve, reject) => {
      this.closing = {resolve, reject}
      this.client.sendRaw(finishPacket(startPacket({...this.key, type: MessageType.STREAM, status}, 28)))
    })
  }

  private check(): void {
    if (this.error) throw this.error
    if (this.done || this.closing) throw new VirError(ErrorCode.RPC, STREAMS_DOMAIN, 'stream is closed')
  }

  private drained(): Promise<void> {
    return untilDrained(this.client.socket)
  }

  /** A packet for this stream from the daemon. */
  onPacket(p: Packet): void {
    if (p.type === MessageType.REPLY) {
      // a REPLY-type error: the daemon could not take our data or our finish
      this.fail(decodeError(p))
      return
    }
    if (p.type === MessageType.STREAM_HOLE) {
      try {
        this.push({hole: streamHole.dec(payloadReader(p)).length})
      } catch {
        this.fail(new VirError(ErrorCode.RPC, ErrorDomain.RPC, 'Unable to decode stream hole'))
      }
      return
    }
    if (p.status === MessageStatus.CONTINUE) {
      if (p.buf.length > 28) this.push(Buffer.from(p.buf.subarray(28)))
      else {
        // an empty data packet is the daemon's end of data
        this.eof = true
        this.wake()
      }
    } else if (p.status === MessageStatus.OK) {
      if (this.closing) this.end()
      else {
        this.eof = true
        this.wake()
      }
    } else this.fail(decodeError(p))
  }

  /** The connection is gone. */
  lost(err: Error): void {
    if (!this.done) this.fail(err)
  }

  private push(c: StreamChunk): void {
    if (this.waiter && this.rx.length === 0) {
      const w = this.waiter
      this.waiter = undefined
      w.resolve(c)
      return
    }
    this.rx.push(c)
    if (Buffer.isBuffer(c)) this.rxBytes += c.length
    if (this.rxBytes >= this.window && !this.paused) {
      this.paused = true
      this.client.socket.pause()
    }
  }

  private resumeIfRoom(): void {
    if (this.paused && this.rxBytes < this.window / 2) {
      this.paused = false
      this.client.socket.resume()
    }
  }

  private wake(): void {
    const w = this.waiter
    if (!w) return
    this.waiter = undefined
    if (this.error) w.reject(this.error)
    else w.resolve(null)
  }

  private fail(err: Error): void {
    this.error = err
    if (this.closing) {
      this.closing.reject(err)
      this.closing = undefined
    }
    this.finishUp()
    this.wake()
  }

  private end(): void {
    this.closing?.resolve()
    this.closing = undefined
    this.finishUp()
    this.wake()
  }

  private finishUp(): void {
    this.done = true
    this.rx.length = 0
    this.rxBytes = 0
    this.resumeIfRoom()
    this.onGone(this)
  }
}

function decodeError(p: Packet): VirError {
  try {
    return fromWireError(errorStruct.dec(payloadReader(p)))
  } catch {
    return new VirError(ErrorCode.RPC, ErrorDomain.RPC, 'Unable to decode stream error')
  }
}

const registries = new WeakMap<RpcClient, Map<number, ClientStream>>()

function streamsOf(client: RpcClient): Map<number, ClientStream> {
  let reg = registries.get(client)
  if (!reg) {
    const r = new Map<number, ClientStream>()
    reg = r
    registries.set(client, r)
    client.streamPacket = (p) => {
      const s = r.get(p.serial)
      if (s && s.key.proc === p.proc && s.key.prog === p.prog) s.onPacket(p)
    }
    client.on('close', (err: Error) => {
      for (const s of [...r.values()]) s.lost(err)
    })
  }
  return reg
}

/** Calls `def`, whose reply opens a stream; the stream is ready for packets before the call goes out. */
export async function openStream<A, R>(
  client: RpcClient,
  program: AnyProgram,
  def: ProcDef<A, R>,
  args: A,
  opts: {window?: number} = {},
): Promise<{stream: ClientStream; ret: R}> {
  const reg = streamsOf(client)
  const serial = client.nextSerial
  const stream = new ClientStream(
    client,
    {prog: program.prog, vers: program.vers, proc: def.num, serial},
    (s) => reg.delete(s.key.serial),
    opts.window,
  )
  reg.set(serial, stream)
  try {
    const ret = await client.call(program, def, args)
    return {stream, ret}
  } catch (err) {
    reg.delete(serial)
    throw err
  }
}
