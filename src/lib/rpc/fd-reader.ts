/**
 * Reading a UNIX-socket RPC connection on which descriptors may arrive (CALL_WITH_FDS to a server,
 * REPLY_WITH_FDS to a client). libvirt sends such a packet whole, then each descriptor by its own
 * sendmsg of one byte with SCM_RIGHTS. A plain read() that reaches one of those bytes makes the
 * kernel discard the descriptor, and libuv reads as much as there is; so this reader tells libuv
 * (through Node's user-buffer mode of net.Socket) exactly how much to read each time:
 *
 * - within a packet whose type is not known yet, up to the end of its 28-byte header;
 * - within a packet that carries descriptors, up to its last byte: then the descriptors are
 *   received with recvmsg before the packet is handed on;
 * - within any other packet, up to its last byte plus 28 (the header of the next packet, which is
 *   never past the end of a packet: every packet has a header, one with descriptors also a count).
 *
 * So a stream of calls costs one read() per packet, as before. Descriptors are queued per packet in
 * arrival order (`fds`); whoever handles a packet of the descriptor type takes one entry.
 */
import type {Socket} from 'node:net'
import {readSync} from 'node:fs'
import {MAX_FDS_PER_CALL, closeFds, peekSoon, recvFds, recvFdsNow} from '../os/fdpass.js'
import {HEADER_SIZE, LEN_SIZE, MESSAGE_MAX} from './message.js'

const HEAD = LEN_SIZE + HEADER_SIZE
/** Bytes captured at the start of each packet: the length word, the header and the fd count. */
const CAPTURE = HEAD + 4
/** Reads of at least this many bytes get a buffer of their own (no copy after the read). */
const OWN_READ_MIN = 16384
/** How long the peer may take to send the descriptors announced by a packet. */
const FD_WAIT_MS = 30000

/** What a user-buffer socket handle offers (libuv stream handle). */
interface UserBufferHandle {
  fd?: number
  reading?: boolean
  readStart: () => number
  readStop: () => number
  useUserBuffer: (buf: Uint8Array) => void
}

export interface FdReaderHooks {
  /** Received bytes in stream order; the descriptors of the packets in them are already in `fds`. */
  onData: (d: Buffer) => void
  /** The peer broke the descriptor protocol (too many, none, timeout): drop the connection. */
  onError: (err: Error) => void
  /**
   * Where the last `n` bytes of the packet being received may be read in place (FrameDecoder.into):
   * then onData gets a view of that buffer and nothing is copied. Undefined: read elsewhere.
   */
  target?: (n: number) => Buffer | undefined
}

function handleOf(socket: Socket): UserBufferHandle | undefined {
  const h = (socket as unknown as {_handle?: Partial<UserBufferHandle> | null})._handle
  if (!h || typeof h.useUserBuffer !== 'function' || typeof h.readStop !== 'function' || typeof h.fd !== 'number' || h.fd < 0) return undefined
  return h as UserBufferHandle
}

/** Node keeps its onread state of a socket under these symbols (lib/internal/stream_base_commons). */
function onreadSymbols(socket: Socket): {buffer: symbol; callback: symbol; gen: symbol} | undefined {
  const syms = Object.getOwnPropertySymbols(socket)
  const find = (d: string) => syms.find((s) => s.description === d)
  const buffer = find('kBuffer')
  const callback = find('kBufferCb')
  const gen = find('kBufferGen')
  return buffer && callback && gen ? {buffer, callback, gen} : undefined
}

/**
 * Where reading `data` (the bytes queued after the current position) must stop: after the first
 * packet with descriptors that ends in it, else at its end. The framing state is not changed.
 */
function safeLength(head0: Buffer, pos0: number, len0: number, data: Buffer, fdType: number): number {
  const head = Buffer.from(head0)
  let pos = pos0
  let len = len0
  let off = 0
  while (off < data.length) {
    const captureEnd = len ? Math.min(CAPTURE, len) : HEAD
    const n = Math.min((pos < captureEnd ? captureEnd : len) - pos, data.length - off)
    if (pos < captureEnd) data.copy(head, pos, off, off + n)
    pos += n
    off += n
    if (len === 0 && pos >= LEN_SIZE) {
      len = head.readUInt32BE(0)
      if (len < HEAD || len - LEN_SIZE > MESSAGE_MAX) return off // the real scan reports it
    }
    if (len && pos === len) {
      if (head.readInt32BE(16) === fdType) return off
      pos = 0
      len = 0
    }
  }
  return off
}

export class FdReader {
  /** Descriptors received, one entry per packet of the descriptor type, oldest first. */
  readonly fds: number[][] = []
  readonly fd: number
  private readonly head = Buffer.alloc(CAPTURE)
  /** Bytes of the current packet seen so far, and its length once known (0 before). */
  private pos = 0
  private len = 0
  /** The length of the last packet completed. */
  private lastLen = 0
  /** The stream is not RPC framing any more (bad length): read freely, FrameDecoder reports it. */
  private lost = false
  private holding = false
  private closed = false
  private readBuf = Buffer.allocUnsafe(65536)
  /** readNow's buffer for small reads. */
  private nowBuf = Buffer.allocUnsafe(OWN_READ_MIN)
  /** Descriptors of the packet being completed, and how many it announced. */
  private pendingFds: number[] = []
  private wantFds = 0

  private constructor(
    private readonly socket: Socket,
    private readonly handle: UserBufferHandle,
    private readonly fdType: number,
    private readonly hooks: FdReaderHooks,
  ) {
    this.fd = handle.fd!
  }

  /**
   * Takes over reading a connected UNIX socket (instead of 'data' events). Returns undefined when
   * the socket cannot be read this way (not a UNIX socket, or a Node without user-buffer reads):
   * the caller then reads as usual and cannot receive descriptors.
   */
  static attach(socket: Socket, fdType: number, hooks: FdReaderHooks): FdReader | undefined {
    if ((socket as {encrypted?: boolean}).encrypted || socket.remoteFamily !== undefined) return undefined
    const handle = handleOf(socket)
    const syms = onreadSymbols(socket)
    if (!handle || !syms) return undefined
    const reader = new FdReader(socket, handle, fdType, hooks)
    const target = socket as unknown as Record<symbol, unknown>
    // Bytes Node read before now sit in the stream's buffer; they go first, on the next tick.
    const early: Buffer[] = []
    for (let b = socket.read() as Buffer | null; b !== null; b = socket.read() as Buffer | null) early.push(b)
    const first = reader.nextBuffer()
    target[syms.buffer] = first
    target[syms.gen] = () => reader.nextBuffer()
    target[syms.callback] = (n: number) => reader.onRead(reader.take(n))
    handle.useUserBuffer(first)
    if (early.length) {
      const data = Buffer.concat(early)
      reader.holding = true
      reader.stopReading()
      setImmediate(() => {
        reader.holding = false
        reader.startReading()
        reader.ingest(data)
      })
    }
    socket.once('close', () => {
      reader.closed = true
      for (const fds of reader.fds.splice(0)) closeFds(fds)
    })
    return reader
  }

  /** How many bytes the next read may take without reaching descriptor bytes. */
  private nextSize(): number {
    if (this.lost) return this.readBuf.length
    if (this.pos < HEAD) return HEAD - this.pos
    const rest = this.len - this.pos
    return this.head.readInt32BE(16) === this.fdType ? rest : rest + HEAD
  }

  private nextBuffer(peek = true): Buffer {
    let n = this.nextSize()
    // Inside a large packet without descriptors: read its rest straight into where it is assembled.
    this.inPlace = false
    if (!this.lost && this.len && this.pos >= HEAD && this.head.readInt32BE(16) !== this.fdType) {
      const rest = this.len - this.pos
      const into = rest >= OWN_READ_MIN ? this.hooks.target?.(rest) : undefined
      if (into) {
        this.asked = rest
        this.current = into
        this.owned = true
        this.inPlace = true
        return into
      }
    }
    // A read that got all it asked for leaves more queued, typically pipelined calls: look at
    // them (MSG_PEEK) and take every whole packet up to the end of the first with descriptors.
    // (Not while holding: what is queued then starts with descriptor bytes; startReading() asks again.)
    // After a large packet (stream data), the next is most likely large too: read just its header and
    // the rest in place, rather than peek (and copy) its first 64 KiB twice.
    const afterLarge = this.pos === 0 && this.lastLen >= OWN_READ_MIN
    if (peek && this.filled && !this.lost && !this.holding && !afterLarge) n = Math.max(n, this.safeQueued())
    this.asked = n
    if (n >= OWN_READ_MIN) {
      // A large read (stream data, big calls) goes to a buffer of its own, handed on without a copy.
      this.current = Buffer.allocUnsafe(Math.min(n, MESSAGE_MAX + CAPTURE))
      this.owned = true
      return this.current
    }
    if (n > this.readBuf.length) this.readBuf = Buffer.allocUnsafe(Math.min(n, MESSAGE_MAX + CAPTURE))
    this.current = this.readBuf.subarray(0, n)
    this.owned = false
    return this.current
  }

  /**
   * The `n` bytes just read into `current`, as a buffer nobody else writes to: the read buffer itself
   * when it was its own and mostly filled, else a copy (the shared buffer is read into again).
   */
  private take(n: number): Buffer {
    const got = this.current.subarray(0, n)
    return this.inPlace || (this.owned && n * 2 >= this.current.length) ? got : Buffer.from(got)
  }

  /** Whether `current` is a view of the packet being assembled (FdReaderHooks.target). */
  private inPlace = false

  /** Whether `current` was allocated for this read alone. */
  private owned = false

  /** The buffer libuv reads into next (what onRead gets its bytes from). */
  private current: Buffer = Buffer.alloc(0)

  /** The size of the last read asked for, and whether it came back full. */
  private asked = 0
  private filled = false
  private peekBuf: Buffer | undefined

  /** How many of the bytes queued now can be read without reaching descriptor bytes. */
  private safeQueued(): number {
    this.peekBuf ??= Buffer.allocUnsafe(65536)
    const queued = peekSoon(this.fd, this.peekBuf)
    return queued > 0 ? safeLength(this.head, this.pos, this.len, this.peekBuf.subarray(0, queued), this.fdType) : 0
  }

  private onRead(chunk: Buffer): boolean {
    this.filled = chunk.length === this.asked
    this.ingest(chunk)
    return true
  }

  /**
   * One non-blocking read of the socket for the busy-poll loop, as readNow() in busy-poll.ts: the
   * bytes, null when none are there (or a packet with descriptors comes next, left to the event
   * loop), 'end' on EOF or error.
   */
  readNow(): Buffer | null | 'end' {
    if (this.holding || this.closed) return null
    if (!this.lost && this.pos >= HEAD && this.head.readInt32BE(16) === this.fdType) return null
    // One packet at most, never one with descriptors; into a buffer of its own (libuv keeps `current`).
    const size = Math.min(this.nextSize(), MESSAGE_MAX + CAPTURE)
    const owned = size >= OWN_READ_MIN
    if (!owned && size > this.nowBuf.length) this.nowBuf = Buffer.allocUnsafe(size)
    const buf = owned ? Buffer.allocUnsafe(size) : this.nowBuf.subarray(0, size)
    const limit = Error.stackTraceLimit
    Error.stackTraceLimit = 0
    let n: number
    try {
      n = readSync(this.fd, buf, 0, buf.length, null)
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'EAGAIN' ? null : 'end'
    } finally {
      Error.stackTraceLimit = limit
    }
    if (n === 0) return 'end'
    const chunk = owned && n * 2 >= size ? buf.subarray(0, n) : Buffer.from(buf.subarray(0, n))
    this.scan(chunk, 0) // never completes a packet with descriptors (see the early return above)
    return chunk
  }

  /** Scans a chunk for the ends of packets with descriptors, receives those, then hands the chunk on. */
  private ingest(chunk: Buffer, from = 0): void {
    for (let off = from; off < chunk.length;) {
      off = this.scan(chunk, off)
      if (off < 0) return // the connection is being dropped
      if (this.pos !== 0 || this.lost || this.len === 0) continue
      // A packet with descriptors ended at `off`: receive them before its bytes go on.
      if (!this.receiveNow()) {
        this.hold(chunk, off)
        return
      }
    }
    this.hooks.onData(chunk)
  }

  /**
   * Advances the framing over chunk[off..]; returns where it stopped: the chunk's end, or just
   * after a packet with descriptors (then pos is 0 and len is that packet's length).
   */
  private scan(chunk: Buffer, off: number): number {
    while (off < chunk.length) {
      if (this.lost) return chunk.length
      // Until the length is known, only the header is surely part of this packet.
      const captureEnd = this.len ? Math.min(CAPTURE, this.len) : HEAD
      if (this.pos < captureEnd) {
        const n = Math.min(captureEnd - this.pos, chunk.length - off)
        chunk.copy(this.head, this.pos, off, off + n)
        this.pos += n
        off += n
        if (this.pos >= LEN_SIZE && this.len === 0) {
          this.len = this.head.readUInt32BE(0)
          if (this.len < HEAD || this.len - LEN_SIZE > MESSAGE_MAX) {
            this.lost = true
            return chunk.length
          }
        }
      } else {
        const n = Math.min(this.len - this.pos, chunk.length - off)
        this.pos += n
        off += n
      }
      if (this.len && this.pos === this.len) {
        const withFds = this.head.readInt32BE(16) === this.fdType
        this.lastLen = this.len
        this.pos = 0
        if (withFds) {
          if (this.len < CAPTURE) {
            this.fail(new Error('packet with descriptors has no descriptor count'))
            return -1
          }
          this.wantFds = this.head.readUInt32BE(HEAD)
          if (this.wantFds > MAX_FDS_PER_CALL) {
            this.fail(new Error(`Received too many FDs ${this.wantFds}, expected ${MAX_FDS_PER_CALL} maximum`))
            return -1
          }
          return off
        }
        this.len = 0
      }
    }
    return off
  }

  /** Receives the announced descriptors that are already there; true once all arrived. */
  private receiveNow(): boolean {
    while (this.pendingFds.length < this.wantFds) {
      const r = recvFdsNow(this.fd, 1, 1)
      if (r === null) return false
      if (!this.took(r.data.length, r.fds)) return true
    }
    this.completeFds()
    return true
  }

  /** Records one received descriptor message; false (and drops the connection) when it is wrong. */
  private took(bytes: number, fds: number[]): boolean {
    if (bytes === 0 || fds.length !== 1) {
      closeFds(fds)
      this.fail(new Error(bytes === 0 ? 'End of file while receiving file descriptors' : 'Expected one file descriptor in the message'))
      return false
    }
    this.pendingFds.push(fds[0])
    return true
  }

  private completeFds(): void {
    this.fds.push(this.pendingFds)
    this.pendingFds = []
    this.wantFds = 0
    this.len = 0
  }

  /** Stops reading until the descriptors arrive, then goes on with the rest of the chunk. */
  private hold(chunk: Buffer, off: number): void {
    this.holding = true
    this.stopReading()
    const next = async (): Promise<void> => {
      while (!this.closed && this.pendingFds.length < this.wantFds) {
        const r = await recvFds(this.fd, 1, 1, FD_WAIT_MS)
        if (this.closed) {
          closeFds(r.fds)
          return
        }
        if (!this.took(r.data.length, r.fds)) return
      }
    }
    next().then(
      () => {
        if (this.closed) return
        if (this.pendingFds.length < this.wantFds) return
        this.completeFds()
        this.holding = false
        this.startReading()
        this.ingest(chunk, off)
      },
      (err: unknown) => this.fail(err instanceof Error ? err : new Error(String(err))),
    )
  }

  private fail(err: Error): void {
    closeFds(this.pendingFds.splice(0))
    this.lost = true
    this.hooks.onError(err)
  }

  /** libuv stops reading; Node's own resume() cannot restart it while we hold (readStart is stubbed). */
  private stubbed = false
  private stopReading(): void {
    const h = this.handle
    h.readStop()
    if (!this.stubbed) {
      this.stubbed = true
      h.readStart = () => 0
    }
  }

  /** Back to libuv reading, unless Node paused the socket meanwhile (its resume() restarts it then). */
  private startReading(): void {
    if (!this.stubbed) return
    this.stubbed = false
    const h = this.handle
    Reflect.deleteProperty(h, 'readStart')
    if (this.socket.destroyed) return
    // The buffer Node asked for while we held was sized for a stopped socket: size it again now.
    h.useUserBuffer(this.nextBuffer())
    if (h.reading !== false) h.readStart()
  }
}
