/**
 * Starting guests: createXML / create, the start sequence (disk checks, VNC ports, virtlockd
 * locks, virtlogd FIFOs, spawn with -S, monitor, runtime details, `cont`), undoing a failed
 * start, and autostart. QEMU dying during start-up is reported one way, whichever race showed it
 * (the monitor never answering, or answering and then closing): libvirt's "internal error:
 * process exited while connecting to monitor: <what QEMU wrote>".
 */
import * as fs from 'node:fs'
import * as fsp from 'node:fs/promises'
import {dirname} from 'node:path'
import {ErrorCode, ErrorDomain, VirError, errors} from '../../errors.js'
import type {DomainDef} from '../../conf/domain.js'
import {attr} from '../../conf/xml.js'
import {
  CreateFlags,
  DomainState,
  LifecycleEvent,
  PausedReason,
  ResumedDetail,
  RunningReason,
  ShutoffReason,
  StartedDetail,
  SuspendedDetail,
  type DomainRef,
} from '../types.js'
import {PAUSED_MIGRATION, SaveDetail} from '../save-types.js'
import {INCOMING_DEFER_ARGV} from './migration-stream.js'
import {buildQemuArgv, fileChardevs, hasVirtioBalloon} from './argv.js'
import {validateForQemu} from './validate.js'
import {resolveVolumeDisks} from './volume-disks.js'
import {channelDirFor, fillChannelPaths, prepareChannelDir} from './channels.js'
import {errnoText} from './capabilities.js'
import {D, cloneDef, newRun, type QemuContext, type QemuDomain, type Run} from './context.js'
import {parseForQemu} from './definitions.js'
import {processGone, waitGone} from './exit.js'
import {diskLocks, type GuestIdent, type LockdUse, type LogdUse, type OpenedLogs} from './logd-lockd.js'
import {attachMonitor} from './monitor.js'
import {allocateGraphicsPorts, releaseDisplayPorts} from './display-ports.js'
import {MonitorGoneError, connectMonitor, pidRunning, qemuLogHeader, readLogSince, readProcStat, signalPid, spawnQemu} from './process.js'
import {guestCgroupsEnabled, placeGuest} from './cgroup.js'
import type {QmpClient} from './qmp.js'
import {plugInterfaces, unplugInterfaces} from './net-interface.js'
import {setupBalloonStats} from './memstats.js'

export async function createXML(ctx: QemuContext, xml: string, flags: number): Promise<DomainRef> {
  const def = parseForQemu(ctx, xml)
  const existing = ctx.domains.checkClash(def)
  if (existing?.run) throw errors.operationInvalid(ErrorDomain.DOMAIN, `domain '${def.name}' is already active`)
  const dom = existing ?? ctx.addDomain(def.name, def.uuid)
  await ctx.withJob(dom, async () => {
    if (dom.run) throw errors.operationInvalid(ErrorDomain.DOMAIN, `domain '${def.name}' is already active`)
    await startDomain(ctx, dom, def, (flags & CreateFlags.PAUSED) !== 0)
  })
  return ctx.ref(dom)
}

export async function create(ctx: QemuContext, uuid: string, flags: number): Promise<DomainRef> {
  const dom = ctx.domains.get(uuid)
  await ctx.withJob(dom, async () => {
    if (dom.run) throw errors.operationInvalid(ErrorDomain.DOMAIN, 'domain is already running')
    if (!dom.config) throw errors.operationInvalid(ErrorDomain.DOMAIN, 'domain is not persistent')
    await startDomain(ctx, dom, cloneDef(dom.config), (flags & CreateFlags.PAUSED) !== 0)
  })
  return ctx.ref(dom)
}

/** Starts every inactive persistent guest marked autostart (the daemon calls this once); `startOne` may restore a managed save. */
export async function autostart(ctx: QemuContext, startOne: (uuid: string) => Promise<unknown> = (uuid) => create(ctx, uuid, 0)): Promise<void> {
  for (const dom of [...ctx.domains.values()]) {
    if (!dom.autostart || !dom.config || dom.run) continue
    try {
      await startOne(dom.uuid)
      ctx.log.info(`qemu: autostarted guest '${dom.name}'`)
    } catch (err) {
      ctx.log.error(`qemu: failed to autostart guest '${dom.name}': ${(err as Error).message}`)
    }
  }
}

async function checkDiskSources(def: DomainDef): Promise<void> {
  for (const d of def.devices.disks) {
    if (d.source === undefined) continue
    const ro = d.readonly || d.device === 'cdrom'
    try {
      await fsp.access(d.source, ro ? fs.constants.R_OK : fs.constants.R_OK | fs.constants.W_OK)
    } catch (err) {
      const detail = `Cannot access storage file '${d.source}': ${errnoText(err as NodeJS.ErrnoException)}`
      throw new VirError(ErrorCode.SYSTEM_ERROR, ErrorDomain.STORAGE, detail, {str1: '%s', str2: detail})
    }
  }
}

/**
 * What a start does besides booting: `receive` restores a saved state into QEMU (started with
 * -incoming defer) instead of booting (save.ts); an incoming migration (migration/dest.ts) adds
 * arguments, a step before `cont`, and its own event detail and pause reason.
 */
export interface StartHooks {
  receive?: (qmp: QmpClient) => Promise<void>
  extraArgs?: string[]
  beforeCont?: (qmp: QmpClient) => Promise<void>
  startedDetail?: number
  pausedReason?: number
}

/** Starts `def` as the live definition of `dom` (caller holds the job); with `receive`, restores it. */
export async function startDomain(ctx: QemuContext, dom: QemuDomain, def: DomainDef, paused: boolean, hooks: StartHooks = {}): Promise<void> {
  await dom.lastExit
  const transient = dom.config === undefined
  try {
    await resolveVolumeDisks(def, ctx.volumes)
    validateForQemu(def, ctx.probe.target)
    await checkDiskSources(def)
  } catch (err) {
    if (transient) ctx.domains.remove(dom)
    throw err
  }
  const id = ctx.domains.allocateId()
  const ident: GuestIdent = {name: def.name, uuid: dom.uuid}
  let reserved: (number | undefined)[] = []
  const h = ctx.helpers
  let run: Run | undefined
  let logd: LogdUse | undefined
  let lockd: LockdUse | undefined
  let outFd: number | undefined
  let plugged = false
  try {
    const graphicsPorts = await allocateGraphicsPorts(ctx, def)
    reserved = graphicsPorts
    graphicsPorts.forEach((p, i) => {
      if (p !== undefined) def.devices.graphics[i].port = p
    })
    // The live XML names the address QEMU listens on (loopback unless given), as libvirt's does.
    for (const g of def.devices.graphics) if (g.type === 'vnc' || g.type === 'spice') g.listen ??= '127.0.0.1'
    const monitorPath = ctx.store.monitorPath(def.name, id)
    if (Buffer.byteLength(monitorPath) > 107) throw errors.internal(D, `UNIX socket path '${monitorPath}' too long`)
    await fsp.rm(monitorPath, {force: true})
    // Disk locks first: a guest refused for a busy disk leaves its logs alone.
    const locks = diskLocks(def)
    const lockSock = locks.length > 0 ? await h.useVirtlockd() : undefined
    if (lockSock) {
      await h.acquireLocks(lockSock, ident, 0, locks)
      lockd = {socket: lockSock}
    }
    await plugInterfaces(ctx.networkPorts, def, dom.uuid)
    plugged = true
    const logPath = ctx.store.logPath(def.name)
    const logSock = await h.useVirtlogd()
    let opened: OpenedLogs | undefined
    if (logSock) {
      opened = await h.openLogs(logSock, ident, fileChardevs(def), logPath)
      logd = opened.use
    }
    const channelDir = channelDirFor(dirname(monitorPath), def.name, id)
    await prepareChannelDir(def, channelDir)
    const argv = buildQemuArgv(def, {
      emulator: ctx.emulator,
      monitorPath,
      sandbox: ctx.probe.caps.sandbox,
      graphicsPorts,
      chardevFifos: opened?.chardevFifos,
      channelDir,
    })
    if (hooks.receive) argv.push(...INCOMING_DEFER_ARGV)
    if (hooks.extraArgs) argv.push(...hooks.extraArgs)
    fillChannelPaths(def, channelDir)
    const headerExtra = `, domain ${def.name} (id ${id})`
    let logPos: Run['logPos']
    if (opened) {
      logPos = await h.appendThroughLogd(opened.use.socket, ident, logPath, qemuLogHeader(argv, headerExtra))
      outFd = h.openFifo(opened.qemuFifo)
    }
    const spawned = spawnQemu(argv, logPath, headerExtra, outFd)
    // Its own cgroup (cgroup.ts; VCTL_GUEST_CGROUPS=0 turns it off).
    if (guestCgroupsEnabled()) placeGuest(spawned.pid, (m) => ctx.log.warn(m))
    if (outFd !== undefined) {
      fs.closeSync(outFd)
      outFd = undefined
    }
    const r = newRun({
      pid: spawned.pid,
      starttime: readProcStat(spawned.pid)?.starttime ?? '',
      child: spawned.child,
      monitorPath,
      logPath,
      logOffset: spawned.logOffset,
      logd,
      logPos,
      lockd,
      startedAtMs: Date.now(),
      phase: 'starting',
      graphicsPorts,
      argv,
    })
    run = r
    spawned.child.once('exit', () => processGone(ctx, dom, r))
    dom.live = def
    dom.id = id
    dom.run = r
    dom.lastExit = r.exited
    dom.state = DomainState.PAUSED
    dom.reason = PausedReason.STARTING_UP
    await ctx.saveStatus(dom)
    // The locks now name QEMU's pid: virtlockd drops them should it die unnoticed.
    if (lockd) await h.acquireLocks(lockd.socket, ident, r.pid, locks)

    const qmp = await connectMonitor(monitorPath, () => !r.gone && pidRunning(r.pid), 30000)
    if (r.gone) {
      qmp.close()
      throw new MonitorGoneError()
    }
    attachMonitor(ctx, dom, r, qmp)
    await fillRuntimeInfo(def, qmp)
    await setGraphicsPasswords(def, qmp)
    if (hooks.receive) await hooks.receive(qmp)
    else if (def.currentMemoryKiB < def.memoryKiB && hasVirtioBalloon(def)) {
      await qmp
        .execute('balloon', {value: def.currentMemoryKiB * 1024})
        .catch((e: unknown) => ctx.log.warn(`qemu: ${def.name}: cannot set the balloon: ${(e as Error).message}`))
    }
    await setupBalloonStats(ctx, def, qmp)
    if (hooks.beforeCont) await hooks.beforeCont(qmp)
    if (!paused) await qmp.execute('cont')
    if (r.gone) throw new MonitorGoneError()
    r.phase = 'running'
    dom.state = paused ? DomainState.PAUSED : DomainState.RUNNING
    if (hooks.receive) dom.reason = paused ? PAUSED_MIGRATION : RunningReason.RESTORED
    else dom.reason = paused ? (hooks.pausedReason ?? PausedReason.USER) : RunningReason.BOOTED
  } catch (err) {
    releaseDisplayPorts(reserved)
    if (outFd !== undefined) fs.closeSync(outFd)
    if (!run) {
      // Nothing was spawned: undo what was set up for it (a run's exit does that otherwise).
      if (logd) await h.closeLogs(logd)
      if (lockd) await h.releaseLocks(lockd, ident, 0)
      if (plugged) await unplugInterfaces(ctx.networkPorts, def)
    }
    throw await abortStart(ctx, dom, run, err, transient, hooks.receive ? 'qemu unexpectedly closed the monitor' : undefined)
  }
  releaseDisplayPorts(reserved) // QEMU holds them now
  // Events before the status write (an exit noticed during that write then follows them), in
  // libvirt 9.0's order: a boot resumes the CPUs before STARTED; a restore resumes them after
  // (RESUMED with the "from snapshot" detail, as libvirt sends it) or reports them paused.
  const ref = ctx.ref(dom)
  if (hooks.receive) {
    ctx.emitLifecycle(ref, LifecycleEvent.STARTED, SaveDetail.STARTED_RESTORED)
    if (paused) ctx.emitLifecycle(ref, LifecycleEvent.SUSPENDED, SaveDetail.SUSPENDED_RESTORED)
    else ctx.emitLifecycle(ref, LifecycleEvent.RESUMED, SaveDetail.RESUMED_FROM_SNAPSHOT)
  } else if (hooks.startedDetail !== undefined) {
    // An incoming migration: RESUMED comes when the migration finishes.
    ctx.emitLifecycle(ref, LifecycleEvent.STARTED, hooks.startedDetail)
  } else if (paused) {
    ctx.emitLifecycle(ref, LifecycleEvent.STARTED, StartedDetail.BOOTED)
    ctx.emitLifecycle(ref, LifecycleEvent.SUSPENDED, SuspendedDetail.PAUSED)
  } else {
    ctx.emitLifecycle(ref, LifecycleEvent.RESUMED, ResumedDetail.UNPAUSED)
    ctx.emitLifecycle(ref, LifecycleEvent.STARTED, StartedDetail.BOOTED)
  }
  await ctx.saveStatus(dom)
}

/** Errors that mean the monitor went away: QEMU is exiting (its exit may be noticed a moment later). */
function monitorLost(err: unknown): boolean {
  if (err instanceof MonitorGoneError) return true
  if (err instanceof VirError) return /End of file from qemu monitor/.test(err.message)
  const code = (err as NodeJS.ErrnoException | undefined)?.code
  return code === 'ECONNRESET' || code === 'EPIPE'
}

/**
 * What QEMU wrote during this run, as libvirt reports it: without our own timestamped lines
 * ("starting up", "shutting down") and "char device redirected to" notes.
 */
function qemuOutput(text: string): string {
  return text
    .split('\n')
    .filter((l) => !/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\+\d{4}: /.test(l) && !l.includes('char device redirected to'))
    .join('\n')
    .trim()
}

/** Undoes a failed start (kills QEMU, removes its files) and returns the error to report. */
async function abortStart(
  ctx: QemuContext,
  dom: QemuDomain,
  run: Run | undefined,
  err: unknown,
  transient: boolean,
  exitedWhat = 'process exited while connecting to monitor',
): Promise<unknown> {
  let out = err
  if (run) {
    // A monitor that went away means QEMU is on its way out: let it finish, so that its exit
    // (not our SIGKILL) ends the run and everything it wrote is in the log.
    if (!run.gone && monitorLost(err)) await waitGone(ctx, dom, run, 5000)
    let killed = false
    if (!run.gone) {
      killed = true
      signalPid(run.pid, 'SIGKILL')
      await waitGone(ctx, dom, run, 10000)
    }
    await run.exited
    if (!killed) {
      const log =
        run.logd && run.logPos ? await ctx.helpers.readLogdSince(run.logd.socket, run.logPath, run.logPos) : readLogSince(run.logPath, run.logOffset)
      out = errors.internal(D, `${exitedWhat}: ${qemuOutput(log)}`)
    }
    if (dom.run === run) {
      dom.run = undefined
      dom.live = undefined
      dom.id = -1
    }
  }
  dom.state = DomainState.SHUTOFF
  dom.reason = run?.stopping === 'destroy' ? ShutoffReason.DESTROYED : ShutoffReason.FAILED
  if (transient && !dom.config) ctx.domains.remove(dom)
  return out
}

/** Runtime details QEMU decides: pty paths of serial ports (and the consoles showing them). */
/** Hands QEMU the VNC passwords (started with password=on), as libvirt does before the guest runs. */
async function setGraphicsPasswords(def: DomainDef, qmp: QmpClient): Promise<void> {
  for (const g of def.devices.graphics) {
    const password = attr(g.xml, 'passwd')
    if ((g.type !== 'vnc' && g.type !== 'spice') || password === undefined) continue
    await qmp.execute('set_password', {protocol: g.type, password})
    const validTo = attr(g.xml, 'passwdValidTo')
    const time = validTo ? `${Math.floor(Date.parse(validTo.endsWith('Z') ? validTo : `${validTo}Z`) / 1000)}` : 'never'
    await qmp.execute('expire_password', {protocol: g.type, time})
  }
}

async function fillRuntimeInfo(def: DomainDef, qmp: QmpClient): Promise<void> {
  // libvirt's aliases of the live XML: serial port N is serialN, and so is a console that shows it.
  for (const s of def.devices.serials) s.alias = `serial${s.targetPort ?? 0}`
  for (const c of def.devices.consoles) if (c.targetType === 'serial') c.alias = `serial${c.targetPort ?? 0}`
  if (!def.devices.serials.some((s) => s.type === 'pty')) return
  const chardevs = await qmp.execute<Array<{label: string; filename: string}>>('query-chardev')
  for (const s of def.devices.serials) {
    if (s.type !== 'pty') continue
    const port = s.targetPort ?? 0
    const cd = chardevs.find((c) => c.label === `charserial${port}`)
    if (!cd?.filename.startsWith('pty:')) continue
    s.path = cd.filename.slice(4)
    for (const c of def.devices.consoles) {
      if (c.targetType === 'serial' && (c.targetPort ?? 0) === port && c.type === 'pty') c.path = s.path
    }
  }
}
