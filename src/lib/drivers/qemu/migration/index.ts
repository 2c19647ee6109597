/**
 * Migration for the QEMU driver (MigrationDriver): the table over source.ts (begin, perform,
 * confirm), dest.ts (prepare, finish), the migration job (job.ts) and the tunables
 * (migrate-setspeed, migrate-setmaxdowntime).
 */
import {ErrorDomain, errors} from '../../../errors.js'
import {
  JobStatsFlags,
  JobType,
  type JobStats,
  type MigrationDriver,
  type MigrationParam,
  type MigrationPeer,
  type PrepareContext,
  type TunnelSink,
} from '../../migration-types.js'
import type {DomainRef} from '../../types.js'
import type {QemuContext} from '../context.js'
import * as dest from './dest.js'
import * as source from './source.js'
import {MigrationState} from './state.js'
import {bytesPerSecond} from './qemu-stream.js'
import {startPostCopy} from './postcopy.js'

/** virDrvFeature numbers a QEMU connection supports for migration. */
const FEATURES = new Set([
  4, // MIGRATION_P2P
  6, // MIGRATION_V3
  7, // MIGRATE_CHANGE_PROTECTION
  11, // XML_MIGRATABLE
  12, // MIGRATION_OFFLINE
  13, // MIGRATION_PARAMS
])

export class QemuMigration implements MigrationDriver {
  private readonly s: MigrationState

  constructor(
    private readonly ctx: QemuContext,
    hostUuid: () => string,
  ) {
    this.s = new MigrationState(ctx, hostUuid)
  }

  supportsFeature(feature: number): boolean {
    return FEATURES.has(feature)
  }

  begin(uuid: string, params: MigrationParam[], flags: number): Promise<{cookie: Buffer; xml: string}> {
    return source.begin(this.s, uuid, params, flags)
  }

  prepare(params: MigrationParam[], cookie: Buffer, flags: number, pctx: PrepareContext): Promise<{cookie: Buffer; uri: string | null}> {
    return dest.prepare(this.s, params, cookie, flags, pctx)
  }

  prepareTunnel(params: MigrationParam[], cookie: Buffer, flags: number, pctx: PrepareContext = {}): Promise<{cookie: Buffer; sink: TunnelSink}> {
    return dest.prepareTunnel(this.s, params, cookie, flags, pctx)
  }

  async perform(uuid: string, params: MigrationParam[], cookie: Buffer, flags: number, peer?: MigrationPeer): Promise<Buffer> {
    if (peer) {
      await source.performP2P(this.s, uuid, params, flags, peer)
      return Buffer.alloc(0)
    }
    return source.performPhase(this.s, uuid, params, cookie, null, flags)
  }

  finish(params: MigrationParam[], cookie: Buffer, flags: number, cancelled: boolean): Promise<{dom: DomainRef; cookie: Buffer}> {
    return dest.finish(this.s, params, cookie, flags, cancelled)
  }

  confirm(uuid: string, _params: MigrationParam[], cookie: Buffer, flags: number, cancelled: boolean): Promise<void> {
    return source.confirm(this.s, uuid, flags, cancelled, cookie)
  }

  private jobOf(uuid: string) {
    return this.s.outgoing.get(uuid)?.job ?? this.s.incoming.get(uuid)?.job
  }

  getJobStats(uuid: string, flags: number): JobStats {
    const dom = this.ctx.domains.get(uuid)
    if (flags & JobStatsFlags.COMPLETED) {
      const done = this.s.completed.get(dom.uuid)
      if (!(flags & JobStatsFlags.KEEP_COMPLETED)) this.s.completed.delete(dom.uuid)
      return done ? done.stats() : {type: JobType.NONE, params: []}
    }
    const job = this.jobOf(dom.uuid)
    if (!job || job.type !== JobType.UNBOUNDED) return {type: JobType.NONE, params: []}
    return job.stats()
  }

  async abortJob(uuid: string): Promise<void> {
    const dom = this.ctx.domains.get(uuid)
    const out = this.s.outgoing.get(dom.uuid)
    if (!out || out.job.type !== JobType.UNBOUNDED) throw errors.operationInvalid(ErrorDomain.DOMAIN, 'no job is active on the domain')
    const run = this.ctx.requireActive(dom)
    out.job.aborted = true
    await this.ctx.requireMonitor(run).execute('migrate_cancel')
  }

  async setMaxSpeed(uuid: string, bandwidth: bigint, _flags: number): Promise<void> {
    const dom = this.ctx.domains.get(uuid)
    this.s.tune(dom.uuid).speed = bandwidth
    const qmp = dom.run?.qmp
    if (qmp && !qmp.closed) await qmp.execute('migrate-set-parameters', {'max-bandwidth': bytesPerSecond(bandwidth)})
  }

  getMaxSpeed(uuid: string, _flags: number): bigint {
    const dom = this.ctx.domains.get(uuid)
    return this.s.tune(dom.uuid).speed
  }

  async setMaxDowntime(uuid: string, downtime: bigint, _flags: number): Promise<void> {
    const dom = this.ctx.domains.get(uuid)
    const run = this.ctx.requireActive(dom)
    this.s.tune(dom.uuid).downtime = downtime
    await this.ctx.requireMonitor(run).execute('migrate-set-parameters', {'downtime-limit': Number(downtime)})
  }

  startPostCopy(uuid: string, _flags: number): Promise<void> {
    return startPostCopy(this.s, uuid)
  }

  getMaxDowntime(uuid: string, _flags: number): Promise<bigint> {
    const dom = this.ctx.domains.get(uuid)
    this.ctx.requireActive(dom)
    return Promise.resolve(this.s.tune(dom.uuid).downtime)
  }
}
