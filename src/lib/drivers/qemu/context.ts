/**
 * What every part of the QEMU driver shares: the domain list, one guest's run (its QEMU process
 * and monitor), the state store, the probed QEMU, and the small helpers each concern uses (events,
 * status writes, per-domain jobs). The concerns live in their own files (start.ts, lifecycle.ts,
 * reattach.ts, monitor.ts, exit.ts, definitions.ts, stats.ts); driver.ts is the table over them.
 */
import type {StorageVolumes} from '../storage-vol-types.js'
import type {ChildProcess} from 'node:child_process'
import type {EventEmitter} from 'node:events'
import {formatDomainXml, parseDomainXml, type DomainDef} from '../../conf/domain.js'
import {DomainObjList, newDomainObj, type DomainObj} from '../../conf/domain-list.js'
import {ErrorDomain, errors} from '../../errors.js'
import type {DomainEventMsg, DomainRef, LogSink} from '../types.js'
import type {NetworkPorts} from '../network-port-types.js'
import type {QemuTarget} from './validate.js'
import type {QemuCaps} from './capabilities.js'
import type {HostFacts} from './host.js'
import type {GuestHelpers, GuestIdent, LockdUse, LogdUse, LogPos} from './logd-lockd.js'
import {appendLogLine, logLine} from './process.js'
import type {QmpClient} from './qmp.js'
import {STATUS_VERSION, type LiveStatus, type QemuStateStore} from './state.js'

export const D = ErrorDomain.QEMU

export function noop(): void {}

/** One run of a guest's QEMU process. */
export interface Run {
  pid: number
  starttime: string
  /** Set when this daemon spawned the process (not for reattached guests). */
  child?: ChildProcess
  qmp?: QmpClient
  monitorPath: string
  logPath: string
  logOffset: number
  /** The logs going through virtlogd (undefined: QEMU writes logPath itself). */
  logd?: LogdUse
  /** Where this run's output starts in the virtlogd-managed log (for start errors). */
  logPos?: LogPos
  /** The disk locks held in virtlockd for this run. */
  lockd?: LockdUse
  startedAtMs: number
  phase: 'starting' | 'running'
  /** Why we are ending the process ourselves. */
  stopping?: 'destroy' | 'crash' | 'save' | 'migrated'
  /** QEMU reported SHUTDOWN (guest powered off, or QEMU was asked to quit). */
  gotShutdown: boolean
  rebootPending: boolean
  fakeRebooting: boolean
  /** Reason to record for the next STOP event (set by suspend). */
  pauseReason?: number
  /** An outgoing migration's stream is running (a suspend meanwhile is libvirt's "paused (migration)"). */
  migratingOut?: boolean
  graphicsPorts: (number | undefined)[]
  argv: string[]
  balloonKiB?: number
  gone: boolean
  exited: Promise<void>
  resolveExited: () => void
  timers: Set<NodeJS.Timeout>
  polling: boolean
  saveChain: Promise<void>
}

/** The fields of a run that differ between a spawned and a reattached process. */
export type RunInit = Pick<Run, 'pid' | 'starttime' | 'monitorPath' | 'logPath' | 'startedAtMs' | 'phase' | 'graphicsPorts' | 'argv'> &
  Partial<Pick<Run, 'child' | 'logOffset' | 'logd' | 'logPos' | 'lockd' | 'rebootPending'>>

export function newRun(init: RunInit): Run {
  let resolveExited!: () => void
  const exited = new Promise<void>((r) => (resolveExited = r))
  return {
    logOffset: 0,
    rebootPending: false,
    ...init,
    gotShutdown: false,
    fakeRebooting: false,
    gone: false,
    exited,
    resolveExited,
    timers: new Set(),
    polling: false,
    saveChain: Promise.resolve(),
  }
}

/** A QEMU domain: the shared domain object plus its run. */
export interface QemuDomain extends DomainObj {
  run?: Run
  /** Serialises lifecycle jobs on this domain. */
  job: Promise<void>
  /** Completes when the last run's files are cleaned up (a new start waits for it). */
  lastExit: Promise<void>
}

export function cloneDef(def: DomainDef): DomainDef {
  return parseDomainXml(formatDomainXml(def, {secure: true}))
}

/** A definition without what QEMU chose at start (pty paths, automatic VNC ports), as libvirt formats inactive XML. */
export function inactiveCopy(def: DomainDef): DomainDef {
  const c = cloneDef(def)
  for (const chr of [...c.devices.serials, ...c.devices.consoles]) if (chr.type === 'pty') chr.path = undefined
  for (const g of c.devices.graphics) if (g.autoport) g.port = -1
  return c
}

/** The probed QEMU binary and host, filled in by QemuDriver.create. */
export interface QemuProbe {
  caps: QemuCaps
  /** The capabilities of the 32-bit sibling binaries (qemu-system-i386), for the hypervisor CPU APIs. */
  compat?: QemuCaps[]
  target: QemuTarget
  host: HostFacts
  capsXml: string
}

export class QemuContext {
  readonly domains = new DomainObjList<QemuDomain>(D)
  /** Set when the daemon stops: no more events, timers or monitor reactions. */
  closed = false
  probe!: QemuProbe
  /** The storage driver's volumes, for `<disk type='volume'>` (set by the daemon; absent: such disks fail to start). */
  volumes?: StorageVolumes
  /** Where `<interface type='network'>` gets its port (net-interface.ts). */
  networkPorts?: NetworkPorts

  constructor(
    readonly events: EventEmitter,
    readonly log: LogSink,
    readonly store: QemuStateStore,
    readonly helpers: GuestHelpers,
    readonly emulator: string,
    readonly destroyGraceMs: number,
  ) {}

  /** A new, inactive domain in the list. */
  addDomain(name: string, uuid: string): QemuDomain {
    return this.domains.add({...newDomainObj(name, uuid), job: Promise.resolve(), lastExit: Promise.resolve()})
  }

  ref(d: QemuDomain): DomainRef {
    return this.domains.ref(d)
  }

  emitLifecycle(ref: DomainRef, event: number, detail: number): void {
    if (this.closed) return
    this.events.emit('domain', {kind: 'lifecycle', dom: ref, event, detail} satisfies DomainEventMsg)
  }

  requireActive(d: QemuDomain): Run {
    if (!d.run) throw errors.operationInvalid(ErrorDomain.DOMAIN, 'domain is not running')
    return d.run
  }

  requireMonitor(run: Run): QmpClient {
    if (!run.qmp || run.qmp.closed) throw errors.operationFailed(D, 'QEMU monitor is not connected')
    return run.qmp
  }

  /** Runs `fn` after the domain's previous job (start, stop, ... never overlap on one domain). */
  async withJob<T>(d: QemuDomain, fn: () => Promise<T>): Promise<T> {
    const prev = d.job
    let release!: () => void
    d.job = new Promise<void>((r) => (release = r))
    await prev
    try {
      return await fn()
    } finally {
      release()
    }
  }

  /** A timer that belongs to a run (cleared when the run ends or the daemon stops). */
  addTimer(run: Run, ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      run.timers.delete(t)
      fn()
    }, ms)
    t.unref()
    run.timers.add(t)
  }

  /** Queues an atomic write of the live status (the latest state at write time). */
  saveStatus(d: QemuDomain): Promise<void> {
    const run = d.run
    if (!run || run.gone) return Promise.resolve()
    run.saveChain = run.saveChain
      .then(async () => {
        if (run.gone || d.run !== run) return
        await this.store.writeStatus(statusOf(d, run))
      })
      .catch((err: unknown) => this.log.warn(`qemu: cannot write status of '${d.name}': ${(err as Error).message}`))
    return run.saveChain
  }

  /** A run has ended: its logs are closed (virtlogd), the "shutting down" line written, locks released. */
  finish(ident: GuestIdent, run: {pid: number; logPath: string; logd?: LogdUse; lockd?: LockdUse}, why: string): Promise<void> {
    const text = `shutting down, reason=${why}`
    return this.helpers
      .finishRun(ident, run, logLine(text), (p) => appendLogLine(p, text))
      .catch((err: unknown) => this.log.warn(`qemu: cleaning up after '${ident.name}': ${(err as Error).message}`))
  }
}

function statusOf(d: QemuDomain, run: Run): LiveStatus {
  if (!d.live) throw new Error(`domain '${d.name}' has no live definition`)
  return {
    version: STATUS_VERSION,
    name: d.name,
    uuid: d.uuid,
    id: d.id,
    pid: run.pid,
    pidStartTime: run.starttime,
    monitor: run.monitorPath,
    log: run.logPath,
    startedAtMs: run.startedAtMs,
    phase: run.phase,
    state: d.state,
    reason: d.reason,
    persistent: d.config !== undefined,
    autostart: d.autostart,
    updated: d.updated,
    rebootPending: run.rebootPending,
    xml: formatDomainXml(d.live, {id: d.id, active: true, secure: true}),
    graphicsPorts: run.graphicsPorts,
    argv: run.argv,
    ...(run.logd ? {logd: run.logd} : {}),
    ...(run.lockd ? {lockd: run.lockd} : {}),
  }
}
