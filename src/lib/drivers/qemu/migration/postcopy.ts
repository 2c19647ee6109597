/**
 * Post-copy migration (`--postcopy`, `virsh migrate-postcopy`): capability postcopy-ram on both
 * sides; migrate-start-postcopy while the outgoing job runs (virDomainMigrateStartPostCopy); the
 * states and events libvirt reports: the source "Suspended Post-copy" (paused, post-copy) once QEMU
 * switched, the destination "Resumed Post-copy" (running, post-copy) when it runs the guest and
 * "Resumed Migrated" (running, migrated) when the last page arrived. Also QEMU's MIGRATION_PASS
 * as libvirt's MIGRATION_ITERATION event (what `virsh migrate --postcopy-after-precopy` waits for).
 */
import {ErrorCode, ErrorDomain, errors, virError} from '../../../errors.js'
import {DomainState, LifecycleEvent} from '../../types.js'
import {JobType, MIGRATION_ITERATION_EVENT, MigrateFlags as F, type MigrationIterationMsg} from '../../migration-types.js'
import {D, type QemuDomain, type Run} from '../context.js'
import type {QmpClient, QmpEvent} from '../qmp.js'
import type {MigrationJob, QueryMigrate} from './job.js'
import {followMigration, waitIncoming} from './qemu-stream.js'
import type {MigrationState} from './state.js'

/** virDomainPausedReason / virDomainRunningReason and the event details that go with them. */
const PAUSED_MIGRATION = 2
const PAUSED_POSTCOPY = 12
const PAUSED_POSTCOPY_FAILED = 13
const RUNNING_MIGRATED = 2
const RUNNING_POSTCOPY = 10
const RUNNING_POSTCOPY_FAILED = 11
const SUSPENDED_POSTCOPY = 7
const SUSPENDED_POSTCOPY_FAILED = 8
const RESUMED_MIGRATED = 1
const RESUMED_POSTCOPY = 3
const RESUMED_POSTCOPY_FAILED = 4

const argumentUnsupported = (detail: string) => virError(ErrorCode.ARGUMENT_UNSUPPORTED, D, 'argument unsupported', detail)

/** Begin and prepare: the flag combinations libvirt refuses with post-copy. */
export function checkPostcopyFlags(flags: number): void {
  if (!(flags & F.POSTCOPY)) return
  if (!(flags & F.LIVE) || flags & F.PAUSED) throw argumentUnsupported('post-copy migration is not supported with non-live or paused migration')
  if (flags & F.TUNNELLED) throw argumentUnsupported('post-copy is not supported with tunnelled migration')
}

/** virDomainMigrateStartPostCopy on the source. */
export async function startPostCopy(s: MigrationState, uuid: string): Promise<void> {
  const dom = s.ctx.domains.get(uuid)
  const run = s.ctx.requireActive(dom)
  const out = s.outgoing.get(dom.uuid)
  if (!out || out.job.type !== JobType.UNBOUNDED)
    throw errors.operationInvalid(ErrorDomain.DOMAIN, 'post-copy can only be started while outgoing migration is in progress')
  if (!(out.flags & F.POSTCOPY))
    throw errors.operationInvalid(ErrorDomain.DOMAIN, 'switching to post-copy requires migration to be started with VIR_MIGRATE_POSTCOPY flag')
  await s.ctx.requireMonitor(run).execute('migrate-start-postcopy')
}

/**
 * Source, once QEMU is in postcopy-active: the guest paused for the migration is now paused for
 * post-copy. When QEMU reports the switch before its STOP (it stops the guest right after), the
 * pause is post-copy's from the start, as libvirt records a STOP that comes during post-copy.
 */
export function markSourcePostcopy(s: MigrationState, dom: QemuDomain): void {
  const running = dom.state === DomainState.RUNNING && dom.run !== undefined && !dom.run.gone
  if (!running && (dom.state !== DomainState.PAUSED || dom.reason !== PAUSED_MIGRATION)) return
  dom.state = DomainState.PAUSED
  dom.reason = PAUSED_POSTCOPY
  s.ctx.emitLifecycle(s.ctx.ref(dom), LifecycleEvent.SUSPENDED, SUSPENDED_POSTCOPY)
  void s.ctx.saveStatus(dom)
}

/** Source, while the stream runs: QEMU's MIGRATION (post-copy switch) and MIGRATION_PASS (iteration event) events. */
export function sourceEvents(s: MigrationState, dom: QemuDomain): (ev: QmpEvent) => void {
  return (ev) => {
    if (ev.event === 'MIGRATION' && ev.data.status === 'postcopy-active') markSourcePostcopy(s, dom)
    if (ev.event === 'MIGRATION_PASS' && typeof ev.data.pass === 'number' && !s.ctx.closed) {
      s.ctx.events.emit(MIGRATION_ITERATION_EVENT, {dom: s.ctx.ref(dom), iteration: ev.data.pass} satisfies MigrationIterationMsg)
    }
  }
}

/** Source confirm after a post-copy switch: the destination pulls the rest; wait for QEMU to be done before stopping it. */
export async function waitSourceComplete(s: MigrationState, dom: QemuDomain, qmp: QmpClient, job: MigrationJob): Promise<boolean> {
  const info: QueryMigrate = await followMigration(qmp, job).catch((): QueryMigrate => ({status: 'failed'}))
  if (info.status === 'completed') return true
  postcopyFailed(s, dom)
  return false
}

/** Failed in post-copy: neither side has the whole guest; libvirt leaves the source paused (post-copy failed). */
export function postcopyFailed(s: MigrationState, dom: QemuDomain): void {
  if (dom.state !== DomainState.PAUSED || dom.reason === PAUSED_POSTCOPY_FAILED) return
  dom.reason = PAUSED_POSTCOPY_FAILED
  s.ctx.emitLifecycle(s.ctx.ref(dom), LifecycleEvent.SUSPENDED, SUSPENDED_POSTCOPY_FAILED)
  void s.ctx.saveStatus(dom)
}

/** Destination finish in post-copy mode: run the guest now, and complete the job once the last page arrived. */
export async function resumePostcopy(s: MigrationState, dom: QemuDomain, run: Run, job: MigrationJob): Promise<void> {
  const {ctx} = s
  const qmp = ctx.requireMonitor(run)
  dom.state = DomainState.RUNNING
  dom.reason = RUNNING_POSTCOPY
  await qmp.execute('cont')
  ctx.emitLifecycle(ctx.ref(dom), LifecycleEvent.RESUMED, RESUMED_POSTCOPY)
  await ctx.saveStatus(dom)
  void completeIncoming(s, dom, run, qmp, job).catch(() => undefined)
}

/** Destination, in the background after finish: the last page arrived (running, migrated), or post-copy failed. */
async function completeIncoming(s: MigrationState, dom: QemuDomain, run: Run, qmp: QmpClient, job: MigrationJob): Promise<void> {
  const {ctx} = s
  const ok = await waitIncoming(qmp, job, () => run.gone).then(
    () => true,
    () => false,
  )
  job.end(ok ? JobType.COMPLETED : JobType.FAILED, ok ? undefined : 'migration in job: failed in post-copy phase')
  s.completed.set(dom.uuid, job)
  if (dom.run !== run || run.gone || dom.state !== DomainState.RUNNING || dom.reason !== RUNNING_POSTCOPY) return
  dom.reason = ok ? RUNNING_MIGRATED : RUNNING_POSTCOPY_FAILED
  ctx.emitLifecycle(ctx.ref(dom), LifecycleEvent.RESUMED, ok ? RESUMED_MIGRATED : RESUMED_POSTCOPY_FAILED)
  await ctx.saveStatus(dom)
}
