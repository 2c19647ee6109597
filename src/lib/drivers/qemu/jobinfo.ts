/**
 * Domain jobs as virDomainGetJobInfo / virDomainGetJobStats report them: the long operation a
 * guest is in (dump now; save and migration use the same object) and the last one that ended.
 * Whoever runs the operation begins a job, updates it from QEMU's progress (`query-migrate`,
 * `query-dump`) and ends it; readers only look. Kept per domain object, across runs, as libvirt
 * keeps the completed job after the guest stopped.
 */
import {ErrorCode, ErrorDomain, VirError, errors} from '../../errors.js'
import {JobStatsFlags, JobType, type ControlInfo, type JobInfo, type StatParam} from '../stats-types.js'
import {D, type QemuDomain} from './context.js'

/** virDomainJobOperation. */
export const JobOperation = {
  UNKNOWN: 0,
  START: 1,
  SAVE: 2,
  RESTORE: 3,
  MIGRATION_IN: 4,
  MIGRATION_OUT: 5,
  SNAPSHOT: 6,
  SNAPSHOT_REVERT: 7,
  DUMP: 8,
  BACKUP: 9,
  SNAPSHOT_DELETE: 10,
} as const

/** What QEMU reports of a migration stream (query-migrate), in libvirt's job-stats terms. */
export interface MigrationFigures {
  total: bigint
  processed: bigint
  remaining: bigint
  constant?: bigint
  normal?: bigint
  normalBytes?: bigint
  bps?: bigint
  dirtyRate?: bigint
  pageSize?: bigint
  iteration?: bigint
  postcopyRequests?: bigint
  downtimeMs?: bigint
  setupMs?: bigint
}

export class DomainJob {
  readonly startedMs = Date.now()
  endedMs?: number
  /** BOUNDED while running; COMPLETED, FAILED or CANCELLED once over. */
  type: number = JobType.UNBOUNDED
  mem?: MigrationFigures
  /** Bytes written to a file (dumps). */
  file?: {total: bigint; processed: bigint}

  constructor(readonly operation: number) {}

  elapsedMs(): bigint {
    return BigInt((this.endedMs ?? Date.now()) - this.startedMs)
  }

  info(): JobInfo {
    const m = this.mem
    const f = this.file
    return {
      type: this.type,
      timeElapsed: this.elapsedMs(),
      timeRemaining: 0n,
      dataTotal: (m?.total ?? 0n) + (f?.total ?? 0n),
      dataProcessed: (m?.processed ?? 0n) + (f?.processed ?? 0n),
      dataRemaining: (m?.remaining ?? 0n) + (f ? f.total - f.processed : 0n),
      memTotal: m?.total ?? 0n,
      memProcessed: m?.processed ?? 0n,
      memRemaining: m?.remaining ?? 0n,
      fileTotal: f?.total ?? 0n,
      fileProcessed: f?.processed ?? 0n,
      fileRemaining: f ? f.total - f.processed : 0n,
    }
  }

  /** The typed parameters of virDomainGetJobStats, in libvirt's order. */
  params(): StatParam[] {
    const out: StatParam[] = [{field: 'operation', type: 'int', value: this.operation}]
    const u = (field: string, value: bigint | undefined) => {
      if (value !== undefined) out.push({field, type: 'ullong', value})
    }
    u('time_elapsed', this.elapsedMs())
    const i = this.info()
    const m = this.mem
    if (m) {
      u('downtime', m.downtimeMs)
      u('setup_time', m.setupMs)
    }
    if (m || this.file) {
      u('data_total', i.dataTotal)
      u('data_processed', i.dataProcessed)
      u('data_remaining', i.dataRemaining)
    }
    if (m) {
      u('memory_total', m.total)
      u('memory_processed', m.processed)
      u('memory_remaining', m.remaining)
      // As libvirt: the bandwidth only once QEMU measured one, the page size only when known.
      if (m.bps) u('memory_bps', m.bps)
      u('memory_constant', m.constant)
      u('memory_normal', m.normal)
      u('memory_normal_bytes', m.normalBytes)
      u('memory_dirty_rate', m.dirtyRate ?? 0n)
      u('memory_iteration', m.iteration ?? 0n)
      u('memory_postcopy_requests', m.postcopyRequests ?? 0n)
      if (m.pageSize) u('memory_page_size', m.pageSize)
    }
    return out
  }
}

interface Jobs {
  current?: DomainJob
  completed?: DomainJob
}

const jobs = new WeakMap<QemuDomain, Jobs>()

function jobsOf(d: QemuDomain): Jobs {
  let j = jobs.get(d)
  if (!j) {
    j = {}
    jobs.set(d, j)
  }
  return j
}

/** Starts a job on a domain; refuses when another one runs (libvirt's "cannot acquire state change lock" case). */
export function beginJob(d: QemuDomain, operation: number): DomainJob {
  const j = jobsOf(d)
  if (j.current) {
    throw new VirError(ErrorCode.OPERATION_INVALID, D, 'Requested operation is not valid: another job is already running on this domain', {
      str1: 'Requested operation is not valid: %s',
      str2: 'another job is already running on this domain',
    })
  }
  j.current = new DomainJob(operation)
  return j.current
}

/** Ends the domain's job: it becomes the completed one (whatever its outcome). */
export function endJob(d: QemuDomain, job: DomainJob, type: number): void {
  const j = jobsOf(d)
  job.type = type
  job.endedMs = Date.now()
  if (j.current === job) j.current = undefined
  j.completed = job
}

/** Drops a job that failed before it did anything: the last completed job stays what it was (libvirt's too). */
export function abandonJob(d: QemuDomain, job: DomainJob): void {
  const j = jobsOf(d)
  if (j.current === job) j.current = undefined
}

export function currentJob(d: QemuDomain): DomainJob | undefined {
  return jobs.get(d)?.current
}

const NONE: JobInfo = {
  type: JobType.NONE,
  timeElapsed: 0n,
  timeRemaining: 0n,
  dataTotal: 0n,
  dataProcessed: 0n,
  dataRemaining: 0n,
  memTotal: 0n,
  memProcessed: 0n,
  memRemaining: 0n,
  fileTotal: 0n,
  fileProcessed: 0n,
  fileRemaining: 0n,
}

function checkFlags(flags: number, allowed: number, fn: string): void {
  const extra = flags & ~allowed
  if (extra) throw new VirError(ErrorCode.INVALID_ARG, D, `unsupported flags (0x${extra.toString(16)}) in function ${fn}`, {str1: fn})
}

const notRunning = () => errors.operationInvalid(ErrorDomain.DOMAIN, 'domain is not running')

/** virDomainGetJobInfo. */
export function jobInfo(d: QemuDomain): JobInfo {
  if (!d.run) throw notRunning()
  return jobsOf(d).current?.info() ?? NONE
}

/** virDomainGetJobStats (COMPLETED: the last finished job, also of a stopped guest; KEEP_COMPLETED keeps it). */
export function jobStats(d: QemuDomain, flags: number): {type: number; params: StatParam[]} {
  checkFlags(flags, JobStatsFlags.COMPLETED | JobStatsFlags.KEEP_COMPLETED, 'qemuDomainGetJobStats')
  const j = jobsOf(d)
  if (flags & JobStatsFlags.COMPLETED) {
    const done = j.completed
    if (!(flags & JobStatsFlags.KEEP_COMPLETED)) j.completed = undefined
    return done ? {type: done.type, params: done.params()} : {type: JobType.NONE, params: []}
  }
  if (!d.run) throw notRunning()
  const cur = j.current
  return cur ? {type: cur.type, params: cur.params()} : {type: JobType.NONE, params: []}
}

/** virDomainGetControlInfo: the monitor is free, busy with a job (since when), or gone. */
export function controlInfo(d: QemuDomain, flags: number): ControlInfo {
  checkFlags(flags, 0, 'qemuDomainGetControlInfo')
  const run = d.run
  if (!run) throw notRunning()
  if (!run.qmp || run.qmp.closed) return {state: 3, details: 2, stateTime: 0n}
  const cur = jobsOf(d).current
  return cur ? {state: 1, details: 0, stateTime: cur.elapsedMs()} : {state: 0, details: 0, stateTime: 0n}
}

/** Figures of a `query-migrate` answer (dumps, saves and migrations all follow it). */
export interface QueryMigrate {
  status?: string
  'total-time'?: number
  'expected-downtime'?: number
  downtime?: number
  'setup-time'?: number
  'error-desc'?: string
  ram?: {
    transferred?: number
    remaining?: number
    total?: number
    duplicate?: number
    normal?: number
    'normal-bytes'?: number
    'dirty-pages-rate'?: number
    mbps?: number
    'page-size'?: number
    'dirty-sync-count'?: number
    'postcopy-requests'?: number
  }
  'cpu-throttle-percentage'?: number
}

const big = (v: number | undefined) => (v === undefined ? undefined : BigInt(Math.round(v)))

export function migrationFigures(q: QueryMigrate): MigrationFigures {
  const r = q.ram ?? {}
  return {
    total: big(r.total) ?? 0n,
    processed: big(r.transferred) ?? 0n,
    remaining: big(r.remaining) ?? 0n,
    constant: big(r.duplicate),
    normal: big(r.normal),
    normalBytes: big(r['normal-bytes']),
    bps: r.mbps === undefined ? undefined : big((r.mbps * 1_000_000) / 8),
    dirtyRate: big(r['dirty-pages-rate']),
    pageSize: big(r['page-size']),
    iteration: big(r['dirty-sync-count']),
    postcopyRequests: big(r['postcopy-requests']),
    downtimeMs: big(q.downtime),
    setupMs: big(q['setup-time']),
  }
}
