/**
 * The QEMU side of a migration: capabilities and parameters, `migrate` on the source followed
 * through MIGRATION events and query-migrate, `migrate-incoming` on the destination and waiting
 * for the stream to be in, and the migration ports (libvirt's range 49152-49215).
 */
import * as net from 'node:net'
import {VirError, errors} from '../../../errors.js'
import {D} from '../context.js'
import type {QmpClient, QmpEvent} from '../qmp.js'
import type {MigrationJob, QueryMigrate} from './job.js'

export const PORT_MIN = 49152
export const PORT_MAX = 49215
/** QEMU_DOMAIN_MIG_BANDWIDTH_MAX: "unlimited", in MiB/s. */
export const BANDWIDTH_MAX = 8796093022207n

const reserved = new Set<number>()

function portFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer()
    s.once('error', () => resolve(false))
    s.listen({port, host, exclusive: true}, () => s.close(() => resolve(true)))
  })
}

/** A free port of the range, held until release() (QEMU binds it right after). */
export async function reservePort(host: string, min = PORT_MIN, max = PORT_MAX): Promise<number> {
  for (let p = min; p <= max; p++) {
    if (reserved.has(p)) continue
    reserved.add(p)
    if (await portFree(p, host)) return p
    reserved.delete(p)
  }
  throw errors.internal(D, `Unable to find an unused port in range 'migration' (${min}-${max})`)
}

export function releasePort(port: number | undefined): void {
  if (port !== undefined) reserved.delete(port)
}

/** MiB/s -> QEMU's max-bandwidth (bytes/s, at most INT64_MAX; JSON numbers stay exact below 2^53). */
export function bytesPerSecond(mib: bigint): number {
  const b = mib * 1048576n
  return b > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(b)
}

export interface OutgoingOptions {
  uri: string
  capabilities: Record<string, boolean>
  /** MiB/s. */
  maxBandwidth: bigint
  downtimeLimitMs?: bigint
}

export async function setCapabilities(qmp: QmpClient, caps: Record<string, boolean>): Promise<void> {
  await qmp.execute('migrate-set-capabilities', {capabilities: Object.entries(caps).map(([capability, state]) => ({capability, state}))})
}

/** Resolves on the next MIGRATION event or after `ms`, whichever comes first. */
function nextEvent(qmp: QmpClient, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(t)
      qmp.off('event', on)
      qmp.off('close', done)
      resolve()
    }
    const on = (ev: QmpEvent): void => {
      if (ev.event === 'MIGRATION') done()
    }
    const t = setTimeout(done, ms)
    qmp.on('event', on)
    qmp.on('close', done)
  })
}

/** Statuses at which QEMU's outgoing stream is over. */
const OVER = new Set(['completed', 'failed', 'cancelled'])

/** Follows the migration until QEMU reports it over (completed, failed, cancelled) or in one of `also`. */
export async function followMigration(qmp: QmpClient, job: MigrationJob, pollMs = 100, also: ReadonlySet<string> = OVER): Promise<QueryMigrate> {
  for (;;) {
    const waiting = nextEvent(qmp, pollMs)
    const info = await qmp.execute<QueryMigrate>('query-migrate')
    job.update(info)
    if (OVER.has(info.status ?? '') || also.has(info.status ?? '')) return info
    if (qmp.closed) throw errors.operationFailed(D, 'migration job: QEMU monitor closed')
    await waiting
  }
}

/** What the outgoing stream waits for beside the memory: a storage copy, a switch to post-copy. */
export interface OutgoingHooks {
  /** QEMU paused before the switch-over (capability pause-before-switchover): finish the disks' mirrors. */
  preSwitchover?: () => Promise<void>
  /** Post-copy: the source is done once QEMU is in postcopy-active (the destination pulls the rest). */
  postcopy?: boolean
}

/** Starts the outgoing stream and follows it to its end; throws libvirt's errors when it does not complete. */
export async function runOutgoing(qmp: QmpClient, job: MigrationJob, o: OutgoingOptions, hooks: OutgoingHooks = {}): Promise<QueryMigrate> {
  const caps = {...o.capabilities, 'pause-before-switchover': hooks.preSwitchover !== undefined, 'postcopy-ram': hooks.postcopy === true}
  await setCapabilities(qmp, caps)
  const params: Record<string, unknown> = {'max-bandwidth': bytesPerSecond(o.maxBandwidth)}
  if (o.downtimeLimitMs !== undefined) params['downtime-limit'] = Number(o.downtimeLimitMs)
  await qmp.execute('migrate-set-parameters', params)
  await qmp.execute('migrate', {uri: o.uri})
  const post = hooks.postcopy ? ['postcopy-active'] : []
  let continued = false
  try {
    for (;;) {
      const info = await followMigration(qmp, job, 100, new Set(continued ? post : ['pre-switchover', ...post]))
      if (info.status === 'pre-switchover') {
        continued = true
        await hooks.preSwitchover?.()
        await qmp.execute('migrate-continue', {state: 'pre-switchover'})
        continue
      }
      if (info.status === 'completed' || info.status === 'postcopy-active') return info
      if (info.status === 'cancelled' || job.aborted) throw abortedError('migration out')
      throw errors.operationFailed(D, `migration out job: unexpectedly failed${info['error-desc'] ? `: ${info['error-desc']}` : ''}`)
    }
  } catch (err) {
    // QEMU's stream still going (a hook failed): stop it, so that the guest stays here.
    const now = await qmp.execute<QueryMigrate>('query-migrate').catch((): QueryMigrate => ({status: 'failed'}))
    if (!OVER.has(now.status ?? '')) await qmp.execute('migrate_cancel').catch(() => undefined)
    throw err
  }
}

export function abortedError(what: string): VirError {
  const detail = `${what} job: canceled by client`
  return new VirError(78, D, `operation aborted: ${detail}`, {str1: 'operation aborted: %s', str2: detail})
}

/** Destination: waits for the incoming stream to be complete (or, for post-copy, running from here); QEMU exits by itself when it fails. */
export async function waitIncoming(
  qmp: QmpClient,
  job: MigrationJob,
  gone: () => boolean,
  postcopy = false,
): Promise<'completed' | 'postcopy-active'> {
  for (;;) {
    if (gone() || qmp.closed) throw errors.operationFailed(D, 'migration in job: unexpectedly failed')
    const waiting = nextEvent(qmp, 100)
    const info = await qmp.execute<QueryMigrate>('query-migrate').catch((): QueryMigrate => ({status: 'failed'}))
    job.update(info)
    if (info.status === 'completed') return 'completed'
    if (postcopy && info.status === 'postcopy-active') return 'postcopy-active'
    if (info.status === 'failed' || info.status === 'cancelled') throw errors.operationFailed(D, 'migration in job: unexpectedly failed')
    await waiting
  }
}
