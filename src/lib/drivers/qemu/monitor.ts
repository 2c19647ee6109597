/**
 * A running guest's QMP monitor and what its events mean: STOP/RESUME (paused, resumed),
 * SHUTDOWN (the guest powered off, or QEMU was asked to quit), RESET (reboot event),
 * GUEST_PANICKED (on_crash), BALLOON_CHANGE. Also the ACPI reboot libvirt calls "fake reboot":
 * QEMU's shutdown action is 'pause' meanwhile, so after the guest powers off we reset it and
 * continue the same process.
 */
import {
  DomainState,
  LifecycleEvent,
  PausedReason,
  ResumedDetail,
  RunningReason,
  ShutdownDetail,
  SuspendedDetail,
  type DomainEventMsg,
} from '../types.js'
import {noop, type QemuContext, type QemuDomain, type Run} from './context.js'
import {pollGone} from './exit.js'
import {signalPid} from './process.js'
import type {QmpClient, QmpEvent} from './qmp.js'

export function attachMonitor(ctx: QemuContext, dom: QemuDomain, run: Run, qmp: QmpClient): void {
  run.qmp = qmp
  qmp.on('event', (ev: QmpEvent) => onQmpEvent(ctx, dom, run, ev))
  qmp.on('close', () => {
    if (run.qmp === qmp) run.qmp = undefined
    if (!ctx.closed) pollGone(ctx, dom, run)
  })
}

function onQmpEvent(ctx: QemuContext, dom: QemuDomain, run: Run, ev: QmpEvent): void {
  ctx.log.debug(`qemu: ${dom.name}: QMP event ${ev.event} ${JSON.stringify(ev.data)}`)
  if (ctx.closed || run.gone || dom.run !== run || run.phase === 'starting') return
  switch (ev.event) {
    case 'SHUTDOWN':
      onShutdownEvent(ctx, dom, run, ev)
      break
    case 'STOP':
      if (run.fakeRebooting || run.gotShutdown || run.stopping) return
      if (dom.state === DomainState.RUNNING) {
        dom.state = DomainState.PAUSED
        dom.reason = run.pauseReason ?? PausedReason.UNKNOWN
        run.pauseReason = undefined
        // A migration's switch-over pauses with reason "migration" (2) and event detail "migrated" (1).
        ctx.emitLifecycle(ctx.ref(dom), LifecycleEvent.SUSPENDED, dom.reason === 2 ? 1 : SuspendedDetail.PAUSED)
        void ctx.saveStatus(dom)
      }
      break
    case 'RESUME':
      if (run.fakeRebooting || run.stopping) return
      if (dom.state === DomainState.PAUSED) {
        dom.state = DomainState.RUNNING
        dom.reason = RunningReason.UNPAUSED
        ctx.emitLifecycle(ctx.ref(dom), LifecycleEvent.RESUMED, ResumedDetail.UNPAUSED)
        void ctx.saveStatus(dom)
      }
      break
    case 'RESET':
      if (!ctx.closed) ctx.events.emit('domain', {kind: 'reboot', dom: ctx.ref(dom)} satisfies DomainEventMsg)
      break
    case 'GUEST_PANICKED':
      onPanic(ctx, dom, run)
      break
    case 'BALLOON_CHANGE': {
      const actual = Number(ev.data.actual)
      if (Number.isFinite(actual)) run.balloonKiB = Math.floor(actual / 1024)
      break
    }
  }
}

function onShutdownEvent(ctx: QemuContext, dom: QemuDomain, run: Run, ev: QmpEvent): void {
  if (run.gotShutdown) return
  const detail = ev.data.guest === true ? ShutdownDetail.GUEST : ev.data.guest === false ? ShutdownDetail.HOST : ShutdownDetail.FINISHED
  if (run.stopping) {
    // destroy: QEMU reports our SIGTERM, and libvirt passes it on; a save or crash stop is silent.
    if (run.stopping === 'destroy') {
      run.gotShutdown = true
      ctx.emitLifecycle(ctx.ref(dom), LifecycleEvent.SHUTDOWN, detail)
    }
    return
  }
  const why = typeof ev.data.reason === 'string' ? ev.data.reason : ''
  const hostQuit = why === 'host-signal' || why === 'host-qmp-quit' || why === 'host-ui'
  run.gotShutdown = true
  if (!hostQuit && (run.rebootPending || dom.live?.onPoweroff === 'restart')) {
    // The power-off of a reboot is transient: libvirt changes no state and sends no event for it.
    void fakeReboot(ctx, dom, run)
    return
  }
  dom.state = DomainState.SHUTDOWN
  dom.reason = 0
  ctx.emitLifecycle(ctx.ref(dom), LifecycleEvent.SHUTDOWN, detail)
  void ctx.saveStatus(dom)
  ensureExit(ctx, dom, run)
}

/** QEMU exits by itself after SHUTDOWN; if it lingers, ask it to quit, then kill it. */
export function ensureExit(ctx: QemuContext, dom: QemuDomain, run: Run): void {
  ctx.addTimer(run, 3000, () => {
    ctx.log.warn(`qemu: guest '${dom.name}' (pid ${run.pid}) is still running 3 s after SHUTDOWN; sending quit`)
    run.qmp?.execute('quit').catch(noop)
    ctx.addTimer(run, 3000, () => signalPid(run.pid, 'SIGKILL'))
  })
}

/** Completes an ACPI reboot: the guest powered off, QEMU paused (shutdown action 'pause'). */
export async function fakeReboot(ctx: QemuContext, dom: QemuDomain, run: Run): Promise<void> {
  run.fakeRebooting = true
  try {
    const qmp = ctx.requireMonitor(run)
    const reset = waitEvent(qmp, 'RESET', 5000)
    await qmp.execute('system_reset')
    await reset
    if (dom.live?.onPoweroff !== 'restart') await qmp.execute('set-action', {shutdown: 'poweroff'})
    await qmp.execute('cont')
    run.rebootPending = false
    run.gotShutdown = false
    if (dom.run === run) {
      // libvirt resumes the CPUs of a reboot as running (booted), without a lifecycle event (the
      // RESET gave 'reboot'), whatever the reason was before (e.g. unpaused after a resume).
      dom.state = DomainState.RUNNING
      dom.reason = RunningReason.BOOTED
      await ctx.saveStatus(dom)
    }
  } catch (err) {
    if (run.gone) return
    ctx.log.error(`qemu: reboot of '${dom.name}' failed: ${(err as Error).message}; stopping it`)
    run.gotShutdown = true
    signalPid(run.pid, 'SIGTERM')
    ensureExit(ctx, dom, run)
  } finally {
    run.fakeRebooting = false
  }
}

function onPanic(ctx: QemuContext, dom: QemuDomain, run: Run): void {
  const action = dom.live?.onCrash ?? 'destroy'
  ctx.emitLifecycle(ctx.ref(dom), LifecycleEvent.CRASHED, 0 /* PANICKED */)
  if (action === 'destroy' || action === 'coredump-destroy') {
    run.stopping = 'crash'
    signalPid(run.pid, 'SIGKILL')
    pollGone(ctx, dom, run)
  } else if (action === 'restart' || action === 'coredump-restart' || action === 'rename-restart') {
    void fakeReboot(ctx, dom, run)
  } else {
    dom.state = DomainState.CRASHED
    dom.reason = 1 // VIR_DOMAIN_CRASHED_PANICKED
    void ctx.saveStatus(dom)
  }
}

function waitEvent(qmp: QmpClient, name: string, timeoutMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const t = setTimeout(done, timeoutMs)
    function done(): void {
      clearTimeout(t)
      qmp.off('event', on)
      qmp.off('close', done)
      resolve()
    }
    function on(ev: QmpEvent): void {
      if (ev.event === name) done()
    }
    qmp.on('event', on)
    qmp.on('close', done)
  })
}
