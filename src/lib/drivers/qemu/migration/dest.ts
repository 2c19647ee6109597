/**
 * The destination side of a migration: prepare (the guest's QEMU started paused with
 * `-incoming defer`, `migrate-incoming` on a port of the migration range) and finish (wait for
 * the stream, resume the guest, make it persistent if asked; or kill it when the source gave up).
 */
import {networkInterfaces} from 'node:os'
import {formatDomainXml} from '../../../conf/domain.js'
import {ErrorDomain, errors} from '../../../errors.js'
import {DomainState, LifecycleEvent, type DomainRef} from '../../types.js'
import {
  JobOperation,
  JobType,
  MigrateFlags as F,
  MigrateParam,
  type MigrationParam,
  type PrepareContext,
  type TunnelSink,
} from '../../migration-types.js'
import {D, inactiveCopy, type QemuDomain} from '../context.js'
import * as definitions from '../definitions.js'
import {waitGone} from '../exit.js'
import {signalPid} from '../process.js'
import {startDomain} from '../start.js'
import {formatCookie, parseCookie} from './cookie.js'
import {MigrationJob} from './job.js'
import {releasePort, reservePort, setCapabilities, waitIncoming} from './qemu-stream.js'
import {param, stringParam, type Incoming, type MigrationState} from './state.js'
import {precreateStorage, removeCreated, startNbdServer, stopNbdServer} from './nbd-dest.js'
import {disksToCopy, migrateDisks, STORAGE_FLAGS} from './storage-disks.js'
import {checkPostcopyFlags, resumePostcopy} from './postcopy.js'
import {socketSink, tunnelPath} from './tunnel.js'

const STARTED_MIGRATED = 1
const PAUSED_MIGRATION = 2
const RUNNING_MIGRATED = 2
const RESUMED_MIGRATED = 1
const SUSPENDED_PAUSED = 0
const PAUSED_USER = 1

/** The address the source should send the stream to: what it reached us on, else our first outside address. */
function advertisedHost(pctx: PrepareContext): string {
  const local = pctx.localAddress?.replace(/^::ffff:/, '')
  if (local && local !== '127.0.0.1' && local !== '::1') return local.includes(':') ? `[${local}]` : local
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return a.address
  }
  return local ?? 'localhost'
}

/** Port of a client-given migration URI (tcp://host:port, tcp:host:port). */
function uriPort(uri: string | undefined): number | undefined {
  const m = uri ? /:(\d+)\/?$/.exec(uri) : null
  return m ? Number(m[1]) : undefined
}

export async function prepare(
  s: MigrationState,
  params: MigrationParam[],
  cookie: Buffer,
  flags: number,
  pctx: PrepareContext,
  tunnel?: string,
): Promise<{cookie: Buffer; uri: string | null}> {
  const {ctx} = s
  const xml = stringParam(params, MigrateParam.DEST_XML)
  if (xml === undefined) throw errors.invalidArg(D, 'no domain XML passed')
  const def = definitions.parseForQemu(ctx, xml)
  const src = parseCookie(cookie, {name: def.name, uuid: def.uuid, hostuuid: s.hostUuid()})
  checkPostcopyFlags(flags)
  const existing = ctx.domains.checkClash(def)
  if (existing?.run) throw errors.operationInvalid(ErrorDomain.DOMAIN, `domain '${def.name}' is already active`)
  if (s.incoming.has(def.uuid)) throw errors.operationInvalid(ErrorDomain.DOMAIN, `domain '${def.name}' is already being migrated here`)
  const job = new MigrationJob(JobOperation.MIGRATION_IN)
  const reply = formatCookie(s.identity(def.name, def.uuid))
  if (flags & F.OFFLINE) {
    const offline: Incoming = {job, flags, def}
    s.incoming.set(def.uuid, offline)
    pctx.onClose?.(() => {
      if (s.incoming.get(def.uuid) === offline) s.incoming.delete(def.uuid)
    })
    return {cookie: reply, uri: null}
  }
  const given = stringParam(params, MigrateParam.URI)
  const listen = stringParam(params, MigrateParam.LISTEN_ADDRESS) ?? '0.0.0.0'
  const port = tunnel ? undefined : (uriPort(given) ?? (await reservePort(listen)))
  const dom = existing ?? ctx.addDomain(def.name, def.uuid)
  const entry: Incoming = {job, flags, def, port}
  s.incoming.set(def.uuid, entry)
  try {
    await ctx.withJob(dom, async () => {
      if (dom.run) throw errors.operationInvalid(ErrorDomain.DOMAIN, `domain '${def.name}' is already active`)
      entry.storage = await precreateStorage(ctx.volumes, def, src.nbd, params, flags)
      const copying = src.nbd !== undefined && (flags & STORAGE_FLAGS) !== 0 && disksToCopy(def, migrateDisks(params)).length > 0
      const disksPort = param(params, MigrateParam.DISKS_PORT)
      if (copying) entry.storage.port = typeof disksPort === 'number' && disksPort > 0 ? disksPort : await reservePort(listen)
      await startDomain(ctx, dom, def, true, {
        extraArgs: ['-incoming', 'defer'],
        startedDetail: STARTED_MIGRATED,
        pausedReason: PAUSED_MIGRATION,
        beforeCont: async (qmp) => {
          await setCapabilities(qmp, {events: true, 'postcopy-ram': (flags & F.POSTCOPY) !== 0})
          const host = listen.includes(':') && !listen.startsWith('[') ? `[${listen}]` : listen
          await qmp.execute('migrate-incoming', {uri: tunnel ? `unix:${tunnel}` : `tcp:${host}:${String(port)}`})
          if (entry.storage?.port !== undefined) await startNbdServer(qmp, def, params, listen, entry.storage.port)
        },
      })
    })
  } catch (err) {
    dropIncoming(s, def.uuid, entry)
    // A guest object made for this migration goes with it (startDomain removes it when QEMU fails; not when failing before).
    if (!existing && !dom.run && !dom.config) ctx.domains.remove(dom)
    await removeCreated(entry.storage)
    throw err
  }
  // The guest's QEMU may end before finish (killed, crashed): as libvirt, this side then cleans up by itself.
  const run = dom.run
  if (run) void run.exited.then(() => incomingGone(s, def.uuid, entry)).catch(() => undefined)
  // So does the connection that prepared it, closing before finish: the incoming guest is destroyed (libvirt's autodestroy).
  pctx.onClose?.(() => {
    if (s.incoming.get(def.uuid) !== entry) return
    ctx.log.warn(`qemu: the connection that prepared the incoming migration of '${def.name}' closed; destroying it`)
    // Stopped as libvirt's autodestroy stops it: destroyed.
    if (dom.run && !dom.run.gone) dom.run.stopping = 'destroy'
    void killIncoming(s, dom).catch(() => undefined)
  })
  const nbd = entry.storage?.port !== undefined ? {port: entry.storage.port, disks: []} : undefined
  return {cookie: formatCookie({...s.identity(def.name, def.uuid), nbd}), uri: tunnel ? null : `tcp:${advertisedHost(pctx)}:${String(port)}`}
}

/** Tunnelled: QEMU listens on a UNIX socket of ours, fed from the RPC stream through the returned sink. */
export async function prepareTunnel(
  s: MigrationState,
  params: MigrationParam[],
  cookie: Buffer,
  flags: number,
  pctx: PrepareContext = {},
): Promise<{cookie: Buffer; sink: TunnelSink}> {
  const t = tunnelPath()
  try {
    const r = await prepare(s, params, cookie, flags, {onClose: pctx.onClose}, t.path)
    const sink = await socketSink(t.path)
    return {cookie: r.cookie, sink: {...sink, finish: () => sink.finish().finally(t.remove), abort: () => (sink.abort(), t.remove())}}
  } catch (err) {
    t.remove()
    throw err
  }
}

const downtimeStat = (ms: number | undefined): Map<string, bigint> | undefined => (ms === undefined ? undefined : new Map([['downtime', BigInt(ms)]]))

async function killIncoming(s: MigrationState, dom: QemuDomain): Promise<void> {
  const run = dom.run
  if (!run || run.gone) return
  signalPid(run.pid, 'SIGKILL')
  await waitGone(s.ctx, dom, run, 10000)
  await run.exited
}

/** Takes the incoming migration of `uuid` out of the state and frees its ports (migration and NBD). */
function dropIncoming(s: MigrationState, uuid: string, entry: Incoming): void {
  s.incoming.delete(uuid)
  releasePort(entry.port)
  releasePort(entry.storage?.port)
}

/** The incoming guest's QEMU ended before finish took the migration over: its job fails, its ports and created volumes go. */
async function incomingGone(s: MigrationState, uuid: string, entry: Incoming): Promise<void> {
  if (s.incoming.get(uuid) !== entry) return
  dropIncoming(s, uuid, entry)
  entry.job.end(JobType.FAILED, 'migration in job: unexpectedly failed')
  s.completed.set(uuid, entry.job)
  await removeCreated(entry.storage)
}

export async function finish(
  s: MigrationState,
  params: MigrationParam[],
  cookie: Buffer,
  flags: number,
  cancelled: boolean,
): Promise<{dom: DomainRef; cookie: Buffer}> {
  const {ctx} = s
  const dname = stringParam(params, MigrateParam.DEST_NAME)
  const src = parseCookie(cookie, {name: dname, hostuuid: s.hostUuid()})
  // A cancelled migration may come without a cookie (the source failed before it had one): the name says which.
  const uuid = src.uuid ?? [...s.incoming.values()].find((e) => e.def.name === dname)?.def.uuid
  const entry = uuid !== undefined ? s.incoming.get(uuid) : undefined
  if (!entry || uuid === undefined) {
    const name = src.name ?? dname ?? '?'
    // The incoming guest already went (its QEMU ended before finish): libvirt no longer has the domain.
    if (!(uuid !== undefined ? ctx.domains.findByUuid(uuid) : ctx.domains.findByName(name)))
      throw errors.noDomain(D, `no domain with matching name '${name}'`)
    throw errors.operationInvalid(ErrorDomain.DOMAIN, `domain '${name}' is not processing incoming migration`)
  }
  dropIncoming(s, uuid, entry)
  const {job} = entry
  job.fromSource = src.statistics
  if (flags & F.OFFLINE) {
    if (cancelled) throw errors.operationFailed(D, 'migration in job: canceled by the source')
    const persistent = stringParam(params, MigrateParam.PERSIST_XML) ?? formatDomainXml(entry.def, {active: false, secure: true})
    const ref = await definitions.defineXML(ctx, persistent)
    job.end(JobType.COMPLETED)
    s.completed.set(uuid, job)
    return {dom: ref, cookie: formatCookie(s.identity(ref.name, uuid))}
  }
  const found = ctx.domains.findByUuid(uuid)
  if (!found) {
    // QEMU already gave up on the stream and went away with the guest object.
    await removeCreated(entry.storage)
    job.end(JobType.FAILED, 'migration in job: unexpectedly failed')
    throw errors.operationFailed(D, cancelled ? 'migration in job: canceled by the source' : 'migration in job: unexpectedly failed')
  }
  const dom = found
  const run = dom.run
  try {
    if (cancelled) throw errors.operationFailed(D, 'migration in job: canceled by the source')
    if (!run || run.gone) throw errors.operationFailed(D, 'migration in job: unexpectedly failed')
    const qmp = ctx.requireMonitor(run)
    const postcopy = (await waitIncoming(qmp, job, () => run.gone, (flags & F.POSTCOPY) !== 0)) === 'postcopy-active'
    if (entry.storage?.port !== undefined) await stopNbdServer(qmp)
    if (!postcopy) {
      job.end(JobType.COMPLETED)
      s.completed.set(uuid, job)
    }
    if (flags & F.PERSIST_DEST) {
      const persistent = stringParam(params, MigrateParam.PERSIST_XML) ?? formatDomainXml(inactiveCopy(entry.def), {active: false, secure: true})
      await definitions.defineXML(ctx, persistent)
      dom.updated = false
    }
    if (postcopy) {
      await resumePostcopy(s, dom, run, job)
    } else if (flags & F.PAUSED) {
      dom.state = DomainState.PAUSED
      dom.reason = PAUSED_USER
      ctx.emitLifecycle(ctx.ref(dom), LifecycleEvent.SUSPENDED, SUSPENDED_PAUSED)
    } else {
      dom.state = DomainState.RUNNING
      dom.reason = RUNNING_MIGRATED
      await qmp.execute('cont')
      ctx.emitLifecycle(ctx.ref(dom), LifecycleEvent.RESUMED, RESUMED_MIGRATED)
    }
    const paused = src.statistics?.get('stopped')
    if (paused !== undefined) job.downtimeMs = Math.max(0, Date.now() - Number(paused))
    await ctx.saveStatus(dom)
  } catch (err) {
    job.end(JobType.FAILED, (err as Error).message)
    s.completed.set(uuid, job)
    await killIncoming(s, dom)
    await removeCreated(entry.storage)
    throw err
  }
  return {dom: ctx.ref(dom), cookie: formatCookie({...s.identity(dom.name, uuid), statistics: downtimeStat(job.downtimeMs)})}
}
