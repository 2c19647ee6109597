/**
 * QEMU processes that outlive the daemon: spawned detached in their own session, output appended
 * to a log file opened by us or written into virtlogd's FIFO for that log (never a pipe to the
 * daemon, so nothing breaks when the daemon goes away), never killed when the daemon dies. Plus
 * /proc helpers to recognise a process again after a restart (pid + start time +
 * `-name guest=NAME`) and to read its CPU time.
 */
import {execFileSync, spawn, type ChildProcess} from 'node:child_process'
import * as fs from 'node:fs'
import * as fsp from 'node:fs/promises'
import {dirname} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {ErrorCode, ErrorDomain, VirError, errors} from '../../errors.js'
import {QmpClient} from './qmp.js'
import {formatArgvForLog, qemuOptEscape} from './argv.js'

export interface ProcStat {
  /** R, S, D, Z, X, T, ... */
  state: string
  ppid: number
  /** Clock ticks of user and system time (all threads). */
  utime: number
  stime: number
  /** Start time after boot, in clock ticks: with the pid, identifies a process across pid reuse. */
  starttime: string
}

/** Parses /proc/PID/stat; undefined when the process does not exist. */
export function readProcStat(pid: number): ProcStat | undefined {
  let text: string
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch {
    return undefined
  }
  // comm (field 2) may contain spaces and parentheses: split after the last ')'.
  const close = text.lastIndexOf(')')
  if (close < 0) return undefined
  const f = text.slice(close + 2).split(' ')
  // f[0] is field 3 (state); field N is f[N - 3].
  return {state: f[0], ppid: Number(f[1]), utime: Number(f[11]), stime: Number(f[12]), starttime: f[19]}
}

/** Whether `pid` runs (zombies count as gone: they have exited, only their parent has not reaped them). */
export function pidRunning(pid: number, starttime?: string): boolean {
  if (!(pid > 0)) return false
  try {
    process.kill(pid, 0)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false
  }
  const st = readProcStat(pid)
  if (!st) return false
  if (st.state === 'Z' || st.state === 'X') return false
  if (starttime && st.starttime !== starttime) return false
  return true
}

/** The process's argv from /proc/PID/cmdline. */
export function readCmdline(pid: number): string[] {
  try {
    const raw = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8')
    return raw.split('\0').filter((s, i, arr) => i < arr.length - 1 || s.length > 0)
  } catch {
    return []
  }
}

/** Whether a QEMU command line belongs to guest `name` (its `-name guest=NAME,...`). */
export function cmdlineIsGuest(argv: string[], name: string): boolean {
  const want = `guest=${qemuOptEscape(name)}`
  for (let i = 0; i < argv.length - 1; i++) {
    if (argv[i] !== '-name') continue
    const v = argv[i + 1]
    if (v === want || v.startsWith(want + ',')) {
      // Make sure the match did not end inside an escaped comma (",,").
      const rest = v.slice(want.length)
      if (!rest.startsWith(',,')) return true
    }
  }
  return false
}

/** The kernel's clock tick rate in the ELF auxiliary vector (what sysconf(_SC_CLK_TCK) returns). */
const AT_CLKTCK = 17n

/** AT_CLKTCK from /proc/self/auxv (pairs of 64-bit type and value), without running a process. */
function auxvClockTicks(): number | undefined {
  try {
    const auxv = fs.readFileSync('/proc/self/auxv')
    for (let off = 0; off + 16 <= auxv.length; off += 16) {
      if (auxv.readBigUInt64LE(off) === AT_CLKTCK) return Number(auxv.readBigUInt64LE(off + 8)) || undefined
    }
  } catch {
    // no /proc: ask getconf
  }
  return undefined
}

let clkTck: number | undefined
/** Clock ticks per second (sysconf(_SC_CLK_TCK)). */
export function clockTicks(): number {
  if (clkTck === undefined) {
    try {
      clkTck = auxvClockTicks() ?? (Number(execFileSync('getconf', ['CLK_TCK'], {encoding: 'utf8'}).trim()) || 100)
    } catch {
      clkTck = 100
    }
  }
  return clkTck
}

/** CPU time (user + system, all threads) of a process in ns, 0 when unknown. */
export function cpuTimeNs(pid: number): bigint {
  const st = readProcStat(pid)
  if (!st) return 0n
  return (BigInt(st.utime + st.stime) * 1_000_000_000n) / BigInt(clockTicks())
}

function timestamp(d = new Date()): string {
  return d.toISOString().replace('T', ' ').replace('Z', '+0000')
}

/** A libvirt-style log line: "2024-01-01 12:00:00.000+0000: TEXT\n". */
export function logLine(text: string): string {
  return `${timestamp()}: ${text}\n`
}

/** What the domain log gets before QEMU starts: a start line and the command line. */
export function qemuLogHeader(argv: string[], headerExtra = ''): string {
  return `${timestamp()}: starting up vctl qemu driver${headerExtra}\n${formatArgvForLog(argv, QEMU_ENV)}\n`
}

/** Appends a libvirt-style line ("2024-01-01 12:00:00.000+0000: TEXT") to a domain log. */
export async function appendLogLine(path: string, text: string): Promise<void> {
  try {
    await fsp.appendFile(path, logLine(text))
  } catch {
    // the log is best effort
  }
}

export interface SpawnedQemu {
  child: ChildProcess
  pid: number
  /** Size of the log before QEMU wrote to it: where this run's output starts. */
  logOffset: number
}

/**
 * Descriptors above 2 that this process would leak into children (no O_CLOEXEC): e.g. a pipe the
 * daemon inherited from whoever started it. Node's fds all have O_CLOEXEC.
 */
export function inheritableFds(): number[] {
  const out: number[] = []
  let names: string[]
  try {
    names = fs.readdirSync('/proc/self/fdinfo')
  } catch {
    return out
  }
  for (const n of names) {
    const fd = Number(n)
    if (!(fd > 2)) continue
    try {
      const m = /^flags:\s*([0-7]+)/m.exec(fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))
      if (m && (parseInt(m[1], 8) & 0o2000000) === 0) out.push(fd)
    } catch {
      // closed meanwhile
    }
  }
  return out.sort((a, b) => a - b)
}

export const QEMU_ENV: Record<string, string> = {LC_ALL: 'C', PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'}

/**
 * Starts QEMU detached (its own session; not killed with the daemon), stdin from /dev/null,
 * stdout and stderr appended to `logPath`; the log gets a header with the command line first.
 * With `outFd` (a virtlogd FIFO opened for writing, see services/log/client.ts) QEMU writes there
 * instead, and the caller has written the header through virtlogd; `outFd` stays the caller's.
 */
export function spawnQemu(argv: string[], logPath: string, headerExtra = '', outFd?: number): SpawnedQemu {
  let fd: number
  let logOffset = 0
  if (outFd !== undefined) fd = outFd
  else {
    fs.mkdirSync(dirname(logPath), {recursive: true})
    fd = fs.openSync(logPath, 'a', 0o600)
  }
  try {
    if (outFd === undefined) {
      fs.writeSync(fd, qemuLogHeader(argv, headerExtra))
      logOffset = fs.fstatSync(fd).size
    }
    // QEMU must not keep descriptors the daemon inherited (a launcher's pipe would never see
    // EOF while the guest runs): /dev/null is dup'ed over each of them in the child.
    const leaks = inheritableFds().filter((n) => n !== fd)
    const stdio: ('ignore' | number)[] = ['ignore', fd, fd]
    let devnull: number | undefined
    if (leaks.length > 0 && leaks[leaks.length - 1] < 4096) {
      devnull = fs.openSync('/dev/null', 'r')
      for (const n of leaks) {
        while (stdio.length <= n) stdio.push('ignore')
        stdio[n] = devnull
      }
    }
    let child: ChildProcess
    try {
      child = spawn(argv[0], argv.slice(1), {detached: true, stdio, cwd: '/', env: QEMU_ENV})
    } finally {
      if (devnull !== undefined) fs.closeSync(devnull)
    }
    child.unref()
    if (child.pid === undefined) {
      // spawn failed synchronously (ENOENT, EACCES): 'error' follows; report it now.
      child.on('error', () => {})
      throw new VirError(ErrorCode.SYSTEM_ERROR, ErrorDomain.QEMU, `Cannot find QEMU binary ${argv[0]}: No such file or directory`)
    }
    return {child, pid: child.pid, logOffset}
  } finally {
    if (outFd === undefined) fs.closeSync(fd)
  }
}

/** What this run of QEMU wrote to its log (after `offset`), trimmed to the last `max` characters. */
export function readLogSince(path: string, offset: number, max = 4096): string {
  try {
    const buf = fs.readFileSync(path)
    let text = buf.subarray(Math.min(offset, buf.length)).toString('utf8').trim()
    if (text.length > max) text = '...' + text.slice(text.length - max)
    return text
  } catch {
    return ''
  }
}

/**
 * Connects to the monitor of a QEMU that is starting: retries while the socket is not there yet
 * (QEMU creates it early during start-up) as long as `alive()` holds, up to `timeoutMs`.
 */
export async function connectMonitor(path: string, alive: () => boolean, timeoutMs = 30000): Promise<QmpClient> {
  const deadline = Date.now() + timeoutMs
  let delay = 2
  for (;;) {
    try {
      return await QmpClient.connect(path, {timeoutMs: Math.max(1000, deadline - Date.now())})
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      const retryable = code === 'ENOENT' || code === 'ECONNREFUSED' || code === 'EAGAIN'
      if (!alive()) throw new MonitorGoneError()
      if (!retryable || Date.now() >= deadline) {
        if (retryable)
          throw new VirError(
            ErrorCode.OPERATION_TIMEOUT,
            ErrorDomain.QEMU,
            `Timed out during operation: QEMU monitor '${path}' did not appear within ${timeoutMs} ms`,
          )
        throw err
      }
      await sleep(delay)
      delay = Math.min(delay * 2, 20)
    }
  }
}

/** The process exited before its monitor answered. */
export class MonitorGoneError extends Error {
  constructor() {
    super('process exited while connecting to monitor')
  }
}

/** Polls until `pid` is gone (or a zombie), up to `timeoutMs`; resolves whether it is gone. */
export async function waitPidGone(pid: number, starttime: string | undefined, timeoutMs: number, intervalMs = 10): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (pidRunning(pid, starttime)) {
    if (Date.now() >= deadline) return false
    await sleep(intervalMs)
  }
  return true
}

/** Sends a signal, ignoring ESRCH (already gone). */
export function signalPid(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH')
      throw errors.systemError(ErrorDomain.QEMU, `Failed to kill process ${pid}: ${(err as Error).message}`)
  }
}
