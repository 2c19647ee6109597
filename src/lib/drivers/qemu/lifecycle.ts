/**
 * Stopping and pausing running guests: destroy (SIGTERM, then SIGKILL unless GRACEFUL), ACPI
 * shutdown and reboot (see monitor.ts for how a reboot completes), reset, suspend and resume.
 * Each runs as a job on its domain (context.ts withJob), except destroy, which must work while
 * another job hangs.
 */
import {ErrorCode, ErrorDomain, VirError, errors} from '../../errors.js'
import {DestroyFlags, DomainState, LifecycleEvent, PausedReason, ResumedDetail, RunningReason, SuspendedDetail} from '../types.js'
import {D, type QemuContext, type QemuDomain, type Run} from './context.js'
import {waitGone} from './exit.js'
import {signalPid} from './process.js'
import type {QmpClient} from './qmp.js'

/** VIR_DOMAIN_PAUSED_MIGRATION and VIR_DOMAIN_EVENT_SUSPENDED_MIGRATED. */
const MIGRATION_PAUSE = {reason: 2, detail: 1} as const

/** virDomainShutdownFlagValues / virDomainRebootFlagValues. */
export const ShutdownFlags = {ACPI_POWER_BTN: 1, GUEST_AGENT: 2, INITCTL: 4, SIGNAL: 8, PARAVIRT: 16} as const

export async function destroy(ctx: QemuContext, uuid: string, flags: number): Promise<void> {
  const dom = ctx.domains.get(uuid)
  const run = ctx.requireActive(dom)
  run.stopping = 'destroy'
  signalPid(run.pid, 'SIGTERM')
  if (!(await waitGone(ctx, dom, run, ctx.destroyGraceMs))) {
    if (flags & DestroyFlags.GRACEFUL) {
      throw new VirError(ErrorCode.SYSTEM_ERROR, D, `Failed to terminate process ${run.pid} with SIGTERM: Device or resource busy`, {
        str1: '%s',
        str2: `Failed to terminate process ${run.pid} with SIGTERM: Device or resource busy`,
      })
    }
    signalPid(run.pid, 'SIGKILL')
    if (!(await waitGone(ctx, dom, run, 10000))) {
      throw errors.systemError(D, `Failed to kill process ${run.pid} with SIGKILL: process still exists`)
    }
  }
  await run.exited
}

/** What shutdown and reboot check first: the guest runs, the flags are ones QEMU can do, a monitor. */
function poweringGuest(ctx: QemuContext, dom: QemuDomain, flags: number): {run: Run; qmp: QmpClient} {
  const run = ctx.requireActive(dom)
  checkShutdownFlags(flags)
  if (dom.state !== DomainState.RUNNING) throw errors.operationInvalid(ErrorDomain.DOMAIN, 'domain is not running')
  return {run, qmp: ctx.requireMonitor(run)}
}

export async function shutdown(ctx: QemuContext, uuid: string, flags: number): Promise<void> {
  const dom = ctx.domains.get(uuid)
  await ctx.withJob(dom, async () => {
    const {run, qmp} = poweringGuest(ctx, dom, flags)
    if (run.rebootPending) {
      run.rebootPending = false
      if (dom.live?.onPoweroff !== 'restart') await qmp.execute('set-action', {shutdown: 'poweroff'})
      await ctx.saveStatus(dom)
    }
    await qmp.execute('system_powerdown')
  })
}

export async function reboot(ctx: QemuContext, uuid: string, flags: number): Promise<void> {
  const dom = ctx.domains.get(uuid)
  await ctx.withJob(dom, async () => {
    const {run, qmp} = poweringGuest(ctx, dom, flags)
    if (dom.live?.onReboot === 'destroy') {
      // libvirt: "on_reboot setting overridden, shutting down".
      await qmp.execute('system_powerdown')
      return
    }
    if (!run.rebootPending) {
      run.rebootPending = true
      await ctx.saveStatus(dom)
      if (dom.live?.onPoweroff !== 'restart') await qmp.execute('set-action', {shutdown: 'pause'})
    }
    await qmp.execute('system_powerdown')
  })
}

export async function reset(ctx: QemuContext, uuid: string): Promise<void> {
  const dom = ctx.domains.get(uuid)
  await ctx.withJob(dom, async () => {
    const run = ctx.requireActive(dom)
    await ctx.requireMonitor(run).execute('system_reset')
  })
}

export async function suspend(ctx: QemuContext, uuid: string): Promise<void> {
  const dom = ctx.domains.get(uuid)
  await ctx.withJob(dom, async () => {
    const run = ctx.requireActive(dom)
    if (dom.state === DomainState.PAUSED) return
    if (dom.state !== DomainState.RUNNING) throw errors.operationInvalid(ErrorDomain.DOMAIN, 'domain is not running')
    const qmp = ctx.requireMonitor(run)
    // During an outgoing migration libvirt records the pause as the migration's (paused (migration), Suspended Migrated).
    const reason = run.migratingOut ? MIGRATION_PAUSE.reason : PausedReason.USER
    run.pauseReason = reason
    await qmp.execute('stop')
    if (dom.run === run && dom.state === DomainState.RUNNING) {
      dom.state = DomainState.PAUSED
      dom.reason = reason
      ctx.emitLifecycle(ctx.ref(dom), LifecycleEvent.SUSPENDED, run.migratingOut ? MIGRATION_PAUSE.detail : SuspendedDetail.PAUSED)
    }
    run.pauseReason = undefined
    await ctx.saveStatus(dom)
  })
}

export async function resume(ctx: QemuContext, uuid: string): Promise<void> {
  const dom = ctx.domains.get(uuid)
  await ctx.withJob(dom, async () => {
    const run = ctx.requireActive(dom)
    if (dom.state === DomainState.RUNNING) return
    if (dom.state !== DomainState.PAUSED && dom.state !== DomainState.CRASHED) {
      throw errors.operationInvalid(ErrorDomain.DOMAIN, 'domain is not paused')
    }
    await ctx.requireMonitor(run).execute('cont')
    if (dom.run === run && (dom.state as number) !== DomainState.RUNNING) {
      dom.state = DomainState.RUNNING
      dom.reason = RunningReason.UNPAUSED
      ctx.emitLifecycle(ctx.ref(dom), LifecycleEvent.RESUMED, ResumedDetail.UNPAUSED)
    }
    await ctx.saveStatus(dom)
  })
}

function checkShutdownFlags(flags: number): void {
  const known = ShutdownFlags.ACPI_POWER_BTN | ShutdownFlags.GUEST_AGENT | ShutdownFlags.INITCTL | ShutdownFlags.SIGNAL | ShutdownFlags.PARAVIRT
  if (flags & ~known) throw errors.invalidArg(D, `unsupported flags (0x${(flags & ~known).toString(16)}) in function qemuDomainShutdownFlags`)
  if (flags === 0 || flags & ShutdownFlags.ACPI_POWER_BTN) return
  if (flags & ShutdownFlags.GUEST_AGENT) {
    throw new VirError(ErrorCode.ARGUMENT_UNSUPPORTED, D, 'argument unsupported: QEMU guest agent is not configured', {
      str1: 'argument unsupported: %s',
      str2: 'QEMU guest agent is not configured',
    })
  }
  throw errors.configUnsupported(D, 'only the ACPI power button and guest agent methods are supported by the QEMU driver')
}
