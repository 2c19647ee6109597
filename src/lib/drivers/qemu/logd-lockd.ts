/**
 * How the QEMU driver uses virtlogd and virtlockd (src/lib/services/log, src/lib/services/lock).
 * The daemon hands the driver a client and socket for each (QemuDriverOptions.logd / .lockd);
 * each is used when its socket exists and the daemon answers; without them the driver works as
 * before (direct log files, no locks).
 *
 *  virtlogd   QEMU's stdout/stderr (LOGDIR/qemu/NAME.log) and every `<serial type='file'>` go
 *             through a FIFO virtlogd copies into the file, with its max_size / max_backups
 *             rollover. Our own lines (the start header, "shutting down") are appended through
 *             virtlogd too, so they keep their place and count towards the size. When the guest
 *             is gone the logs are closed (virtlogd drains and removes the FIFOs). virtlogd keeps
 *             following the FIFOs across its own re-exec and restart, and across ours: the status
 *             file records which logs to close.
 *  virtlockd  every disk with a source is locked before QEMU starts (shared for readonly,
 *             shareable and cdrom disks, exclusive otherwise), owner {name, uuid, pid 0}, then
 *             again with QEMU's pid once it runs (so virtlockd can drop the locks of a QEMU that
 *             died while nobody watched); the owner's locks are released when the guest is gone,
 *             whichever way it stopped or failed to start. A conflict fails the start with
 *             virtlockd's error: RESOURCE_BUSY (87), domain LOCKING (42),
 *             "resource busy: Lockspace resource '<path>' is locked".
 *
 * A virtlogd socket that exists but does not answer (a crashed virtlogd) is ignored with a
 * warning; a dead virtlockd socket fails the start, since running without the locks the host
 * asked for could corrupt a disk shared by mistake.
 */
import {existsSync} from 'node:fs'
import net from 'node:net'
import type {DomainDef} from '../../conf/domain.js'
import {child} from '../../conf/xml.js'
import {ErrorDomain, errors} from '../../errors.js'
import type {FileChardev} from './argv.js'

/** How long clean-up calls wait for a daemon: one that is gone is not waited for long. */
export interface CallLimits {
  connectTimeoutMs?: number
  timeoutMs?: number
}

interface LogId {
  driver: string
  uuid: string
  name: string
  path: string
}

/** What the driver needs of virtlogd's client (services/log/client.ts provides it). */
export interface GuestLogClient {
  openGuestLog(sock: string, id: LogId & {truncate?: boolean}, opts?: CallLimits): Promise<string>
  appendGuestLog(sock: string, id: LogId, message: string, opts?: CallLimits): Promise<number>
  guestLogPosition(sock: string, path: string, opts?: CallLimits): Promise<LogPos>
  readGuestLog(sock: string, path: string, pos: LogPos, maxlen?: number, opts?: CallLimits): Promise<string>
  closeGuestLog(sock: string, path: string, opts?: CallLimits): Promise<void>
  openFifoForWriting(fifo: string): number
}

/** What the driver needs of virtlockd's client (services/lock/client.ts provides it). */
export interface DiskLockClient {
  acquireDiskLocks(sock: string, owner: {name: string; uuid: string; pid: number}, disks: DiskLock[], opts?: CallLimits): Promise<void>
  releaseOwner(sock: string, owner: {name: string; uuid: string; pid: number}, opts?: CallLimits): Promise<void>
  releaseDiskLock(sock: string, owner: {name: string; uuid: string; pid: number}, path: string, opts?: CallLimits): Promise<void>
}

/** virtlogd as handed to the driver: where it listens and how to call it. */
export interface Virtlogd {
  socket: string
  client: GuestLogClient
}

/** virtlockd as handed to the driver. */
export interface Virtlockd {
  socket: string
  client: DiskLockClient
}

export interface LogPos {
  inode: bigint
  offset: bigint
}

export interface DiskLock {
  path: string
  shared: boolean
}

/** The logs of a run that go through virtlogd (recorded in the status file). */
export interface LogdUse {
  socket: string
  /** Every log file opened through virtlogd (serial files, then the QEMU log). */
  files: string[]
}

/** The locks of a run held in virtlockd (recorded in the status file). */
export interface LockdUse {
  socket: string
}

export interface GuestIdent {
  name: string
  uuid: string
}

interface Warn {
  warn(m: string): void
}

export interface OpenedLogs {
  use: LogdUse
  /** Chardev id -> FIFO (for ArgvOptions.chardevFifos). */
  chardevFifos: Record<string, string>
  /** The FIFO for QEMU's stdout/stderr. */
  qemuFifo: string
}

/** The lock each disk with a source needs: shared for readonly, shareable and cdrom disks. */
export function diskLocks(def: DomainDef): DiskLock[] {
  const out: DiskLock[] = []
  for (const d of def.devices.disks) {
    if (d.source === undefined || (d.type !== 'file' && d.type !== 'block')) continue
    const shared = d.readonly || d.device === 'cdrom' || child(d.xml, 'shareable') !== undefined
    const have = out.find((l) => l.path === d.source)
    if (have) have.shared &&= shared
    else out.push({path: d.source, shared})
  }
  return out
}

/** Whether a UNIX socket exists and accepts a connection: 'up', 'absent' (no file) or 'dead'. */
export function probeSocket(path: string, timeoutMs = 1000): Promise<'up' | 'absent' | 'dead'> {
  if (!existsSync(path)) return Promise.resolve('absent')
  return new Promise((resolve) => {
    const s = net.connect(path)
    const done = (r: 'up' | 'dead') => {
      clearTimeout(timer)
      s.destroy()
      resolve(r)
    }
    const timer = setTimeout(() => done('dead'), timeoutMs)
    s.once('connect', () => done('up'))
    s.once('error', () => done('dead'))
  })
}

const CLEANUP: CallLimits = {connectTimeoutMs: 1000, timeoutMs: 10000}

/** The driver's use of virtlogd and virtlockd, over the clients it was given. */
export class GuestHelpers {
  constructor(
    private readonly logd: Virtlogd | undefined,
    private readonly lockd: Virtlockd | undefined,
    private readonly log: Warn,
  ) {}

  // ---- virtlogd ------------------------------------------------------------------------------

  /** Whether to route this start's logs through virtlogd: its socket, or undefined. */
  async useVirtlogd(): Promise<string | undefined> {
    if (!this.logd) return undefined
    const sock = this.logd.socket
    const st = await probeSocket(sock)
    if (st === 'dead') this.log.warn(`qemu: virtlogd socket ${sock} does not answer; writing logs directly`)
    return st === 'up' ? sock : undefined
  }

  private logClient(): GuestLogClient {
    if (!this.logd) throw errors.internal(ErrorDomain.QEMU, 'the QEMU driver was given no virtlogd client')
    return this.logd.client
  }

  /**
   * Asks virtlogd for a FIFO for each file chardev (truncating the file unless append='on') and
   * for the QEMU log (appended to). On failure, whatever was opened is closed again.
   */
  async openLogs(sock: string, dom: GuestIdent, files: FileChardev[], qemuLog: string): Promise<OpenedLogs> {
    const c = this.logClient()
    const use: LogdUse = {socket: sock, files: []}
    const chardevFifos: Record<string, string> = {}
    try {
      for (const f of files) {
        chardevFifos[f.id] = await c.openGuestLog(sock, {driver: 'qemu', uuid: dom.uuid, name: dom.name, path: f.path, truncate: !f.append})
        if (!use.files.includes(f.path)) use.files.push(f.path)
      }
      const qemuFifo = await c.openGuestLog(sock, {driver: 'qemu', uuid: dom.uuid, name: dom.name, path: qemuLog})
      use.files = use.files.filter((p) => p !== qemuLog)
      use.files.push(qemuLog)
      return {use, chardevFifos, qemuFifo}
    } catch (err) {
      await this.closeLogs(use)
      throw err
    }
  }

  /** Appends our own text to a log through virtlogd; returns where what follows starts. */
  async appendThroughLogd(sock: string, dom: GuestIdent, path: string, text: string): Promise<LogPos> {
    const c = this.logClient()
    await c.appendGuestLog(sock, {driver: 'qemu', uuid: dom.uuid, name: dom.name, path}, text)
    return c.guestLogPosition(sock, path)
  }

  /** Opens a FIFO virtlogd follows for writing (QEMU's stdout/stderr). */
  openFifo(fifo: string): number {
    try {
      return this.logClient().openFifoForWriting(fifo)
    } catch (err) {
      throw errors.systemError(ErrorDomain.QEMU, (err as Error).message)
    }
  }

  /** What QEMU wrote to its log from `pos` on (for start errors), the last `max` characters. */
  async readLogdSince(sock: string, path: string, pos: LogPos, max = 4096): Promise<string> {
    try {
      let text = (await this.logClient().readGuestLog(sock, path, pos, 65536, CLEANUP)).trim()
      if (text.length > max) text = '...' + text.slice(text.length - max)
      return text
    } catch {
      return ''
    }
  }

  /** Stops virtlogd following a run's logs (it copies what is left and removes the FIFOs). */
  async closeLogs(use: LogdUse): Promise<void> {
    if (use.files.length === 0) return
    if (!existsSync(use.socket) || !this.logd) {
      this.log.warn(`qemu: virtlogd (${use.socket}) is gone; cannot close ${use.files.join(', ')}`)
      return
    }
    for (const path of use.files) {
      try {
        await this.logd.client.closeGuestLog(use.socket, path, CLEANUP)
      } catch (err) {
        this.log.warn(`qemu: cannot close log ${path} in virtlogd: ${(err as Error).message}`)
      }
    }
  }

  /** Appends one line to a log through virtlogd; false when virtlogd cannot be reached. */
  private async appendLine(sock: string, dom: GuestIdent, path: string, line: string): Promise<boolean> {
    if (!existsSync(sock) || !this.logd) return false
    try {
      await this.logd.client.appendGuestLog(sock, {driver: 'qemu', uuid: dom.uuid, name: dom.name, path}, line, CLEANUP)
      return true
    } catch {
      return false
    }
  }

  // ---- virtlockd -----------------------------------------------------------------------------

  /** Whether to take locks in virtlockd for this start: its socket, or undefined; throws when it is dead. */
  async useVirtlockd(): Promise<string | undefined> {
    if (!this.lockd) return undefined
    const sock = this.lockd.socket
    const st = await probeSocket(sock)
    if (st === 'dead') {
      throw errors.systemError(
        ErrorDomain.LOCKING,
        `Failed to connect socket to '${sock}': Connection refused (virtlockd is not running: start it, or remove its stale socket)`,
      )
    }
    return st === 'up' ? sock : undefined
  }

  /** Takes (or re-takes, with a new pid) every disk lock of a guest; all or nothing. */
  async acquireLocks(sock: string, dom: GuestIdent, pid: number, locks: DiskLock[]): Promise<void> {
    if (locks.length === 0) return
    if (!this.lockd) throw errors.internal(ErrorDomain.QEMU, 'the QEMU driver was given no virtlockd client')
    await this.lockd.client.acquireDiskLocks(sock, {name: dom.name, uuid: dom.uuid, pid}, locks)
  }

  /** Releases every lock the guest holds. */
  async releaseLocks(use: LockdUse, dom: GuestIdent, pid: number): Promise<void> {
    if (!existsSync(use.socket) || !this.lockd) {
      this.log.warn(`qemu: virtlockd (${use.socket}) is gone; cannot release the disk locks of '${dom.name}'`)
      return
    }
    try {
      await this.lockd.client.releaseOwner(use.socket, {name: dom.name, uuid: dom.uuid, pid}, CLEANUP)
    } catch (err) {
      this.log.warn(`qemu: cannot release the disk locks of '${dom.name}' in virtlockd: ${(err as Error).message}`)
    }
  }

  /** Releases one disk's lock (a disk unplugged from the running guest); a failure is only logged. */
  async releaseDiskLock(use: LockdUse, dom: GuestIdent, pid: number, path: string): Promise<void> {
    if (!existsSync(use.socket) || !this.lockd) return
    try {
      await this.lockd.client.releaseDiskLock(use.socket, {name: dom.name, uuid: dom.uuid, pid}, path, CLEANUP)
    } catch (err) {
      this.log.warn(`qemu: cannot release the lock of '${path}' held by '${dom.name}' in virtlockd: ${(err as Error).message}`)
    }
  }

  /** Closes a run's logs, appends the "shutting down" line and releases its locks. */
  async finishRun(
    dom: GuestIdent,
    run: {pid: number; logPath: string; logd?: LogdUse; lockd?: LockdUse},
    line: string,
    appendDirect: (path: string) => Promise<void>,
  ): Promise<void> {
    if (run.logd) {
      await this.closeLogs(run.logd)
      if (!(await this.appendLine(run.logd.socket, dom, run.logPath, line))) await appendDirect(run.logPath)
    } else await appendDirect(run.logPath)
    if (run.lockd) await this.releaseLocks(run.lockd, dom, run.pid)
  }
}
