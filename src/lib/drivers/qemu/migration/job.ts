/**
 * The migration job of one domain, as virDomainGetJobStats / virDomainGetJobInfo report it:
 * updated from QEMU's query-migrate while it runs, kept as "completed" (or failed) afterwards.
 * This is the object a unified job layer (statistics work) can absorb: `stats()` is all it needs.
 */
import {JobOperation, JobType, ParamType, type JobStats, type MigrationParam} from '../../migration-types.js'
import type {QueryMigrate} from '../jobinfo.js'

export type {QueryMigrate} from '../jobinfo.js'

const ull = (field: string, v: number | bigint): MigrationParam => ({
  field,
  type: ParamType.ULLONG,
  value: BigInt(Math.max(0, Math.floor(Number(v)))),
})

export class MigrationJob {
  readonly startedMs = Date.now()
  stoppedMs?: number
  type: number = JobType.UNBOUNDED
  info: QueryMigrate = {}
  /** Statistics received from the source in the cookie (destination side). */
  fromSource?: Map<string, bigint>
  errmsg?: string
  /** Asked to stop (domjobabort). */
  aborted = false
  /** When the guest stopped running on the source (its STOP), ms since the epoch. */
  pausedAtMs?: number
  /** The guest's real downtime: from the source's pause to the destination's resume, as libvirt measures it. */
  downtimeMs?: number
  /** Storage migration: bytes of the disks' mirrors, to copy and copied. */
  disk?: {total: number; processed: number}

  constructor(readonly operation: number) {}

  update(info: QueryMigrate): void {
    this.info = info
  }

  end(type: number, errmsg?: string): void {
    this.type = type
    this.stoppedMs = Date.now()
    this.errmsg = errmsg
  }

  elapsedMs(): number {
    return (this.stoppedMs ?? Date.now()) - this.startedMs
  }

  /** The `<statistics>` of the cookie the source sends with the finish step. */
  cookieStats(): Map<string, bigint> {
    const m = new Map<string, bigint>()
    for (const p of this.stats().params) if (typeof p.value === 'bigint' && p.field !== 'operation') m.set(p.field, p.value)
    m.set('started', BigInt(this.startedMs))
    m.set('stopped', BigInt(this.pausedAtMs ?? this.stoppedMs ?? Date.now()))
    return m
  }

  stats(): JobStats {
    const params: MigrationParam[] = [{field: 'operation', type: ParamType.INT, value: this.operation}]
    if (this.operation === JobOperation.MIGRATION_IN && this.fromSource) {
      for (const [k, v] of this.fromSource) {
        if (k === 'downtime' && this.downtimeMs !== undefined) params.push(ull(k, this.downtimeMs))
        else if (k !== 'started' && k !== 'stopped' && k !== 'sent' && k !== 'delta') params.push(ull(k, v))
      }
      if (!this.fromSource.has('time_elapsed')) params.push(ull('time_elapsed', this.elapsedMs()))
    } else {
      const i = this.info
      const ram = i.ram ?? {}
      params.push(ull('time_elapsed', this.elapsedMs()))
      if (this.downtimeMs !== undefined) params.push(ull('downtime', this.downtimeMs))
      else if (i.downtime !== undefined) params.push(ull('downtime', i.downtime))
      else if (this.type === JobType.UNBOUNDED && i['expected-downtime'] !== undefined) params.push(ull('downtime', i['expected-downtime']))
      if (i['setup-time'] !== undefined) params.push(ull('setup_time', i['setup-time']))
      const total = ram.total ?? 0
      const done = ram.transferred ?? 0
      const left = this.type === JobType.COMPLETED ? 0 : (ram.remaining ?? 0)
      // As libvirt: data_* is memory plus the disks a storage migration copies.
      const disk = this.disk
      const dLeft = disk ? Math.max(0, disk.total - disk.processed) : 0
      params.push(
        ull('data_total', total + (disk?.total ?? 0)),
        ull('data_processed', done + (disk?.processed ?? 0)),
        ull('data_remaining', left + dLeft),
      )
      params.push(ull('memory_total', total), ull('memory_processed', done), ull('memory_remaining', left))
      if (disk) params.push(ull('disk_total', disk.total), ull('disk_processed', disk.processed), ull('disk_remaining', dLeft))
      params.push(
        ull('memory_constant', ram.duplicate ?? 0),
        ull('memory_normal', ram.normal ?? 0),
        ull('memory_normal_bytes', ram['normal-bytes'] ?? 0),
      )
      if (ram.mbps) params.push(ull('memory_bps', (ram.mbps * 1e6) / 8))
      params.push(ull('memory_dirty_rate', ram['dirty-pages-rate'] ?? 0))
      params.push(ull('memory_page_size', ram['page-size'] ?? 4096), ull('memory_iteration', ram['dirty-sync-count'] ?? 0))
      if (i['cpu-throttle-percentage'] !== undefined)
        params.push({field: 'auto_converge_throttle', type: ParamType.INT, value: i['cpu-throttle-percentage']})
    }
    if (this.type !== JobType.UNBOUNDED) params.push({field: 'success', type: ParamType.BOOLEAN, value: this.type === JobType.COMPLETED})
    if (this.errmsg) params.push({field: 'errmsg', type: ParamType.STRING, value: this.errmsg})
    return {type: this.type, params}
  }
}
