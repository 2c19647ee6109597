/**
 * How the QEMU driver uses virtlogd and virtlockd: each is used when its socket exists (for the
 * driver's own root and mode: daemonPaths({daemon: 'virtlogd' | 'virtlockd', mode, root}).sockRw)
 * and the daemon answers; without them the driver works as before (direct log files, no locks).
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
 * The RPC clients (../log/client.ts, ../lock/client.ts) are loaded only when a daemon is in use.
 * A virtlogd socket that exists but does not answer (a crashed virtlogd) is ignored with a
 * warning; a dead virtlockd socket fails the start, since running without the locks the host
 * asked for could corrupt a disk shared by mistake.
 */
import {existsSync} from 'node:fs'
import net from 'node:net'
import type {DomainDef} from '../../conf/domain.js'
import {child} from '../../conf/xml.js'
import {daemonPaths, type DaemonPaths} from '../../daemon/paths.js'
import {ErrorDomain, errors} from '../../errors.js'
import type {FileChardev} from './argv.js'

/** The logs of a run that go through virtlogd (recorded in the status file). */
/**
 * The clients of virtlogd and virtlockd. A driver does not import other drivers: the daemon that
 * hosts the QEMU driver hands them over with registerHelperClients() before creating it.
 */
export interface HelperClients {
  log: typeof import('../log/client.js')
  lock: typeof import('../lock/client.js')
}

let registered: HelperClients | undefined

export function registerHelperClients(c: HelperClients): void {
  registered = c
}

function helperClients(): HelperClients {
  if (!registered) throw errors.internal(ErrorDomain.QEMU, 'virtlogd/virtlockd clients were not registered with the QEMU driver')
  return registered
}

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

/** virtlogd's and virtlockd's read-write sockets for the driver's root and mode. */
export function helperSockets(paths: Pick<DaemonPaths, 'mode' | 'root'>): {virtlogd: string; virtlockd: string} {
  return {
    virtlogd: daemonPaths({daemon: 'virtlogd', mode: paths.mode, root: paths.root}).sockRw,
    virtlockd: daemonPaths({daemon: 'virtlockd', mode: paths.mode, root: paths.root}).sockRw,
  }
}

/** The lock each disk with a source needs: shared for readonly, shareable and cdrom disks. */
export function diskLocks(def: DomainDef): {path: string; shared: boolean}[] {
  const out: {path: string; shared: boolean}[] = []
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

/** Retry settings for clean-up calls: a daemon that is gone is not waited for long. */
const CLEANUP = {connectTimeoutMs: 1000, timeoutMs: 10000}

// ---- virtlogd --------------------------------------------------------------------------------

/** Whether to route this start's logs through virtlogd: its socket, or undefined. */
export async function useVirtlogd(sock: string, log: Warn): Promise<string | undefined> {
  const st = await probeSocket(sock)
  if (st === 'dead') log.warn(`qemu: virtlogd socket ${sock} does not answer; writing logs directly`)
  return st === 'up' ? sock : undefined
}

export interface OpenedLogs {
  use: LogdUse
  /** Chardev id -> FIFO (for ArgvOptions.chardevFifos). */
  chardevFifos: Record<string, string>
  /** The FIFO for QEMU's stdout/stderr. */
  qemuFifo: string
}

/**
 * Asks virtlogd for a FIFO for each file chardev (truncating the file unless append='on') and
 * for the QEMU log (appended to). On failure, whatever was opened is closed again.
 */
export async function openLogs(sock: string, dom: GuestIdent, files: FileChardev[], qemuLog: string): Promise<OpenedLogs> {
  const {openGuestLog} = helperClients().log
  const use: LogdUse = {socket: sock, files: []}
  const chardevFifos: Record<string, string> = {}
  try {
    for (const f of files) {
      chardevFifos[f.id] = await openGuestLog(sock, {driver: 'qemu', uuid: dom.uuid, name: dom.name, path: f.path, truncate: !f.append})
      if (!use.files.includes(f.path)) use.files.push(f.path)
    }
    const qemuFifo = await openGuestLog(sock, {driver: 'qemu', uuid: dom.uuid, name: dom.name, path: qemuLog})
    use.files = use.files.filter((p) => p !== qemuLog)
    use.files.push(qemuLog)
    return {use, chardevFifos, qemuFifo}
  } catch (err) {
    await closeLogs(use, {warn: () => {}})
    throw err
  }
}

/** Appends our own text to a log through virtlogd; returns where what follows starts. */
export async function appendThroughLogd(sock: string, dom: GuestIdent, path: string, text: string): Promise<{inode: bigint; offset: bigint}> {
  const {appendGuestLog, guestLogPosition} = helperClients().log
  await appendGuestLog(sock, {driver: 'qemu', uuid: dom.uuid, name: dom.name, path}, text)
  return guestLogPosition(sock, path)
}

/** Opens a FIFO virtlogd follows for writing (QEMU's stdout/stderr). */
export async function openFifo(fifo: string): Promise<number> {
  const {openFifoForWriting} = helperClients().log
  try {
    return openFifoForWriting(fifo)
  } catch (err) {
    throw errors.systemError(ErrorDomain.QEMU, (err as Error).message)
  }
}

/** What QEMU wrote to its log from `pos` on (for start errors), the last `max` characters. */
export async function readLogdSince(sock: string, path: string, pos: {inode: bigint; offset: bigint}, max = 4096): Promise<string> {
  try {
    const {readGuestLog} = helperClients().log
    let text = (await readGuestLog(sock, path, pos, 65536, CLEANUP)).trim()
    if (text.length > max) text = '...' + text.slice(text.length - max)
    return text
  } catch {
    return ''
  }
}

/** Stops virtlogd following a run's logs (it copies what is left and removes the FIFOs). */
export async function closeLogs(use: LogdUse, log: Warn): Promise<void> {
  if (use.files.length === 0) return
  if (!existsSync(use.socket)) {
    log.warn(`qemu: virtlogd (${use.socket}) is gone; cannot close ${use.files.join(', ')}`)
    return
  }
  const {closeGuestLog} = helperClients().log
  for (const path of use.files) {
    try {
      await closeGuestLog(use.socket, path, CLEANUP)
    } catch (err) {
      log.warn(`qemu: cannot close log ${path} in virtlogd: ${(err as Error).message}`)
    }
  }
}

/** Appends one line to a log through virtlogd; false when virtlogd cannot be reached. */
export async function appendLineThroughLogd(sock: string, dom: GuestIdent, path: string, line: string): Promise<boolean> {
  if (!existsSync(sock)) return false
  try {
    const {appendGuestLog} = helperClients().log
    await appendGuestLog(sock, {driver: 'qemu', uuid: dom.uuid, name: dom.name, path}, line, CLEANUP)
    return true
  } catch {
    return false
  }
}

// ---- virtlockd -------------------------------------------------------------------------------

/** Whether to take locks in virtlockd for this start: its socket, or undefined; throws when it is dead. */
export async function useVirtlockd(sock: string): Promise<string | undefined> {
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
export async function acquireLocks(sock: string, dom: GuestIdent, pid: number, locks: {path: string; shared: boolean}[]): Promise<void> {
  if (locks.length === 0) return
  const {acquireDiskLocks} = helperClients().lock
  await acquireDiskLocks(sock, {name: dom.name, uuid: dom.uuid, pid}, locks)
}

/** Releases every lock the guest holds. */
export async function releaseLocks(use: LockdUse, dom: GuestIdent, pid: number, log: Warn): Promise<void> {
  if (!existsSync(use.socket)) {
    log.warn(`qemu: virtlockd (${use.socket}) is gone; cannot release the disk locks of '${dom.name}'`)
    return
  }
  try {
    const {releaseOwner} = helperClients().lock
    await releaseOwner(use.socket, {name: dom.name, uuid: dom.uuid, pid}, CLEANUP)
  } catch (err) {
    log.warn(`qemu: cannot release the disk locks of '${dom.name}' in virtlockd: ${(err as Error).message}`)
  }
}

/** Closes a run's logs, appends the "shutting down" line and releases its locks. */
export async function finishRun(
  dom: GuestIdent,
  run: {pid: number; logPath: string; logd?: LogdUse; lockd?: LockdUse},
  line: string,
  appendDirect: (path: string) => Promise<void>,
  log: Warn,
): Promise<void> {
  if (run.logd) {
    await closeLogs(run.logd, log)
    if (!(await appendLineThroughLogd(run.logd.socket, dom, run.logPath, line))) await appendDirect(run.logPath)
  } else await appendDirect(run.logPath)
  if (run.lockd) await releaseLocks(run.lockd, dom, run.pid, log)
}
