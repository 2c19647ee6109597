/**
 * The source side of a migration: begin (checks, migratable XML, cookie), perform (QEMU's
 * outgoing stream; for peer-to-peer, the whole protocol with the destination daemon), and
 * confirm (stop the source's QEMU, or resume the guest when the migration was cancelled).
 */
import {formatDomainXml} from '../../../conf/domain.js'
import {ErrorDomain, errors} from '../../../errors.js'
import {DomainState, LifecycleEvent} from '../../types.js'
import {
  JobOperation,
  JobType,
  MigrateFlags as F,
  MigrateParam,
  ParamType,
  type MigrationParam,
  type MigrationPeer,
  type TunnelSink,
} from '../../migration-types.js'
import {D, inactiveCopy, type QemuDomain} from '../context.js'
import * as definitions from '../definitions.js'
import {waitGone} from '../exit.js'
import {signalPid} from '../process.js'
import {formatCookie, parseCookie} from './cookie.js'
import {MigrationJob} from './job.js'
import {runOutgoing} from './qemu-stream.js'
import {tunnelPath, tunnelSource} from './tunnel.js'
import type {QmpEvent} from '../qmp.js'
import {param, stringParam, withParam, type MigrationState} from './state.js'
import {beginNbd, checkStorageFlags} from './storage-disks.js'
import {startStorageCopy} from './storage-source.js'
import type {Mirrors} from './nbd-mirror.js'
import {checkPostcopyFlags, markSourcePostcopy, postcopyFailed, sourceEvents, waitSourceComplete} from './postcopy.js'

/** VIR_DOMAIN_PAUSED_MIGRATION, VIR_DOMAIN_RUNNING_MIGRATION_CANCELED, VIR_DOMAIN_EVENT_RESUMED_MIGRATED. */
const PAUSED_MIGRATION = 2
const RUNNING_MIGRATION_CANCELED = 6
const RESUMED_MIGRATED = 1

const EMPTY = Buffer.alloc(0)

function checkFlags(dom: QemuDomain, flags: number): void {
  if (flags & F.OFFLINE) {
    if (flags & F.LIVE) throw errors.operationInvalid(ErrorDomain.DOMAIN, 'live offline migration does not make sense')
    if (flags & (F.NON_SHARED_DISK | F.NON_SHARED_INC))
      throw errors.operationInvalid(ErrorDomain.DOMAIN, 'offline migration cannot handle non-shared storage')
    if (!(flags & F.PERSIST_DEST))
      throw errors.operationInvalid(ErrorDomain.DOMAIN, 'offline migration must be specified with the persistent flag set')
    if (flags & F.TUNNELLED) throw errors.operationInvalid(ErrorDomain.DOMAIN, 'tunnelled offline migration does not make sense')
    if (!dom.config) throw errors.operationInvalid(ErrorDomain.DOMAIN, 'cannot migrate a transient domain offline')
  } else if (!dom.run) {
    throw errors.operationInvalid(ErrorDomain.DOMAIN, 'domain is not running')
  }
}

export async function begin(s: MigrationState, uuid: string, params: MigrationParam[], flags: number): Promise<{cookie: Buffer; xml: string}> {
  const dom = s.ctx.domains.get(uuid)
  checkFlags(dom, flags)
  if (s.outgoing.has(uuid)) throw errors.operationInvalid(ErrorDomain.DOMAIN, `another migration job is already running for domain '${dom.name}'`)
  checkPostcopyFlags(flags)
  const def = dom.live ?? dom.config
  if (def) checkStorageFlags(def, params, flags)
  const nbd = dom.live && !(flags & F.OFFLINE) ? await beginNbd(dom.run?.qmp, dom.live, params, flags) : undefined
  if (s.outgoing.has(uuid)) throw errors.operationInvalid(ErrorDomain.DOMAIN, `another migration job is already running for domain '${dom.name}'`)
  const given = stringParam(params, MigrateParam.DEST_XML)
  let xml: string
  if (given !== undefined) xml = given
  else if (flags & F.OFFLINE || !dom.live) xml = formatDomainXml(dom.config ?? inactiveCopy(dom.live ?? dom.config!), {active: false, secure: true})
  else xml = formatDomainXml(inactiveCopy(dom.live), {active: false, secure: true})
  s.outgoing.set(uuid, {job: new MigrationJob(JobOperation.MIGRATION_OUT), flags, wasRunning: dom.state === DomainState.RUNNING})
  return {cookie: formatCookie({...s.identity(dom.name, uuid), nbd}), xml}
}

/** "tcp:host:port", "tcp://host:port" or "tcp://host" (with the port of the destination's answer) -> QEMU's "tcp:host:port". */
function qemuUri(uri: string): string {
  if (uri.startsWith('unix:')) return uri
  const m = /^tcp:(?:\/\/)?(\[[^\]]+\]|[^:/]+)(?::(\d+))?\/?$/.exec(uri)
  if (!m) throw errors.invalidArg(ErrorDomain.QEMU, `unsupported migration URI '${uri}'`)
  if (!m[2]) throw errors.invalidArg(ErrorDomain.QEMU, `migration URI '${uri}' has no port`)
  return `tcp:${m[1]}:${m[2]}`
}

/** The outgoing stream (direct migration's perform, or the middle of a peer-to-peer one). */
export async function performPhase(
  s: MigrationState,
  uuid: string,
  params: MigrationParam[],
  cookie: Buffer,
  uri: string | null,
  flags: number,
): Promise<Buffer> {
  const {ctx} = s
  const dom = ctx.domains.get(uuid)
  let out = s.outgoing.get(uuid)
  if (!out) {
    await begin(s, uuid, params, flags)
    out = s.outgoing.get(uuid)!
  }
  const dest = parseCookie(cookie, {hostuuid: s.hostUuid()})
  const reply = (): Buffer => formatCookie({...s.identity(dom.name, uuid), statistics: out.job.cookieStats()})
  if (flags & F.OFFLINE) {
    out.job.end(JobType.COMPLETED)
    return reply()
  }
  const run = ctx.requireActive(dom)
  const qmp = ctx.requireMonitor(run)
  const target = uri ?? stringParam(params, MigrateParam.URI)
  if (!target) throw errors.invalidArg(ErrorDomain.QEMU, `migration URI is missing (destination ${dest.hostname ?? '?'} gave none)`)
  const t = s.tune(uuid)
  const bw = param(params, MigrateParam.BANDWIDTH)
  const speed = typeof bw === 'bigint' && bw > 0n ? bw : t.speed
  run.pauseReason = PAUSED_MIGRATION
  run.migratingOut = true
  const onPostcopy = sourceEvents(s, dom)
  const onStop = (ev: QmpEvent): void => {
    if (ev.event === 'STOP') out.job.pausedAtMs ??= Date.now()
    onPostcopy(ev)
  }
  qmp.on('event', onStop)
  let mirrors: Mirrors | undefined
  try {
    mirrors = await startStorageCopy(s, uuid, qmp, params, flags, dest.nbd, qemuUri(target), speed)
    const info = await runOutgoing(
      qmp,
      out.job,
      {
        uri: qemuUri(target),
        capabilities: {events: true, 'auto-converge': (flags & F.AUTO_CONVERGE) !== 0, xbzrle: (flags & F.COMPRESSED) !== 0},
        maxBandwidth: speed,
        downtimeLimitMs: t.downtime,
      },
      {preSwitchover: mirrors ? () => mirrors!.complete() : undefined, postcopy: (flags & F.POSTCOPY) !== 0},
    )
    if (info.status === 'postcopy-active') {
      out.postcopy = true
      markSourcePostcopy(s, dom)
    }
  } catch (err) {
    await mirrors?.abort()
    if (dom.state === DomainState.RUNNING) run.pauseReason = undefined
    out.job.end(out.job.aborted ? JobType.CANCELLED : JobType.FAILED, (err as Error).message)
    throw err
  } finally {
    qmp.off('event', onStop)
    run.migratingOut = false
  }
  out.job.end(JobType.COMPLETED)
  return reply()
}

/** Confirm: the destination has the guest (stop ours), or the migration was cancelled (resume ours). */
export async function confirm(s: MigrationState, uuid: string, flags: number, cancelled: boolean, cookie: Buffer = EMPTY): Promise<void> {
  const {ctx} = s
  const dom = ctx.domains.get(uuid)
  const out = s.outgoing.get(uuid)
  // Post-copy: the destination runs the guest and pulls the pages it lacks from here until QEMU is done.
  const qmp = dom.run?.qmp
  if (out?.postcopy && !cancelled && qmp && !qmp.closed && !(await waitSourceComplete(s, dom, qmp, out.job))) {
    s.outgoing.delete(uuid)
    out.job.end(JobType.FAILED, 'migration out job: failed in post-copy phase')
    s.completed.set(uuid, out.job)
    throw errors.operationFailed(D, "job 'migration out' failed in post-copy phase")
  }
  if (out && !cancelled) {
    try {
      const down = parseCookie(cookie, {hostuuid: s.hostUuid()}).statistics?.get('downtime')
      if (down !== undefined) out.job.downtimeMs = Number(down)
    } catch {
      // statistics are a nicety: a cookie we cannot read does not undo a finished migration
    }
  }
  s.outgoing.delete(uuid)
  if (out) {
    if (cancelled && out.job.type === JobType.COMPLETED) out.job.end(JobType.FAILED, 'migration was cancelled by the destination')
    s.completed.set(uuid, out.job)
  }
  const run = dom.run
  if (cancelled && out?.postcopy) {
    // The destination already ran the guest: resuming here would fork it; libvirt leaves it paused (post-copy failed).
    postcopyFailed(s, dom)
    return
  }
  if (cancelled) {
    if (run && !run.gone && out?.wasRunning && dom.state === DomainState.PAUSED) {
      dom.state = DomainState.RUNNING
      dom.reason = RUNNING_MIGRATION_CANCELED
      await ctx.requireMonitor(run).execute('cont')
      ctx.emitLifecycle(ctx.ref(dom), LifecycleEvent.RESUMED, RESUMED_MIGRATED)
      await ctx.saveStatus(dom)
    }
    if (run) run.pauseReason = undefined
    return
  }
  if (run && !(flags & F.OFFLINE)) {
    run.stopping = 'migrated'
    signalPid(run.pid, 'SIGTERM')
    if (!(await waitGone(ctx, dom, run, ctx.destroyGraceMs))) {
      signalPid(run.pid, 'SIGKILL')
      await waitGone(ctx, dom, run, 10000)
    }
    await run.exited
  }
  if (flags & F.UNDEFINE_SOURCE && dom.config) await definitions.undefine(ctx, uuid)
}

/** Peer-to-peer: this daemon drives the destination through `peer` (libvirt's Perform phase with P2P). */
export async function performP2P(s: MigrationState, uuid: string, given: MigrationParam[], flags: number, peer: MigrationPeer): Promise<void> {
  // The destination's finish needs the guest's name (libvirt's source always sends it).
  const name = s.ctx.domains.get(uuid).name
  const params = stringParam(given, MigrateParam.DEST_NAME)
    ? given
    : withParam(given, {field: MigrateParam.DEST_NAME, type: ParamType.STRING, value: name})
  const {cookie: c1, xml} = await begin(s, uuid, params, flags)
  const prepParams = withParam(params, {field: MigrateParam.DEST_XML, type: ParamType.STRING, value: xml})
  let prep: {cookie: Buffer; uri: string | null}
  let tunnel: {sink: TunnelSink; local: {path: string; remove: () => void}; src: {done: Promise<void>; close: () => void}} | undefined
  try {
    if (flags & F.TUNNELLED) {
      const t = await peer.prepareTunnel(prepParams, c1, flags)
      const local = tunnelPath()
      tunnel = {sink: t.sink, local, src: await tunnelSource(local.path, t.sink)}
      prep = {cookie: t.cookie, uri: `unix:${local.path}`}
    } else {
      prep = await peer.prepare(prepParams, c1, flags)
    }
  } catch (err) {
    s.outgoing.delete(uuid)
    throw err
  }
  let failure: Error | undefined
  let c3: Buffer = EMPTY
  let lost = false
  peer.onLost(() => {
    // Only while the stream runs: once confirmed (or the domain gone) there is nothing to stop.
    const out = s.outgoing.get(uuid)
    if (out?.job.type !== JobType.UNBOUNDED) return
    lost = true
    out.lost = true
    const qmp = s.ctx.domains.findByUuid(uuid)?.run?.qmp
    if (qmp && !qmp.closed) qmp.execute('migrate_cancel').catch(() => undefined)
  })
  try {
    c3 = await performPhase(s, uuid, params, prep.cookie, prep.uri, flags)
    if (tunnel) {
      await tunnel.src.done
      await tunnel.sink.finish()
    }
  } catch (err) {
    failure = lost ? errors.operationFailed(D, 'Lost connection to destination host') : (err as Error)
    tunnel?.sink.abort()
  } finally {
    tunnel?.src.close()
    tunnel?.local.remove()
  }
  let finished = false
  let c4: Buffer = EMPTY
  try {
    c4 = (await peer.finish(params, c3, flags, failure !== undefined)).cookie
    finished = failure === undefined
  } catch (err) {
    failure ??= err as Error
  }
  await confirm(s, uuid, flags, !finished, finished ? c4 : EMPTY)
  if (failure) throw failure
}
