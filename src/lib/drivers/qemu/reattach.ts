/**
 * After a daemon restart: finds every guest that outlived the previous daemon from its status
 * file (RUNDIR/qemu/NAME.json), checks the process is still that guest (pid, start time,
 * `-name guest=NAME`), reconnects to its monitor and takes up its state; guests that are gone,
 * never finished starting or do not answer are cleaned up and marked shut off.
 */
import * as fsp from 'node:fs/promises'
import {setTimeout as sleep} from 'node:timers/promises'
import {parseDomainXml, type DomainDef} from '../../conf/domain.js'
import {DomainState, PausedReason, RunningReason, ShutoffReason} from '../types.js'
import {newRun, noop, type QemuContext, type QemuDomain} from './context.js'
import type {GuestIdent} from './logd-lockd.js'
import {attachMonitor, ensureExit, fakeReboot} from './monitor.js'
import {reconcileDevices} from './hotplug-reattach.js'
import {cmdlineIsGuest, connectMonitor, pidRunning, readCmdline, signalPid} from './process.js'
import type {QmpClient} from './qmp.js'
import type {LiveStatus} from './state.js'

/** Reattaches to every guest with a status file; ids of new guests follow the largest found. */
export async function reattachAll(ctx: QemuContext): Promise<void> {
  for (const s of await ctx.store.readAllStatus()) {
    if (!s.status) {
      ctx.log.warn(`qemu: removing unreadable status file ${s.file}: ${s.error}`)
      await fsp.rm(s.file, {force: true})
      continue
    }
    const id = await reattach(ctx, s.status)
    if (id > 0) ctx.domains.reserveId(id)
  }
}

/** SIGKILLs a process we identified as ours and waits (briefly) until it is gone. */
async function killPid(pid: number, starttime: string): Promise<void> {
  if (!pidRunning(pid, starttime)) return
  signalPid(pid, 'SIGKILL')
  for (let i = 0; i < 500 && pidRunning(pid, starttime); i++) await sleep(10)
}

/** Reattaches to one guest from its status file; returns its id, or 0 when it is gone. */
async function reattach(ctx: QemuContext, st: LiveStatus): Promise<number> {
  const ident: GuestIdent = {name: st.name, uuid: st.uuid}
  const cleanup = async (why?: string) => {
    // Logs closed and locks released first: a daemon dying here finds the status file again.
    if (why !== undefined) await ctx.finish(ident, {pid: st.pid, logPath: st.log, logd: st.logd, lockd: st.lockd}, why)
    await ctx.store.removeStatus(st.name)
    await fsp.rm(st.monitor, {force: true}).catch(noop)
  }
  const ours = pidRunning(st.pid, st.pidStartTime) && cmdlineIsGuest(readCmdline(st.pid), st.name)
  let def: DomainDef | undefined
  try {
    def = parseDomainXml(st.xml)
  } catch (err) {
    ctx.log.warn(`qemu: status of '${st.name}' has an unreadable definition: ${(err as Error).message}`)
  }
  let dom: QemuDomain | undefined = ctx.domains.findByName(st.name)
  if (dom && dom.uuid !== st.uuid) {
    ctx.log.warn(`qemu: running guest '${st.name}' has uuid ${st.uuid} but its definition has ${dom.uuid}; treating it as transient`)
    dom = undefined
  }
  const markGone = async (reason: number, why: string) => {
    await cleanup(why)
    if (dom?.config) {
      dom.state = DomainState.SHUTOFF
      dom.reason = reason
    }
  }
  if (!ours || !def) {
    if (ours) await killPid(st.pid, st.pidStartTime)
    if (st.state === DomainState.SHUTDOWN) {
      // It was powering off when the previous daemon went away.
      ctx.log.info(`qemu: guest '${st.name}' (pid ${st.pid}) shut down while the daemon was away`)
      await markGone(ShutoffReason.SHUTDOWN, 'shutdown')
    } else {
      ctx.log.warn(`qemu: guest '${st.name}' (pid ${st.pid}) is no longer running; marking it shut off (crashed)`)
      await markGone(ShutoffReason.CRASHED, 'crashed')
    }
    return 0
  }
  if (st.phase === 'starting') {
    ctx.log.warn(`qemu: guest '${st.name}' (pid ${st.pid}) never finished starting; killing it`)
    await killPid(st.pid, st.pidStartTime)
    await markGone(ShutoffReason.FAILED, 'failed')
    return 0
  }
  let qmp: QmpClient | undefined
  let status: {status: string; running: boolean}
  try {
    qmp = await connectMonitor(st.monitor, () => pidRunning(st.pid, st.pidStartTime), 5000)
    status = await qmp.execute<{status: string; running: boolean}>('query-status', undefined, {timeoutMs: 5000})
  } catch (err) {
    qmp?.close()
    ctx.log.warn(`qemu: cannot reconnect to the monitor of '${st.name}' (pid ${st.pid}): ${(err as Error).message}; killing it`)
    await killPid(st.pid, st.pidStartTime)
    await markGone(ShutoffReason.CRASHED, 'crashed')
    return 0
  }

  if (!dom) {
    if (ctx.domains.findByUuid(def.uuid)) {
      ctx.log.warn(`qemu: guest '${st.name}' reuses uuid ${def.uuid}; killing it`)
      qmp.close()
      await killPid(st.pid, st.pidStartTime)
      await cleanup('crashed')
      return 0
    }
    dom = ctx.addDomain(def.name, def.uuid)
  }
  const run = newRun({
    pid: st.pid,
    starttime: st.pidStartTime,
    monitorPath: st.monitor,
    logPath: st.log,
    logd: st.logd,
    lockd: st.lockd,
    startedAtMs: st.startedAtMs,
    phase: 'running',
    rebootPending: st.rebootPending,
    graphicsPorts: st.graphicsPorts ?? [],
    argv: st.argv ?? [],
  })
  dom.live = def
  dom.id = st.id
  dom.run = run
  dom.updated = st.updated && dom.config !== undefined
  dom.lastExit = run.exited
  switch (status.status) {
    case 'running':
      dom.state = DomainState.RUNNING
      dom.reason = st.state === DomainState.RUNNING ? st.reason : RunningReason.UNPAUSED
      break
    case 'guest-panicked':
      dom.state = DomainState.CRASHED
      dom.reason = 1 // VIR_DOMAIN_CRASHED_PANICKED
      break
    case 'shutdown':
      dom.state = DomainState.SHUTDOWN
      dom.reason = 0
      run.gotShutdown = true
      break
    default:
      dom.state = DomainState.PAUSED
      dom.reason = st.state === DomainState.PAUSED ? st.reason : PausedReason.UNKNOWN
  }
  attachMonitor(ctx, dom, run, qmp)
  await reconcileDevices(ctx, dom, run, qmp)
  ctx.log.info(`qemu: reattached to guest '${dom.name}' (id ${dom.id}, pid ${run.pid}, ${status.status})`)
  if (status.status === 'shutdown') {
    // Powered off while we were away: a pending reboot completes, anything else ends.
    if (run.rebootPending || def.onPoweroff === 'restart') void fakeReboot(ctx, dom, run)
    else ensureExit(ctx, dom, run)
  }
  await ctx.saveStatus(dom)
  return dom.id
}
