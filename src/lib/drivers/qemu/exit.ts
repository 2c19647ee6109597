/**
 * Noticing that a guest's QEMU process ended, however it ended: our child's 'exit' event, the
 * monitor closing followed by polling (reattached guests are not our children), a 1 s sweep as
 * the safety net. processGone records why it ended (shut off: shutdown, destroyed, crashed,
 * failed), emits the event and cleans up the run's files, logs and locks.
 */
import * as fsp from 'node:fs/promises'
import {dirname, join} from 'node:path'
import {DomainState, LifecycleEvent, ShutdownDetail, ShutoffReason, StoppedDetail} from '../types.js'
import {noop, type QemuContext, type QemuDomain, type Run} from './context.js'
import {pidRunning} from './process.js'
import {unplugInterfaces} from './net-interface.js'
import {removeGuest} from './cgroup.js'

/** The QEMU process of `run` has ended: record why, emit the event, remove its files. */
export function processGone(ctx: QemuContext, dom: QemuDomain, run: Run): void {
  if (run.gone) return
  run.gone = true
  for (const t of run.timers) clearTimeout(t)
  run.timers.clear()
  run.qmp?.close()
  run.child?.removeAllListeners('exit')
  let reason: number = ShutoffReason.CRASHED
  let detail: number = StoppedDetail.FAILED
  let why = 'crashed'
  if (run.stopping === 'destroy') {
    reason = ShutoffReason.DESTROYED
    detail = StoppedDetail.DESTROYED
    why = 'destroyed'
  } else if (run.stopping === 'save') {
    reason = ShutoffReason.SAVED
    detail = StoppedDetail.SAVED
    why = 'saved'
  } else if (run.stopping === 'migrated') {
    reason = ShutoffReason.MIGRATED
    detail = 3 // VIR_DOMAIN_EVENT_STOPPED_MIGRATED
    why = 'migrated'
  } else if (run.stopping === 'crash') {
    reason = ShutoffReason.CRASHED
    detail = StoppedDetail.CRASHED
  } else if (run.gotShutdown) {
    reason = ShutoffReason.SHUTDOWN
    detail = StoppedDetail.SHUTDOWN
    why = 'shutdown'
  }
  if (run.phase === 'starting') why = 'failed'
  const liveDef = dom.live
  if (run.phase === 'running' && dom.run === run) {
    const wasRef = ctx.ref(dom)
    if (run.stopping === 'destroy' && !run.gotShutdown) {
      // QEMU reports our SIGTERM (SHUTDOWN, host signal) before it exits, and libvirt passes it on;
      // when the exit is noticed before that event is read (or the grace ran out), it is still due.
      run.gotShutdown = true
      ctx.emitLifecycle(wasRef, LifecycleEvent.SHUTDOWN, ShutdownDetail.HOST)
    }
    dom.run = undefined
    dom.live = undefined
    dom.id = -1
    // libvirt's STOPPED event names the domain with id -1 after a stop it made (destroy, save, a
    // panic's destroy), and with the id it had when QEMU ended by itself (shutdown, crash).
    const ref = run.stopping ? ctx.ref(dom) : wasRef
    dom.state = DomainState.SHUTOFF
    dom.reason = reason
    dom.updated = false
    if (!dom.config) ctx.domains.remove(dom)
    if (why === 'crashed') ctx.log.warn(`qemu: guest '${dom.name}' (pid ${run.pid}) ended unexpectedly`)
    ctx.emitLifecycle(ref, LifecycleEvent.STOPPED, detail)
  }
  const name = dom.name
  void (async () => {
    await run.saveChain.catch(noop)
    // Logs closed and locks released before the status goes (a daemon dying in between
    // finds the status file and does it again); a new start waits for all of it (lastExit).
    await ctx.finish({name, uuid: dom.uuid}, run, why)
    void removeGuest(run.pid)
    await unplugInterfaces(ctx.networkPorts, liveDef).catch(noop)
    await ctx.store.removeStatus(name).catch(noop)
    await fsp.rm(run.monitorPath, {force: true}).catch(noop)
    await fsp.rm(join(dirname(run.monitorPath), 'channel', name), {recursive: true, force: true}).catch(noop)
  })().finally(() => run.resolveExited())
}

/** Polls until the process is gone (used once the monitor closed). */
export function pollGone(ctx: QemuContext, dom: QemuDomain, run: Run): void {
  if (run.polling || run.gone) return
  run.polling = true
  const since = Date.now()
  const tick = () => {
    if (run.gone || ctx.closed) return
    if (!pidRunning(run.pid, run.starttime)) {
      processGone(ctx, dom, run)
      return
    }
    ctx.addTimer(run, Date.now() - since < 3000 ? 5 : 250, tick)
  }
  tick()
}

/** Safety net: notices any guest whose process vanished without us hearing about it. */
export function sweep(ctx: QemuContext): void {
  if (ctx.closed) return
  for (const dom of ctx.domains.values()) {
    const run = dom.run
    if (run && !run.gone && run.phase === 'running' && !pidRunning(run.pid, run.starttime)) processGone(ctx, dom, run)
  }
}

/** Waits up to `ms` for the process to be gone; resolves whether it is. */
export async function waitGone(ctx: QemuContext, dom: QemuDomain, run: Run, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms
  let timer: NodeJS.Timeout | undefined
  try {
    while (!run.gone) {
      if (!pidRunning(run.pid, run.starttime)) {
        processGone(ctx, dom, run)
        break
      }
      const left = deadline - Date.now()
      if (left <= 0) return false
      await Promise.race([run.exited, new Promise<void>((r) => (timer = setTimeout(r, Math.min(10, left))))])
      if (timer) clearTimeout(timer)
    }
    return true
  } finally {
    if (timer) clearTimeout(timer)
  }
}
