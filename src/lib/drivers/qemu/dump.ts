/**
 * virDomainCoreDump(WithFormat) of QEMU guests. `--memory-only` is QEMU's `dump-guest-memory`
 * (an ELF core, or kdump-compressed / win-dmp), otherwise the whole guest state is written as a
 * migration stream, as libvirt does. The file is opened here (libvirt's errors when it cannot be)
 * and handed to QEMU over the monitor; the guest is paused for the dump unless LIVE is asked, and
 * crashed or reset afterwards with CRASH / RESET. The dump is a domain job (jobinfo.ts).
 */
import {closeSync, openSync} from 'node:fs'
import {ErrorCode, VirError, errors, virError} from '../../errors.js'
import {JobType} from '../stats-types.js'
import {D, type QemuContext, type QemuDomain, type Run} from './context.js'
import {JobOperation, abandonJob, beginJob, currentJob, endJob, migrationFigures, type DomainJob, type QueryMigrate} from './jobinfo.js'
import type {QmpClient} from './qmp.js'

/** virDomainCoreDumpFlags. */
export const DumpFlags = {CRASH: 1, LIVE: 2, BYPASS_CACHE: 4, RESET: 8, MEMORY_ONLY: 16} as const
/** virDomainCoreDumpFormat -> dump-guest-memory's format. */
const FORMATS = ['elf', 'kdump-zlib', 'kdump-lzo', 'kdump-snappy', 'win-dmp']
const FORMAT_NAMES = ['raw', 'kdump-zlib', 'kdump-lzo', 'kdump-snappy', 'win-dmp']
const FDNAME = 'vctldump'
const PAUSED_DUMP = 4
const POLL_MS = 50

function checkFlags(flags: number): void {
  const all = DumpFlags.CRASH | DumpFlags.LIVE | DumpFlags.BYPASS_CACHE | DumpFlags.RESET | DumpFlags.MEMORY_ONLY
  const extra = flags & ~all
  if (extra) {
    const fn = 'qemuDomainCoreDumpWithFormat'
    throw new VirError(ErrorCode.INVALID_ARG, D, `unsupported flags (0x${extra.toString(16)}) in function ${fn}`, {str1: fn})
  }
  if (flags & DumpFlags.CRASH && flags & DumpFlags.RESET) {
    throw errors.invalidArg(D, "Flags 'VIR_DUMP_CRASH' and 'VIR_DUMP_RESET' are mutually exclusive")
  }
}

function sysMessage(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code
  const known: Record<string, string> = {
    ENOENT: 'No such file or directory',
    EACCES: 'Permission denied',
    EISDIR: 'Is a directory',
    ENOTDIR: 'Not a directory',
    EROFS: 'Read-only file system',
    ENOSPC: 'No space left on device',
  }
  return (code && known[code]) ?? (err as Error).message
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function memoryOnly(qmp: QmpClient, format: number, job: DomainJob): Promise<void> {
  const caps = await qmp.execute<{formats?: string[]}>('query-dump-guest-memory-capability').catch(() => ({formats: ['elf']}))
  const fmt = FORMATS[format]
  if (!caps.formats?.includes(fmt)) {
    throw virError(
      ErrorCode.OPERATION_UNSUPPORTED,
      D,
      'Operation not supported',
      `unsupported dumpformat '${FORMAT_NAMES[format]}' for this QEMU binary`,
    )
  }
  await qmp.execute('dump-guest-memory', {paging: false, protocol: `fd:${FDNAME}`, detach: true, format: fmt})
  for (;;) {
    const q = await qmp.execute<{status: string; completed: number; total: number}>('query-dump')
    job.file = {total: BigInt(q.total), processed: BigInt(q.completed)}
    if (q.status === 'completed') return
    if (q.status === 'failed') throw errors.operationFailed(D, 'memory-only dump failed')
    await sleep(POLL_MS)
  }
}

async function migrationStream(qmp: QmpClient, job: DomainJob): Promise<void> {
  // Dumps go as fast as they can (QEMU's default migration bandwidth is 32 MiB/s).
  await qmp.execute('migrate-set-parameters', {'max-bandwidth': 8 * 1024 ** 3}).catch(() => undefined)
  await qmp.execute('migrate', {uri: `fd:${FDNAME}`})
  for (;;) {
    const q = await qmp.execute<QueryMigrate>('query-migrate')
    job.mem = migrationFigures(q)
    if (q.status === 'completed') return
    if (q.status === 'failed' || q.status === 'cancelled') throw errors.operationFailed(D, `migration out job: ${q['error-desc'] ?? q.status}`)
    await sleep(POLL_MS)
  }
}

async function finishGuest(run: Run, qmp: QmpClient, flags: number, wasRunning: boolean): Promise<void> {
  if (flags & DumpFlags.CRASH) {
    run.stopping = 'crash'
    try {
      process.kill(run.pid, 'SIGKILL')
    } catch {
      // already gone
    }
    await run.exited
    return
  }
  if (flags & DumpFlags.RESET) await qmp.execute('system_reset')
  if (wasRunning) await qmp.execute('cont')
}

export async function coreDump(ctx: QemuContext, d: QemuDomain, to: string, format: number, flags: number): Promise<void> {
  checkFlags(flags)
  if (format < 0 || format >= FORMATS.length) throw errors.invalidArg(D, `dumpformat '${format}' is not supported`)
  if (format !== 0 && !(flags & DumpFlags.MEMORY_ONLY)) {
    throw virError(ErrorCode.OPERATION_UNSUPPORTED, D, 'Operation not supported', 'kdump-compressed format is only supported with memory-only dump')
  }
  await ctx.withJob(d, async () => {
    const run = ctx.requireActive(d)
    const qmp = ctx.requireMonitor(run)
    const job = beginJob(d, JobOperation.DUMP)
    let fd: number | undefined
    try {
      try {
        fd = openSync(to, 'w', 0o600)
      } catch (err) {
        abandonJob(d, job)
        throw errors.systemError(D, `Failed to create file '${to}': ${sysMessage(err)}`)
      }
      const wasRunning = d.state === 1
      if (wasRunning && !(flags & DumpFlags.LIVE)) {
        run.pauseReason = PAUSED_DUMP
        await qmp.execute('stop')
      }
      await qmp.executeWithFds('getfd', {fdname: FDNAME}, [fd])
      closeSync(fd)
      fd = undefined
      if (flags & DumpFlags.MEMORY_ONLY) await memoryOnly(qmp, format, job)
      else await migrationStream(qmp, job)
      // libvirt keeps a completed job only for whole-state dumps (a memory-only one leaves the last as it was).
      if (flags & DumpFlags.MEMORY_ONLY) abandonJob(d, job)
      else endJob(d, job, JobType.COMPLETED)
      await finishGuest(run, qmp, flags, wasRunning)
    } catch (err) {
      if (job.endedMs === undefined && currentJob(d) === job) endJob(d, job, JobType.FAILED)
      if (fd !== undefined) closeSync(fd)
      if (d.state === 3 && run.qmp && !run.qmp.closed && !(flags & DumpFlags.LIVE)) await run.qmp.execute('cont').catch(() => undefined)
      throw err
    }
  })
}
