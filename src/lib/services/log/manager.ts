/**
 * virtlogd's log manager: one FIFO per guest log under RUNDIR/virtlogd/, held open O_RDWR by the
 * daemon (so the daemon never sees EOF as writers come and go, and a writer never finds the pipe
 * without a reader), each one copied into its log file with size-capped rollover.
 *
 * The open logs are recorded in RUNDIR/virtlogd/logs.json (atomically, on every change), so a
 * restarted daemon follows the FIFOs again; a re-exec hands them over explicitly (reexec.ts).
 */
import {Socket} from 'node:net'
import {closeSync, constants as fsc, lstatSync, mkdirSync, openSync, readFileSync, readSync, readdirSync, rmSync} from 'node:fs'
import {execFileSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import {isAbsolute, join, normalize} from 'node:path'
import {writeFileAtomicSync} from '../../fs-atomic.js'
import {ErrorDomain, errors} from '../../errors.js'
import {uuidToString} from '../../uuid.js'
import type {LogSink} from '../../daemon/logging.js'
import {LOG_READ_MAX, LogOpenFlags} from './protocol.js'
import {RotatingFile, logPosition, readLog, utf8Whole} from './rotating.js'

/** A guest log as recorded in logs.json and in the re-exec state. */
export interface LogEntry {
  driver: string
  uuid: string
  name: string
  /** The log file. */
  path: string
  fifo: string
}

interface OpenLog extends LogEntry {
  /** Our O_RDWR|O_NONBLOCK descriptor of the FIFO (owned by `reader` once it exists). */
  fd: number
  reader?: Socket
  writer?: RotatingFile
}

export interface LogManagerOptions {
  /** RUNDIR/virtlogd: the FIFOs and logs.json. */
  dir: string
  maxSize: number
  maxBackups: number
  log: LogSink
}

const REGISTRY = 'logs.json'
const drainBuf = Buffer.allocUnsafe(65536)

function safeName(s: string): string {
  return s.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 64) || '_'
}

function isFifo(p: string): boolean {
  try {
    return lstatSync(p).isFIFO()
  } catch {
    return false
  }
}

export class LogManager {
  private readonly opts: LogManagerOptions
  private readonly logs = new Map<string, OpenLog>()
  /** While set, state-changing calls wait for it (re-exec in progress, either side). */
  private gate: Promise<void> | undefined
  private openGate: (() => void) | undefined
  private released = false

  constructor(opts: LogManagerOptions) {
    this.opts = opts
    mkdirSync(opts.dir, {recursive: true, mode: 0o700})
  }

  get dir(): string {
    return this.opts.dir
  }

  /** Whether any log is being followed. */
  hasActive(): boolean {
    return this.logs.size > 0
  }

  /** The open logs (for tests and diagnostics). */
  entries(): LogEntry[] {
    return [...this.logs.values()].map(({driver, uuid, name, path, fifo}) => ({driver, uuid, name, path, fifo}))
  }

  // ---- start-up ------------------------------------------------------------------------------

  /** Normal start: follows again every recorded FIFO that still exists; removes stray FIFOs. */
  restore(): void {
    let recorded: LogEntry[] = []
    try {
      recorded = JSON.parse(readFileSync(join(this.opts.dir, REGISTRY), 'utf8')) as LogEntry[]
      if (!Array.isArray(recorded)) recorded = []
    } catch {
      // none yet
    }
    this.adopt(recorded)
    const kept = new Set([...this.logs.values()].map((o) => o.fifo))
    for (const f of readdirSync(this.opts.dir)) {
      const p = join(this.opts.dir, f)
      if (f.endsWith('.fifo') && !kept.has(p) && isFifo(p)) rmSync(p, {force: true})
    }
    this.startFollowing()
    this.persist()
  }

  /**
   * Opens the FIFOs of these logs (O_RDWR, so any writer keeps a reader) without reading them
   * yet. A re-exec'd daemon does this before the old one lets go of its own descriptors.
   */
  adopt(entries: LogEntry[]): void {
    for (const e of entries) {
      if (this.logs.has(e.path) || !isFifo(e.fifo)) {
        if (!this.logs.has(e.path)) this.opts.log.warn(`log ${e.path}: FIFO ${e.fifo} is gone, no longer following it`)
        continue
      }
      try {
        const fd = openSync(e.fifo, fsc.O_RDWR | fsc.O_NONBLOCK)
        this.logs.set(e.path, {driver: e.driver, uuid: e.uuid, name: e.name, path: e.path, fifo: e.fifo, fd})
      } catch (err) {
        this.opts.log.error(`log ${e.path}: cannot open FIFO ${e.fifo}: ${(err as Error).message}`)
      }
    }
  }

  /** Starts copying every adopted FIFO into its log (opening the log file only now). */
  startFollowing(): void {
    for (const o of this.logs.values()) if (!o.reader) this.follow(o)
  }

  /** Makes state-changing calls wait until `until` settles, then opens the gate. */
  holdUntil(until: Promise<void>, then: () => void): void {
    this.closeGate()
    void until.then(() => {
      then()
      this.thaw()
    })
  }

  // ---- re-exec hooks (old process) -----------------------------------------------------------

  freeze(): LogEntry[] {
    this.closeGate()
    return this.entries()
  }

  /** Final drain of every FIFO into its log, then closes our descriptors (the FIFOs stay). */
  release(): void {
    this.released = true
    for (const o of this.logs.values()) {
      this.drainAndClose(o)
      o.writer?.close()
    }
    this.logs.clear()
  }

  thaw(): void {
    const open = this.openGate
    this.gate = undefined
    this.openGate = undefined
    open?.()
  }

  private closeGate(): void {
    if (this.gate) return
    this.gate = new Promise<void>((r) => (this.openGate = r))
  }

  private async waitGate(): Promise<void> {
    while (this.gate) await this.gate
    if (this.released) return new Promise<void>(() => {}) // handed over: the client retries on the new daemon
  }

  // ---- procedures ----------------------------------------------------------------------------

  private checkPath(path: string): string {
    if (!isAbsolute(path) || path.includes('\0')) throw errors.invalidArg(ErrorDomain.LOGGING, `log file path '${path}' must be absolute`)
    return normalize(path)
  }

  private checkFlags(flags: number, allowed: number): void {
    if ((flags & ~allowed) !== 0) throw errors.invalidArg(ErrorDomain.LOGGING, `unsupported flags (0x${(flags & ~allowed).toString(16)})`)
  }

  /** DOMAIN_OPEN_LOG_FILE: the FIFO to write the guest's output to (created if needed). */
  async open(a: {driver: string; uuid: Buffer; name: string; path: string; flags: number}): Promise<string> {
    this.checkFlags(a.flags, LogOpenFlags.TRUNCATE)
    const path = this.checkPath(a.path)
    await this.waitGate()
    const have = this.logs.get(path)
    if (have) {
      if (a.flags & LogOpenFlags.TRUNCATE) have.writer?.truncate()
      return have.fifo
    }
    const hash = createHash('sha256').update(path).digest('hex').slice(0, 12)
    const fifo = join(this.opts.dir, `${safeName(a.driver)}-${safeName(a.name)}-${hash}.fifo`)
    rmSync(fifo, {force: true})
    try {
      execFileSync('mkfifo', ['-m', '600', fifo], {stdio: ['ignore', 'ignore', 'pipe']})
    } catch (err) {
      const stderr = (err as {stderr?: Buffer}).stderr?.toString().trim()
      throw errors.systemError(ErrorDomain.LOGGING, `cannot create FIFO ${fifo}: ${stderr || (err as Error).message}`)
    }
    let fd: number
    try {
      fd = openSync(fifo, fsc.O_RDWR | fsc.O_NONBLOCK)
    } catch (err) {
      rmSync(fifo, {force: true})
      throw errors.systemError(ErrorDomain.LOGGING, `cannot open FIFO ${fifo}: ${(err as Error).message}`)
    }
    const o: OpenLog = {driver: a.driver, uuid: uuidToString(a.uuid), name: a.name, path, fifo, fd}
    try {
      this.follow(o)
    } catch (err) {
      closeSync(fd)
      rmSync(fifo, {force: true})
      throw errors.systemError(ErrorDomain.LOGGING, `cannot open log file ${path}: ${(err as Error).message}`)
    }
    if (a.flags & LogOpenFlags.TRUNCATE) o.writer!.truncate()
    this.logs.set(path, o)
    this.persist()
    this.opts.log.debug(`following ${fifo} into ${path}`)
    return fifo
  }

  /** DOMAIN_GET_LOG_FILE_POSITION: inode and size of the live log file. */
  position(a: {path: string; flags: number}): {inode: bigint; offset: bigint} {
    this.checkFlags(a.flags, 0)
    const path = this.checkPath(a.path)
    const w = this.logs.get(path)?.writer
    return w ? {inode: w.inode, offset: BigInt(w.size)} : logPosition(path)
  }

  /** DOMAIN_READ_LOG_FILE: up to maxlen bytes (at most LOG_READ_MAX) from a position, across rollovers. */
  read(a: {path: string; inode: bigint; offset: bigint; maxlen: bigint; flags: number}): string {
    this.checkFlags(a.flags, 0)
    const path = this.checkPath(a.path)
    const max = Number(a.maxlen > BigInt(LOG_READ_MAX) ? BigInt(LOG_READ_MAX) : a.maxlen)
    return utf8Whole(readLog(path, this.opts.maxBackups, a.inode, a.offset, max)).toString('utf8')
  }

  /** DOMAIN_APPEND_LOG_FILE: appends a message (the driver's own lines) with the same rollover. */
  async append(a: {driver: string; uuid: Buffer; name: string; path: string; message: string; flags: number}): Promise<number> {
    this.checkFlags(a.flags, 0)
    const path = this.checkPath(a.path)
    await this.waitGate()
    const data = Buffer.from(a.message, 'utf8')
    const o = this.logs.get(path)
    try {
      if (o?.writer) o.writer.append(data)
      else {
        const w = new RotatingFile(path, {maxSize: this.opts.maxSize, maxBackups: this.opts.maxBackups})
        try {
          w.append(data)
        } finally {
          w.close()
        }
      }
    } catch (err) {
      throw errors.systemError(ErrorDomain.LOGGING, `cannot append to log file ${path}: ${(err as Error).message}`)
    }
    return data.length
  }

  /** DOMAIN_CLOSE_LOG_FILE: the writer is gone: copy what is left, stop following, remove the FIFO. */
  async close(a: {path: string; flags: number}): Promise<void> {
    this.checkFlags(a.flags, 0)
    const path = this.checkPath(a.path)
    await this.waitGate()
    const o = this.logs.get(path)
    if (!o) return
    this.logs.delete(path)
    this.drainAndClose(o)
    o.writer?.close()
    rmSync(o.fifo, {force: true})
    this.persist()
    this.opts.log.debug(`closed ${o.fifo} (${path})`)
  }

  /** Stops following everything without removing FIFOs or the registry (daemon shutdown, tests). */
  shutdown(): void {
    for (const o of this.logs.values()) {
      this.drainAndClose(o)
      o.writer?.close()
    }
    this.logs.clear()
  }

  // ---- internals -----------------------------------------------------------------------------

  private follow(o: OpenLog): void {
    if (!o.writer) o.writer = new RotatingFile(o.path, {maxSize: this.opts.maxSize, maxBackups: this.opts.maxBackups})
    const reader = new Socket({fd: o.fd, readable: true, writable: false})
    reader.on('data', (chunk: Buffer) => this.write(o, chunk))
    reader.on('error', (err) => this.opts.log.error(`log ${o.path}: reading ${o.fifo} failed: ${err.message}`))
    o.reader = reader
  }

  private write(o: OpenLog, chunk: Buffer): void {
    try {
      o.writer?.append(chunk)
    } catch (err) {
      this.opts.log.error(`log ${o.path}: write failed, ${chunk.length} bytes lost: ${(err as Error).message}`)
    }
  }

  /**
   * Copies whatever is buffered or still in the pipe into the log, then closes our descriptor.
   * Synchronous, so no read can slip in between (reads only happen in the event loop).
   */
  private drainAndClose(o: OpenLog): void {
    const r = o.reader
    o.reader = undefined
    if (!r) {
      // Never followed here (adopted during a re-exec): the pipe's content is not ours to take.
      closeSync(o.fd)
      return
    }
    r.removeAllListeners('data')
    r.pause()
    for (let c = r.read() as Buffer | null; c !== null; c = r.read() as Buffer | null) this.write(o, c)
    for (;;) {
      let n: number
      try {
        n = readSync(o.fd, drainBuf, 0, drainBuf.length, null)
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code
        if (code !== 'EAGAIN' && code !== 'EWOULDBLOCK') this.opts.log.error(`log ${o.path}: draining ${o.fifo} failed: ${(err as Error).message}`)
        break
      }
      if (n <= 0) break
      this.write(o, Buffer.from(drainBuf.subarray(0, n)))
    }
    r.destroy()
  }

  private persist(): void {
    try {
      writeFileAtomicSync(join(this.opts.dir, REGISTRY), JSON.stringify(this.entries(), null, 1) + '\n', 0o600)
    } catch (err) {
      this.opts.log.error(`cannot record the open logs: ${(err as Error).message}`)
    }
  }
}
