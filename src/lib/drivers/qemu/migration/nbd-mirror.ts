/**
 * The source of a storage migration: an NBD client node per copied disk (`migration-<target>-storage`,
 * connected to the destination's export) and a `blockdev-mirror` job into it (sync full, or top for
 * `--copy-storage-inc`), waited for until every job is ready before the memory is sent. Once QEMU
 * paused before the switch-over, `block-job-cancel` of the ready mirrors leaves the copies
 * consistent; when anything fails the jobs are cancelled by force. Either way the client nodes go.
 */
import {errors} from '../../../errors.js'
import {D} from '../context.js'
import type {QmpClient, QmpEvent} from '../qmp.js'
import {blockNodes, type CopyDisk} from './storage-disks.js'

interface BlockJob {
  device: string
  ready?: boolean
  status?: string
  offset?: number
  len?: number
}

interface Mirror {
  target: string
  job: string
  client: string
}

export class Mirrors {
  private readonly failed = new Map<string, string>()
  /** Bytes to copy and copied so far, over all mirrors (for the job's disk_* statistics). */
  progress = {total: 0, processed: 0}
  private readonly onEvent = (ev: QmpEvent): void => {
    if (ev.event !== 'BLOCK_JOB_COMPLETED' && ev.event !== 'BLOCK_JOB_ERROR') return
    const job = typeof ev.data.device === 'string' ? ev.data.device : ''
    const m = this.list.find((x) => x.job === job)
    if (!m) return
    if (typeof ev.data.error === 'string') this.failed.set(job, ev.data.error)
    else if (ev.event === 'BLOCK_JOB_ERROR') this.failed.set(job, `${String(ev.data.operation)} error`)
  }

  private constructor(
    private readonly qmp: QmpClient,
    private readonly list: Mirror[],
  ) {
    qmp.on('event', this.onEvent)
  }

  /** Starts the mirrors to `host:port` (speed in bytes/s, 0: unlimited). Rolls back what it started when one fails. */
  static async start(qmp: QmpClient, disks: CopyDisk[], host: string, port: number, shallow: boolean, speed: number): Promise<Mirrors> {
    const nodes = await blockNodes(qmp, disks)
    const m = new Mirrors(qmp, [])
    try {
      for (const d of disks) {
        const client = `migration-${d.disk.target}-storage`
        await qmp.execute('blockdev-add', {
          driver: 'nbd',
          'node-name': client,
          server: {type: 'inet', host, port: String(port)},
          export: d.exportName,
        })
        m.list.push({target: d.disk.target, job: d.exportName, client})
        const args: Record<string, unknown> = {
          'job-id': d.exportName,
          device: nodes.get(d.disk.target)?.node,
          target: client,
          sync: shallow ? 'top' : 'full',
        }
        if (speed > 0) args.speed = speed
        await qmp.execute('blockdev-mirror', args)
      }
    } catch (err) {
      await m.abort()
      throw err
    }
    return m
  }

  private async jobs(): Promise<BlockJob[]> {
    const jobs = await this.qmp.execute<BlockJob[]>('query-block-jobs')
    const ours = jobs.filter((j) => this.list.some((m) => m.job === j.device))
    if (ours.length) {
      this.progress = {total: ours.reduce((n, j) => n + (j.len ?? 0), 0), processed: ours.reduce((n, j) => n + (j.offset ?? 0), 0)}
    }
    return jobs
  }

  private failure(m: Mirror): Error {
    const why = this.failed.get(m.job)
    return errors.operationFailed(D, why ? `migration of disk ${m.target} failed: ${why}` : `migration of disk ${m.target} failed`)
  }

  /** Waits until every mirror is ready (its first pass done); `stop` is asked between polls (abort, lost destination). */
  async waitReady(stop: () => Error | undefined): Promise<void> {
    for (;;) {
      const jobs = await this.jobs()
      let ready = 0
      for (const m of this.list) {
        const j = jobs.find((x) => x.device === m.job)
        if (!j || this.failed.has(m.job)) throw this.failure(m)
        if (j.ready === true || j.status === 'ready') ready++
      }
      if (ready === this.list.length) return
      const s = stop()
      if (s) throw s
      await new Promise((r) => setTimeout(r, 100))
    }
  }

  /** Raises the failure of a mirror that broke while the memory was being sent. */
  async check(): Promise<void> {
    const jobs = await this.jobs()
    for (const m of this.list) if (this.failed.has(m.job) || !jobs.some((x) => x.device === m.job)) throw this.failure(m)
  }

  private async waitGone(ms: number): Promise<void> {
    const deadline = Date.now() + ms
    for (;;) {
      const jobs = await this.jobs()
      if (!this.list.some((m) => jobs.some((j) => j.device === m.job))) return
      if (Date.now() > deadline) throw errors.operationFailed(D, 'block jobs of the storage migration did not end')
      await new Promise((r) => setTimeout(r, 50))
    }
  }

  /** Guest paused before the switch-over: ends the ready mirrors without a pivot, so the copies are consistent. */
  async complete(): Promise<void> {
    try {
      await this.check()
      for (const m of this.list) await this.qmp.execute('block-job-cancel', {device: m.job})
      await this.waitGone(60000)
      for (const m of this.list) if (this.failed.has(m.job)) throw this.failure(m)
    } finally {
      await this.release()
    }
  }

  /** The migration failed: the mirrors are cancelled by force (the destination's copy does not matter). */
  async abort(): Promise<void> {
    for (const m of this.list) await this.qmp.execute('block-job-cancel', {device: m.job, force: true}).catch(() => undefined)
    await this.waitGone(30000).catch(() => undefined)
    await this.release()
  }

  private async release(): Promise<void> {
    this.qmp.off('event', this.onEvent)
    for (const m of this.list) await this.qmp.execute('blockdev-del', {'node-name': m.client}).catch(() => undefined)
    this.list.length = 0
  }
}
