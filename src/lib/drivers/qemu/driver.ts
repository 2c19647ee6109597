/**
 * The QEMU driver (qemu:///system, qemu:///session): runs real guests as detached QEMU processes
 * that outlive the daemon, talks to each over its own QMP monitor, keeps libvirt's states,
 * reasons and events, and persists definitions and live status on disk so that a restarted
 * daemon finds every running guest again.
 *
 * Design notes:
 *  - Start: QEMU always starts with -S (CPUs stopped); once the monitor answers we fill in
 *    runtime details (pty paths) and send `cont` unless asked to start paused.
 *  - Exit detection: our own children via ChildProcess 'exit'; reattached guests (whose parent
 *    is gone) via the monitor socket closing, then polling kill(pid, 0) + /proc/PID/stat
 *    (zombies count as gone, so we never wait for init to reap). A 1 s sweep is the safety net.
 *  - Shutdown: ACPI `system_powerdown`; the guest powers off, QEMU emits SHUTDOWN and exits on
 *    its own (no -no-shutdown), we see the exit: shut off (shutdown). If it lingers, `quit`.
 *  - Reboot (ACPI, like libvirt's "fake reboot"): `set-action shutdown=pause` then
 *    `system_powerdown`; when the guest powers off QEMU emits SHUTDOWN and pauses instead of
 *    exiting; we then `system_reset`, wait for RESET, restore `shutdown=poweroff` and `cont`:
 *    the same QEMU process boots the guest again.
 *  - Destroy: SIGTERM, SIGKILL after a grace period (never with GRACEFUL), resolves as soon as
 *    the process is gone.
 *  - virtlogd / virtlockd (logd-lockd.ts): when their sockets exist, QEMU's log and file serial
 *    ports go through virtlogd FIFOs (rollover), and disks are locked in virtlockd before QEMU
 *    starts; both are undone when the run ends, however it ends (and before `exited` resolves).
 */
import {matchDomain} from '../list-filter.js'
import type {LogSink} from '../../daemon/logging.js'
import {EventEmitter} from 'node:events'
import * as fs from 'node:fs'
import * as fsp from 'node:fs/promises'
import net from 'node:net'
import {hostname} from 'node:os'
import {setTimeout as sleep} from 'node:timers/promises'
import {ErrorCode, ErrorDomain, VirError, errors} from '../../errors.js'
import {checkVncPasswords, formatDomainXml, parseDomainXml, type DomainDef} from '../../conf/domain.js'
import type {DaemonPaths} from '../../daemon/paths.js'
import {driverStateDirs} from '../../daemon/paths.js'
import {
  CreateFlags,
  DefinedDetail,
  DestroyFlags,
  DomainState,
  LifecycleEvent,
  ListDomainsFlags as LF,
  PausedReason,
  ResumedDetail,
  RunningReason,
  ShutdownDetail,
  ShutoffReason,
  StartedDetail,
  StoppedDetail,
  SuspendedDetail,
  UndefinedDetail,
  XmlFlags,
  type DomainEventMsg,
  type DomainInfo,
  type DomainRef,
  type DomainStats,
  type HypervisorDriver,
  type NodeInfo,
} from '../types.js'
import {applyQemuDefaults, buildQemuArgv, fileChardevs, hasVirtioBalloon, validateForQemu, type QemuTarget} from './argv.js'
import {
  buildCapabilitiesXml,
  errnoText,
  kvmUsable,
  loadQemuCaps,
  nodeFreeMemoryBytes,
  readHostFacts,
  type HostFacts,
  type QemuCaps,
} from './capabilities.js'
import {
  appendLogLine,
  cmdlineIsGuest,
  connectMonitor,
  cpuTimeNs,
  MonitorGoneError,
  pidRunning,
  readCmdline,
  readLogSince,
  readProcStat,
  clockTicks,
  logLine,
  qemuLogHeader,
  signalPid,
  spawnQemu,
} from './process.js'
import {
  acquireLocks,
  appendThroughLogd,
  closeLogs,
  diskLocks,
  finishRun,
  helperSockets,
  openFifo,
  openLogs,
  readLogdSince,
  releaseLocks,
  useVirtlockd,
  useVirtlogd,
  type GuestIdent,
  type LockdUse,
  type LogdUse,
  type OpenedLogs,
} from './logd-lockd.js'
import type {QmpClient} from './qmp.js'
import {type QmpEvent} from './qmp.js'
import {QemuStateStore, STATUS_VERSION, type LiveStatus} from './state.js'

export const DEFAULT_EMULATOR = '/usr/bin/qemu-system-x86_64'

const D = ErrorDomain.QEMU

/** virDomainShutdownFlagValues / virDomainRebootFlagValues. */
export const ShutdownFlags = {ACPI_POWER_BTN: 1, GUEST_AGENT: 2, INITCTL: 4, SIGNAL: 8, PARAVIRT: 16} as const

export type QemuDriverLog = LogSink

export interface QemuDriverOptions {
  paths: DaemonPaths
  log: QemuDriverLog
  /** QEMU binary (default /usr/bin/qemu-system-x86_64). */
  emulator?: string
  /** Overrides KVM detection (tests). */
  kvm?: boolean
  /** SIGTERM -> SIGKILL grace period of destroy, in ms (default 1500). */
  destroyGraceMs?: number
  /** virtlogd's socket (default: the one for paths' root and mode; null: never use virtlogd). */
  virtlogdSocket?: string | null
  /** virtlockd's socket (default: the one for paths' root and mode; null: never use virtlockd). */
  virtlockdSocket?: string | null
}

interface Run {
  pid: number
  starttime: string
  /** Set when this daemon spawned the process (not for reattached guests). */
  child?: import('node:child_process').ChildProcess
  qmp?: QmpClient
  monitorPath: string
  logPath: string
  logOffset: number
  /** The logs going through virtlogd (undefined: QEMU writes logPath itself). */
  logd?: LogdUse
  /** Where this run's output starts in the virtlogd-managed log (for start errors). */
  logPos?: {inode: bigint; offset: bigint}
  /** The disk locks held in virtlockd for this run. */
  lockd?: LockdUse
  startedAtMs: number
  phase: 'starting' | 'running'
  /** Why we are ending the process ourselves. */
  stopping?: 'destroy' | 'crash'
  /** QEMU reported SHUTDOWN (guest powered off, or QEMU was asked to quit). */
  gotShutdown: boolean
  rebootPending: boolean
  fakeRebooting: boolean
  /** Reason to record for the next STOP event (set by suspend). */
  pauseReason?: number
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

interface QemuDomain {
  name: string
  uuid: string
  /** Persistent definition; undefined for a transient domain. */
  config?: DomainDef
  /** Live definition while active. */
  live?: DomainDef
  /** The persistent definition changed while the domain ran. */
  updated: boolean
  autostart: boolean
  id: number
  state: number
  reason: number
  run?: Run
  /** Serialises lifecycle jobs on this domain. */
  job: Promise<void>
  /** Completes when the last run's files are cleaned up (a new start waits for it). */
  lastExit: Promise<void>
}

function cloneDef(def: DomainDef): DomainDef {
  return parseDomainXml(formatDomainXml(def, {secure: true}))
}

function noop(): void {}

/** A definition without what QEMU chose at start (pty paths, automatic VNC ports), as libvirt formats inactive XML. */
function inactiveCopy(def: DomainDef): DomainDef {
  const c = cloneDef(def)
  for (const chr of [...c.devices.serials, ...c.devices.consoles]) if (chr.type === 'pty') chr.path = undefined
  for (const g of c.devices.graphics) if (g.autoport) g.port = -1
  return c
}

export class QemuDriver implements HypervisorDriver {
  readonly name = 'qemu'
  readonly type = 'QEMU'
  readonly events = new EventEmitter()
  readonly emulator: string
  private readonly paths: DaemonPaths
  private readonly log: QemuDriverLog
  private readonly store: QemuStateStore
  private readonly domains = new Map<string, QemuDomain>()
  private readonly byName = new Map<string, QemuDomain>()
  private nextId = 1
  private caps!: QemuCaps
  private target!: QemuTarget
  private host!: HostFacts
  private capsXml = ''
  private closed = false
  private sweepTimer?: NodeJS.Timeout
  private readonly kvmOverride?: boolean
  private readonly destroyGraceMs: number
  /** virtlogd / virtlockd sockets to look for at each start (see logd-lockd.ts). */
  private readonly helpers: {virtlogd?: string; virtlockd?: string}

  private constructor(opts: QemuDriverOptions) {
    this.events.setMaxListeners(0)
    this.paths = opts.paths
    this.log = opts.log
    this.emulator = opts.emulator ?? DEFAULT_EMULATOR
    this.store = new QemuStateStore(driverStateDirs(opts.paths, 'qemu'))
    this.kvmOverride = opts.kvm
    this.destroyGraceMs = opts.destroyGraceMs ?? 1500
    const socks = helperSockets(opts.paths)
    this.helpers = {
      virtlogd: opts.virtlogdSocket === undefined ? socks.virtlogd : (opts.virtlogdSocket ?? undefined),
      virtlockd: opts.virtlockdSocket === undefined ? socks.virtlockd : (opts.virtlockdSocket ?? undefined),
    }
  }

  /** Probes QEMU (cached), loads persistent definitions and reattaches to running guests. */
  static async create(opts: QemuDriverOptions): Promise<QemuDriver> {
    const drv = new QemuDriver(opts)
    await drv.init()
    return drv
  }

  private async init(): Promise<void> {
    await this.store.init()
    clockTicks()
    this.caps = await loadQemuCaps(this.emulator, `${this.paths.cacheDir}/qemu/capabilities`, this.log)
    const kvm = this.kvmOverride ?? kvmUsable(this.caps)
    this.target = {
      emulator: this.emulator,
      arch: this.caps.arch,
      machines: this.caps.machines,
      cpuModels: this.caps.cpuModels,
      kvm,
      sandbox: this.caps.sandbox,
    }
    if (!this.caps.sandbox) this.log.info(`qemu: ${this.emulator} has no seccomp support; guests run without -sandbox`)
    this.host = readHostFacts()
    this.capsXml = buildCapabilitiesXml(this.caps, this.host, kvm)

    // Persistent definitions.
    for (const c of await this.store.readAllConfigs()) {
      if (c.error || c.xml === undefined) {
        this.log.warn(`qemu: cannot read ${c.file}: ${c.error}`)
        continue
      }
      let def: DomainDef
      try {
        def = parseDomainXml(c.xml)
      } catch (err) {
        this.log.warn(`qemu: ignoring ${c.file}: ${(err as Error).message}`)
        continue
      }
      if (def.name !== c.name) {
        this.log.warn(`qemu: ignoring ${c.file}: it defines domain '${def.name}'`)
        continue
      }
      if (this.domains.has(def.uuid)) {
        this.log.warn(`qemu: ignoring ${c.file}: uuid ${def.uuid} is already used by '${this.domains.get(def.uuid)!.name}'`)
        continue
      }
      applyQemuDefaults(def, this.target)
      const dom = this.addDomain(def.name, def.uuid)
      dom.config = def
      dom.autostart = this.store.isAutostart(def.name)
    }

    // Running guests.
    let maxId = 0
    for (const s of await this.store.readAllStatus()) {
      if (!s.status) {
        this.log.warn(`qemu: removing unreadable status file ${s.file}: ${s.error}`)
        await fsp.rm(s.file, {force: true})
        continue
      }
      const id = await this.reattach(s.status)
      if (id > maxId) maxId = id
    }
    this.nextId = maxId + 1

    this.sweepTimer = setInterval(() => this.sweep(), 1000)
    this.sweepTimer.unref()
  }

  /** Reattaches to one guest from its status file; returns its id, or 0 when it is gone. */
  private async reattach(st: LiveStatus): Promise<number> {
    const ident: GuestIdent = {name: st.name, uuid: st.uuid}
    const cleanup = async (why?: string) => {
      // Logs closed and locks released first: a daemon dying here finds the status file again.
      if (why !== undefined) await this.finish(ident, {pid: st.pid, logPath: st.log, logd: st.logd, lockd: st.lockd}, why)
      await this.store.removeStatus(st.name)
      await fsp.rm(st.monitor, {force: true}).catch(noop)
    }
    const ours = pidRunning(st.pid, st.pidStartTime) && cmdlineIsGuest(readCmdline(st.pid), st.name)
    let def: DomainDef | undefined
    try {
      def = parseDomainXml(st.xml)
    } catch (err) {
      this.log.warn(`qemu: status of '${st.name}' has an unreadable definition: ${(err as Error).message}`)
    }
    let dom = this.byName.get(st.name)
    if (dom && dom.uuid !== st.uuid) {
      this.log.warn(`qemu: running guest '${st.name}' has uuid ${st.uuid} but its definition has ${dom.uuid}; treating it as transient`)
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
      if (ours) await this.killPid(st.pid, st.pidStartTime)
      if (st.state === DomainState.SHUTDOWN) {
        // It was powering off when the previous daemon went away.
        this.log.info(`qemu: guest '${st.name}' (pid ${st.pid}) shut down while the daemon was away`)
        await markGone(ShutoffReason.SHUTDOWN, 'shutdown')
      } else {
        this.log.warn(`qemu: guest '${st.name}' (pid ${st.pid}) is no longer running; marking it shut off (crashed)`)
        await markGone(ShutoffReason.CRASHED, 'crashed')
      }
      return 0
    }
    if (st.phase === 'starting') {
      this.log.warn(`qemu: guest '${st.name}' (pid ${st.pid}) never finished starting; killing it`)
      await this.killPid(st.pid, st.pidStartTime)
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
      this.log.warn(`qemu: cannot reconnect to the monitor of '${st.name}' (pid ${st.pid}): ${(err as Error).message}; killing it`)
      await this.killPid(st.pid, st.pidStartTime)
      await markGone(ShutoffReason.CRASHED, 'crashed')
      return 0
    }

    if (!dom) {
      if (this.domains.has(def.uuid)) {
        this.log.warn(`qemu: guest '${st.name}' reuses uuid ${def.uuid}; killing it`)
        qmp.close()
        await this.killPid(st.pid, st.pidStartTime)
        await cleanup('crashed')
        return 0
      }
      dom = this.addDomain(def.name, def.uuid)
    }
    let resolveExited!: () => void
    const exited = new Promise<void>((r) => (resolveExited = r))
    const run: Run = {
      pid: st.pid,
      starttime: st.pidStartTime,
      monitorPath: st.monitor,
      logPath: st.log,
      logOffset: 0,
      logd: st.logd,
      lockd: st.lockd,
      startedAtMs: st.startedAtMs,
      phase: 'running',
      gotShutdown: false,
      rebootPending: st.rebootPending,
      fakeRebooting: false,
      graphicsPorts: st.graphicsPorts ?? [],
      argv: st.argv ?? [],
      gone: false,
      exited,
      resolveExited,
      timers: new Set(),
      polling: false,
      saveChain: Promise.resolve(),
    }
    dom.live = def
    dom.id = st.id
    dom.run = run
    dom.updated = st.updated && dom.config !== undefined
    dom.lastExit = exited
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
    this.attachMonitor(dom, run, qmp)
    this.log.info(`qemu: reattached to guest '${dom.name}' (id ${dom.id}, pid ${run.pid}, ${status.status})`)
    if (status.status === 'shutdown') {
      // Powered off while we were away: a pending reboot completes, anything else ends.
      if (run.rebootPending || def.onPoweroff === 'restart') void this.fakeReboot(dom, run)
      else this.ensureExit(dom, run)
    }
    await this.saveStatus(dom)
    return dom.id
  }

  /** SIGKILLs a process we identified as ours and waits (briefly) until it is gone. */
  private async killPid(pid: number, starttime: string): Promise<void> {
    if (!pidRunning(pid, starttime)) return
    signalPid(pid, 'SIGKILL')
    for (let i = 0; i < 500 && pidRunning(pid, starttime); i++) await sleep(10)
  }

  /** Starts every inactive persistent guest marked autostart (the daemon calls this once). */
  async autostart(): Promise<void> {
    for (const dom of [...this.domains.values()]) {
      if (!dom.autostart || !dom.config || dom.run) continue
      try {
        await this.create(dom.uuid, 0)
        this.log.info(`qemu: autostarted guest '${dom.name}'`)
      } catch (err) {
        this.log.error(`qemu: failed to autostart guest '${dom.name}': ${(err as Error).message}`)
      }
    }
  }

  /** Closes the monitors; guests keep running (they outlive the daemon). */
  async shutdownDriver(): Promise<void> {
    this.closed = true
    if (this.sweepTimer) clearInterval(this.sweepTimer)
    const waits: Promise<void>[] = []
    for (const dom of this.domains.values()) {
      const run = dom.run
      if (!run) continue
      for (const t of run.timers) clearTimeout(t)
      run.timers.clear()
      run.child?.removeAllListeners('exit')
      waits.push(run.saveChain.catch(noop))
      if (run.qmp) waits.push(run.qmp.closeAndWait())
    }
    await Promise.all(waits)
  }

  // ---- connection-level facts -------------------------------------------------------------

  canonicalUri(_path: string): string {
    return `qemu:///${this.paths.mode}`
  }

  checkUriPath(path: string): void {
    if (path !== `/${this.paths.mode}`) {
      throw new VirError(
        ErrorCode.NO_CONNECT,
        D,
        `no connection driver available for qemu://${path}: this daemon serves qemu:///${this.paths.mode} only`,
        {str1: 'no connection driver available for %s', str2: `qemu://${path}`},
      )
    }
  }

  getVersion(): bigint {
    return BigInt(this.caps.versionNumber)
  }

  getHostname(): string {
    return hostname()
  }

  getCapabilities(): string {
    return this.capsXml
  }

  getMaxVcpus(type: string | null): number {
    if (type === null || type.toLowerCase() === 'qemu') return 16
    if (type.toLowerCase() === 'kvm') {
      const m = this.caps.machines.find((x) => x.isDefault) ?? this.caps.machines[0]
      return m?.maxCpus ?? 255
    }
    throw errors.invalidArg(D, `unknown type '${type}'`)
  }

  nodeInfo(): NodeInfo {
    return this.host.node
  }

  nodeFreeMemory(): bigint {
    return nodeFreeMemoryBytes()
  }

  securityModel(): {model: string; doi: string} {
    return {model: 'none', doi: '0'}
  }

  hasActiveDomains(): boolean {
    for (const d of this.domains.values()) if (d.run) return true
    return false
  }

  /** The QEMU capabilities this driver probed. */
  qemuCapabilities(): Readonly<QemuCaps> {
    return this.caps
  }

  /** The pid of a running guest's QEMU (undefined when inactive). */
  domainPid(uuid: string): number | undefined {
    return this.get(uuid).run?.pid
  }

  /** The log file of a guest (QEMU's stdout/stderr). */
  domainLogPath(uuid: string): string {
    return this.store.logPath(this.get(uuid).name)
  }

  // ---- domain bookkeeping -----------------------------------------------------------------

  private addDomain(name: string, uuid: string): QemuDomain {
    const d: QemuDomain = {
      name,
      uuid,
      updated: false,
      autostart: false,
      id: -1,
      state: DomainState.SHUTOFF,
      reason: ShutoffReason.UNKNOWN,
      job: Promise.resolve(),
      lastExit: Promise.resolve(),
    }
    this.domains.set(uuid, d)
    this.byName.set(name, d)
    return d
  }

  private removeDomain(d: QemuDomain): void {
    if (this.domains.get(d.uuid) === d) this.domains.delete(d.uuid)
    if (this.byName.get(d.name) === d) this.byName.delete(d.name)
  }

  private ref(d: QemuDomain): DomainRef {
    return {name: d.name, uuid: d.uuid, id: d.id}
  }

  private def(d: QemuDomain): DomainDef {
    return (d.live ?? d.config)!
  }

  private emitLifecycle(ref: DomainRef, event: number, detail: number): void {
    if (this.closed) return
    this.events.emit('domain', {kind: 'lifecycle', dom: ref, event, detail} satisfies DomainEventMsg)
  }

  private get(uuid: string): QemuDomain {
    const d = this.domains.get(uuid.toLowerCase())
    if (!d) throw errors.noDomain(D, `no domain with matching uuid '${uuid}'`)
    return d
  }

  private requireActive(d: QemuDomain): Run {
    if (!d.run) throw errors.operationInvalid(ErrorDomain.DOMAIN, 'domain is not running')
    return d.run
  }

  private requireMonitor(run: Run): QmpClient {
    if (!run.qmp || run.qmp.closed) throw errors.operationFailed(D, 'QEMU monitor is not connected')
    return run.qmp
  }

  private async withJob<T>(d: QemuDomain, fn: () => Promise<T>): Promise<T> {
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

  private statusOf(d: QemuDomain, run: Run): LiveStatus {
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
      xml: formatDomainXml(d.live!, {id: d.id, active: true, secure: true}),
      graphicsPorts: run.graphicsPorts,
      argv: run.argv,
      ...(run.logd ? {logd: run.logd} : {}),
      ...(run.lockd ? {lockd: run.lockd} : {}),
    }
  }

  /** A run has ended: its logs are closed (virtlogd), the "shutting down" line written, locks released. */
  private finish(ident: GuestIdent, run: {pid: number; logPath: string; logd?: LogdUse; lockd?: LockdUse}, why: string): Promise<void> {
    const text = `shutting down, reason=${why}`
    return finishRun(ident, run, logLine(text), (p) => appendLogLine(p, text), this.log).catch((err: Error) =>
      this.log.warn(`qemu: cleaning up after '${ident.name}': ${err.message}`),
    )
  }

  /** Queues an atomic write of the live status (the latest state at write time). */
  private saveStatus(d: QemuDomain): Promise<void> {
    const run = d.run
    if (!run || run.gone) return Promise.resolve()
    run.saveChain = run.saveChain
      .then(async () => {
        if (run.gone || d.run !== run) return
        await this.store.writeStatus(this.statusOf(d, run))
      })
      .catch((err: Error) => this.log.warn(`qemu: cannot write status of '${d.name}': ${err.message}`))
    return run.saveChain
  }

  private parse(xml: string): DomainDef {
    const def = parseDomainXml(xml)
    checkVncPasswords(def)
    applyQemuDefaults(def, this.target)
    if (def.devices.emulator !== undefined && def.devices.emulator !== this.emulator) {
      let same = false
      try {
        same = fs.realpathSync(def.devices.emulator) === fs.realpathSync(this.emulator)
      } catch (err) {
        throw new VirError(ErrorCode.SYSTEM_ERROR, D, `Cannot check QEMU binary ${def.devices.emulator}: ${errnoText(err as NodeJS.ErrnoException)}`)
      }
      if (!same) throw errors.configUnsupported(D, `Emulator '${def.devices.emulator}' is not supported by this daemon (it runs ${this.emulator})`)
    }
    validateForQemu(def, this.target)
    return def
  }

  /** A domain clashing with a new definition: same name other uuid, or same uuid other name. */
  private checkClash(def: DomainDef): QemuDomain | undefined {
    const byUuid = this.domains.get(def.uuid)
    if (byUuid) {
      if (byUuid.name !== def.name) {
        throw errors.operationFailed(D, `domain '${byUuid.name}' is already defined with uuid ${def.uuid}`)
      }
      return byUuid
    }
    const byName = this.byName.get(def.name)
    if (byName) throw errors.operationFailed(D, `domain '${def.name}' already exists with uuid ${byName.uuid}`)
    return undefined
  }

  // ---- listing and lookup -----------------------------------------------------------------

  private matches(d: QemuDomain, flags: number): boolean {
    return matchDomain({state: d.state, persistent: d.config !== undefined, autostart: d.autostart}, flags, d.run !== undefined)
  }

  listDomains(flags: number): DomainRef[] {
    const out: DomainRef[] = []
    for (const d of this.domains.values()) if (this.matches(d, flags)) out.push(this.ref(d))
    return out
  }

  numOfDomains(active: boolean): number {
    let n = 0
    for (const d of this.domains.values()) if ((d.run !== undefined) === active) n++
    return n
  }

  lookupById(id: number): DomainRef {
    for (const d of this.domains.values()) if (d.run && d.id === id) return this.ref(d)
    throw errors.noDomain(D, `no domain with matching id ${id}`)
  }

  lookupByName(name: string): DomainRef {
    const d = this.byName.get(name)
    if (!d) throw errors.noDomain(D, `no domain with matching name '${name}'`)
    return this.ref(d)
  }

  lookupByUuid(uuid: string): DomainRef {
    return this.ref(this.get(uuid))
  }

  // ---- definitions ------------------------------------------------------------------------

  async defineXML(xml: string): Promise<DomainRef> {
    const def = this.parse(xml)
    const existing = this.checkClash(def)
    const dom = existing ?? this.addDomain(def.name, def.uuid)
    const wasPersistent = dom.config !== undefined
    try {
      await this.store.writeConfig(def.name, formatDomainXml(def, {secure: true}))
    } catch (err) {
      if (!existing) this.removeDomain(dom)
      throw errors.systemError(D, `cannot write definition of '${def.name}': ${(err as Error).message}`)
    }
    dom.config = def
    if (dom.run) {
      dom.updated = true
      void this.saveStatus(dom)
    }
    this.emitLifecycle(this.ref(dom), LifecycleEvent.DEFINED, wasPersistent ? DefinedDetail.UPDATED : DefinedDetail.ADDED)
    return this.ref(dom)
  }

  async undefine(uuid: string): Promise<void> {
    const dom = this.get(uuid)
    if (!dom.config) throw errors.operationInvalid(ErrorDomain.DOMAIN, 'cannot undefine transient domain')
    await this.store.removeConfig(dom.name)
    dom.config = undefined
    dom.autostart = false
    dom.updated = false
    this.emitLifecycle(this.ref(dom), LifecycleEvent.UNDEFINED, UndefinedDetail.REMOVED)
    if (dom.run) void this.saveStatus(dom)
    else this.removeDomain(dom)
  }

  getXMLDesc(uuid: string, flags: number): string {
    const d = this.get(uuid)
    const secure = (flags & (XmlFlags.SECURE | XmlFlags.MIGRATABLE)) !== 0 // libvirt's QEMU driver: migratable XML keeps passwords
    if (flags & XmlFlags.INACTIVE) return formatDomainXml(d.config ?? inactiveCopy(this.def(d)), {active: false, secure})
    if (d.live) return formatDomainXml(d.live, {id: d.id, active: true, secure})
    return formatDomainXml(this.def(d), {active: false, secure})
  }

  getAutostart(uuid: string): boolean {
    return this.get(uuid).autostart
  }

  async setAutostart(uuid: string, on: boolean): Promise<void> {
    const d = this.get(uuid)
    if (!d.config) throw errors.operationInvalid(ErrorDomain.DOMAIN, 'cannot set autostart for transient domain')
    if (d.autostart === on) return
    try {
      await this.store.setAutostart(d.name, on)
    } catch (err) {
      throw errors.systemError(D, `Failed to ${on ? 'create' : 'delete'} symlink '${this.store.autostartPath(d.name)}': ${(err as Error).message}`)
    }
    d.autostart = on
    if (d.run) void this.saveStatus(d)
  }

  isActive(uuid: string): boolean {
    return this.get(uuid).run !== undefined
  }

  isPersistent(uuid: string): boolean {
    return this.get(uuid).config !== undefined
  }

  isUpdated(uuid: string): boolean {
    return this.get(uuid).updated
  }

  hasManagedSave(uuid: string): boolean {
    this.get(uuid)
    return false
  }

  getMessages(uuid: string): string[] {
    this.get(uuid)
    return []
  }

  getOSType(uuid: string): string {
    return this.def(this.get(uuid)).os.type
  }

  getMaxMemory(uuid: string): bigint {
    return BigInt(this.def(this.get(uuid)).memoryKiB)
  }

  domainGetMaxVcpus(uuid: string): number {
    return this.def(this.get(uuid)).vcpus
  }

  getState(uuid: string): {state: number; reason: number} {
    const d = this.get(uuid)
    return {state: d.state, reason: d.reason}
  }

  // ---- starting ---------------------------------------------------------------------------

  async createXML(xml: string, flags: number): Promise<DomainRef> {
    const def = this.parse(xml)
    const existing = this.checkClash(def)
    if (existing?.run) throw errors.operationInvalid(ErrorDomain.DOMAIN, `domain '${def.name}' is already active`)
    const dom = existing ?? this.addDomain(def.name, def.uuid)
    await this.withJob(dom, async () => {
      if (dom.run) throw errors.operationInvalid(ErrorDomain.DOMAIN, `domain '${def.name}' is already active`)
      await this.startDomain(dom, def, (flags & CreateFlags.PAUSED) !== 0)
    })
    return this.ref(dom)
  }

  async create(uuid: string, flags: number): Promise<DomainRef> {
    const dom = this.get(uuid)
    await this.withJob(dom, async () => {
      if (dom.run) throw errors.operationInvalid(ErrorDomain.DOMAIN, 'domain is already running')
      if (!dom.config) throw errors.operationInvalid(ErrorDomain.DOMAIN, 'domain is not persistent')
      await this.startDomain(dom, cloneDef(dom.config), (flags & CreateFlags.PAUSED) !== 0)
    })
    return this.ref(dom)
  }

  private async allocateGraphicsPorts(def: DomainDef): Promise<(number | undefined)[]> {
    if (def.devices.graphics.length === 0) return []
    const used = new Set<number>()
    for (const d of this.domains.values()) for (const p of d.run?.graphicsPorts ?? []) if (p !== undefined) used.add(p)
    const out: (number | undefined)[] = []
    for (const g of def.devices.graphics) {
      if (g.port !== undefined && g.port >= 5900 && !g.autoport) {
        out.push(g.port)
        used.add(g.port)
        continue
      }
      let port = 5900
      while (port < 65536 && (used.has(port) || !(await canBind(port, g.listen ?? '127.0.0.1')))) port++
      if (port >= 65536) throw errors.internal(D, 'Unable to find an unused port in range 5900-65535')
      used.add(port)
      out.push(port)
    }
    return out
  }

  private async checkDiskSources(def: DomainDef): Promise<void> {
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

  /** Starts `def` as the live definition of `dom` (caller holds the job). */
  private async startDomain(dom: QemuDomain, def: DomainDef, paused: boolean): Promise<void> {
    await dom.lastExit
    const transient = dom.config === undefined
    try {
      validateForQemu(def, this.target)
      await this.checkDiskSources(def)
    } catch (err) {
      if (transient) this.removeDomain(dom)
      throw err
    }
    const id = this.nextId++
    const ident: GuestIdent = {name: def.name, uuid: dom.uuid}
    let run: Run | undefined
    let logd: LogdUse | undefined
    let lockd: LockdUse | undefined
    let outFd: number | undefined
    try {
      const graphicsPorts = await this.allocateGraphicsPorts(def)
      graphicsPorts.forEach((p, i) => {
        if (p !== undefined) def.devices.graphics[i].port = p
      })
      const monitorPath = this.store.monitorPath(def.name, id)
      if (Buffer.byteLength(monitorPath) > 107) throw errors.internal(D, `UNIX socket path '${monitorPath}' too long`)
      await fsp.rm(monitorPath, {force: true})
      // Disk locks first: a guest refused for a busy disk leaves its logs alone.
      const locks = diskLocks(def)
      const lockSock = this.helpers.virtlockd && locks.length > 0 ? await useVirtlockd(this.helpers.virtlockd) : undefined
      if (lockSock) {
        await acquireLocks(lockSock, ident, 0, locks)
        lockd = {socket: lockSock}
      }
      const logPath = this.store.logPath(def.name)
      const logSock = this.helpers.virtlogd ? await useVirtlogd(this.helpers.virtlogd, this.log) : undefined
      let opened: OpenedLogs | undefined
      if (logSock) {
        opened = await openLogs(logSock, ident, fileChardevs(def), logPath)
        logd = opened.use
      }
      const argv = buildQemuArgv(def, {
        emulator: this.emulator,
        monitorPath,
        sandbox: this.caps.sandbox,
        graphicsPorts,
        chardevFifos: opened?.chardevFifos,
      })
      const headerExtra = `, domain ${def.name} (id ${id})`
      let logPos: Run['logPos']
      if (opened) {
        logPos = await appendThroughLogd(opened.use.socket, ident, logPath, qemuLogHeader(argv, headerExtra))
        outFd = await openFifo(opened.qemuFifo)
      }
      const spawned = spawnQemu(argv, logPath, headerExtra, outFd)
      if (outFd !== undefined) {
        fs.closeSync(outFd)
        outFd = undefined
      }
      let resolveExited!: () => void
      const exited = new Promise<void>((r) => (resolveExited = r))
      run = {
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
        gotShutdown: false,
        rebootPending: false,
        fakeRebooting: false,
        graphicsPorts,
        argv,
        gone: false,
        exited,
        resolveExited,
        timers: new Set(),
        polling: false,
        saveChain: Promise.resolve(),
      }
      const r = run
      spawned.child.once('exit', () => this.processGone(dom, r))
      dom.live = def
      dom.id = id
      dom.run = run
      dom.lastExit = exited
      dom.state = DomainState.PAUSED
      dom.reason = PausedReason.STARTING_UP
      await this.saveStatus(dom)
      // The locks now name QEMU's pid: virtlockd drops them should it die unnoticed.
      if (lockd) await acquireLocks(lockd.socket, ident, r.pid, locks)

      const qmp = await connectMonitor(monitorPath, () => !r.gone && pidRunning(r.pid), 30000)
      if (r.gone) {
        qmp.close()
        throw new MonitorGoneError()
      }
      this.attachMonitor(dom, r, qmp)
      await this.fillRuntimeInfo(def, qmp)
      if (def.currentMemoryKiB < def.memoryKiB && hasVirtioBalloon(def)) {
        await qmp
          .execute('balloon', {value: def.currentMemoryKiB * 1024})
          .catch((e: Error) => this.log.warn(`qemu: ${def.name}: cannot set the balloon: ${e.message}`))
      }
      if (!paused) await qmp.execute('cont')
      run.phase = 'running'
      if (paused) {
        dom.state = DomainState.PAUSED
        dom.reason = PausedReason.USER
      } else {
        dom.state = DomainState.RUNNING
        dom.reason = RunningReason.BOOTED
      }
      await this.saveStatus(dom)
    } catch (err) {
      if (outFd !== undefined) fs.closeSync(outFd)
      if (!run) {
        // Nothing was spawned: undo what was set up for it (a run's exit does that otherwise).
        if (logd) await closeLogs(logd, this.log)
        if (lockd) await releaseLocks(lockd, ident, 0, this.log)
      }
      throw await this.abortStart(dom, run, err, transient)
    }
    this.emitLifecycle(this.ref(dom), LifecycleEvent.STARTED, StartedDetail.BOOTED)
    if (paused) this.emitLifecycle(this.ref(dom), LifecycleEvent.SUSPENDED, SuspendedDetail.PAUSED)
  }

  /** Undoes a failed start (kills QEMU, removes its files) and returns the error to report. */
  private async abortStart(dom: QemuDomain, run: Run | undefined, err: unknown, transient: boolean): Promise<unknown> {
    let out = err
    if (run) {
      if (!run.gone) {
        signalPid(run.pid, 'SIGKILL')
        await this.waitGone(dom, run, 10000)
      }
      await run.exited
      const tail = run.logd && run.logPos ? await readLogdSince(run.logd.socket, run.logPath, run.logPos) : readLogSince(run.logPath, run.logOffset)
      if (err instanceof MonitorGoneError) out = errors.internal(D, `process exited while connecting to monitor: ${tail}`)
      else if (err instanceof VirError && /End of file from qemu monitor/.test(err.message))
        out = errors.internal(D, `qemu unexpectedly closed the monitor: ${tail}`)
      if (dom.run === run) {
        dom.run = undefined
        dom.live = undefined
        dom.id = -1
      }
    }
    dom.state = DomainState.SHUTOFF
    dom.reason = run?.stopping === 'destroy' ? ShutoffReason.DESTROYED : ShutoffReason.FAILED
    if (transient && !dom.config) this.removeDomain(dom)
    return out
  }

  /** Runtime details QEMU decides: pty paths of serial ports (and the consoles showing them). */
  private async fillRuntimeInfo(def: DomainDef, qmp: QmpClient): Promise<void> {
    if (!def.devices.serials.some((s) => s.type === 'pty')) return
    const chardevs = await qmp.execute<Array<{label: string; filename: string}>>('query-chardev')
    for (const s of def.devices.serials) {
      if (s.type !== 'pty') continue
      const port = s.targetPort ?? 0
      const cd = chardevs.find((c) => c.label === `charserial${port}`)
      if (!cd || !cd.filename.startsWith('pty:')) continue
      s.path = cd.filename.slice(4)
      for (const c of def.devices.consoles) {
        if (c.targetType === 'serial' && (c.targetPort ?? 0) === port && c.type === 'pty') c.path = s.path
      }
    }
  }

  // ---- process and monitor events ---------------------------------------------------------

  private attachMonitor(dom: QemuDomain, run: Run, qmp: QmpClient): void {
    run.qmp = qmp
    qmp.on('event', (ev: QmpEvent) => this.onQmpEvent(dom, run, ev))
    qmp.on('close', () => {
      if (run.qmp === qmp) run.qmp = undefined
      if (!this.closed) this.pollGone(dom, run)
    })
  }

  private addTimer(run: Run, ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      run.timers.delete(t)
      fn()
    }, ms)
    t.unref()
    run.timers.add(t)
  }

  /** Polls until the process is gone (used once the monitor closed). */
  private pollGone(dom: QemuDomain, run: Run): void {
    if (run.polling || run.gone) return
    run.polling = true
    const since = Date.now()
    const tick = () => {
      if (run.gone || this.closed) return
      if (!pidRunning(run.pid, run.starttime)) {
        this.processGone(dom, run)
        return
      }
      this.addTimer(run, Date.now() - since < 3000 ? 5 : 250, tick)
    }
    tick()
  }

  /** Safety net: notices any guest whose process vanished without us hearing about it. */
  private sweep(): void {
    if (this.closed) return
    for (const dom of this.domains.values()) {
      const run = dom.run
      if (run && !run.gone && run.phase === 'running' && !pidRunning(run.pid, run.starttime)) this.processGone(dom, run)
    }
  }

  /** Waits up to `ms` for the process to be gone; resolves whether it is. */
  private async waitGone(dom: QemuDomain, run: Run, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms
    let timer: NodeJS.Timeout | undefined
    try {
      while (!run.gone) {
        if (!pidRunning(run.pid, run.starttime)) {
          this.processGone(dom, run)
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

  /** The QEMU process of `run` has ended: record why, emit the event, remove its files. */
  private processGone(dom: QemuDomain, run: Run): void {
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
    } else if (run.stopping === 'crash') {
      reason = ShutoffReason.CRASHED
      detail = StoppedDetail.CRASHED
    } else if (run.gotShutdown) {
      reason = ShutoffReason.SHUTDOWN
      detail = StoppedDetail.SHUTDOWN
      why = 'shutdown'
    }
    if (run.phase === 'starting') why = 'failed'
    if (run.phase === 'running' && dom.run === run) {
      const ref = this.ref(dom)
      dom.run = undefined
      dom.live = undefined
      dom.id = -1
      dom.state = DomainState.SHUTOFF
      dom.reason = reason
      dom.updated = false
      if (!dom.config) this.removeDomain(dom)
      if (why === 'crashed') this.log.warn(`qemu: guest '${dom.name}' (pid ${run.pid}) ended unexpectedly`)
      this.emitLifecycle(ref, LifecycleEvent.STOPPED, detail)
    }
    const name = dom.name
    void (async () => {
      await run.saveChain.catch(noop)
      // Logs closed and locks released before the status goes (a daemon dying in between
      // finds the status file and does it again); a new start waits for all of it (lastExit).
      await this.finish({name, uuid: dom.uuid}, run, why)
      await this.store.removeStatus(name).catch(noop)
      await fsp.rm(run.monitorPath, {force: true}).catch(noop)
    })().finally(() => run.resolveExited())
  }

  private onQmpEvent(dom: QemuDomain, run: Run, ev: QmpEvent): void {
    this.log.debug(`qemu: ${dom.name}: QMP event ${ev.event} ${JSON.stringify(ev.data)}`)
    if (this.closed || run.gone || dom.run !== run || run.phase === 'starting') return
    switch (ev.event) {
      case 'SHUTDOWN':
        this.onShutdownEvent(dom, run, ev)
        break
      case 'STOP':
        if (run.fakeRebooting || run.gotShutdown || run.stopping) return
        if (dom.state === DomainState.RUNNING) {
          dom.state = DomainState.PAUSED
          dom.reason = run.pauseReason ?? PausedReason.UNKNOWN
          run.pauseReason = undefined
          this.emitLifecycle(this.ref(dom), LifecycleEvent.SUSPENDED, SuspendedDetail.PAUSED)
          void this.saveStatus(dom)
        }
        break
      case 'RESUME':
        if (run.fakeRebooting || run.stopping) return
        if (dom.state === DomainState.PAUSED) {
          dom.state = DomainState.RUNNING
          dom.reason = RunningReason.UNPAUSED
          this.emitLifecycle(this.ref(dom), LifecycleEvent.RESUMED, ResumedDetail.UNPAUSED)
          void this.saveStatus(dom)
        }
        break
      case 'RESET':
        if (!this.closed) this.events.emit('domain', {kind: 'reboot', dom: this.ref(dom)} satisfies DomainEventMsg)
        break
      case 'GUEST_PANICKED':
        this.onPanic(dom, run)
        break
      case 'BALLOON_CHANGE': {
        const actual = Number(ev.data.actual)
        if (Number.isFinite(actual)) run.balloonKiB = Math.floor(actual / 1024)
        break
      }
    }
  }

  private onShutdownEvent(dom: QemuDomain, run: Run, ev: QmpEvent): void {
    if (run.stopping === 'destroy' || run.gotShutdown) return
    const why = String(ev.data.reason ?? '')
    const hostQuit = why === 'host-signal' || why === 'host-qmp-quit' || why === 'host-ui'
    run.gotShutdown = true
    dom.state = DomainState.SHUTDOWN
    dom.reason = 0
    const detail = ev.data.guest === true ? ShutdownDetail.GUEST : ev.data.guest === false ? ShutdownDetail.HOST : ShutdownDetail.FINISHED
    this.emitLifecycle(this.ref(dom), LifecycleEvent.SHUTDOWN, detail)
    if (!hostQuit && (run.rebootPending || dom.live?.onPoweroff === 'restart')) {
      void this.fakeReboot(dom, run)
      return
    }
    void this.saveStatus(dom)
    this.ensureExit(dom, run)
  }

  /** QEMU exits by itself after SHUTDOWN; if it lingers, ask it to quit, then kill it. */
  private ensureExit(dom: QemuDomain, run: Run): void {
    this.addTimer(run, 3000, () => {
      this.log.warn(`qemu: guest '${dom.name}' (pid ${run.pid}) is still running 3 s after SHUTDOWN; sending quit`)
      run.qmp?.execute('quit').catch(noop)
      this.addTimer(run, 3000, () => signalPid(run.pid, 'SIGKILL'))
    })
  }

  /** Completes an ACPI reboot: the guest powered off, QEMU paused (shutdown action 'pause'). */
  private async fakeReboot(dom: QemuDomain, run: Run): Promise<void> {
    run.fakeRebooting = true
    try {
      const qmp = this.requireMonitor(run)
      const reset = waitEvent(qmp, 'RESET', 5000)
      await qmp.execute('system_reset')
      await reset
      if (dom.live?.onPoweroff !== 'restart') await qmp.execute('set-action', {shutdown: 'poweroff'})
      await qmp.execute('cont')
      run.rebootPending = false
      run.gotShutdown = false
      if (dom.run === run) {
        dom.state = DomainState.RUNNING
        dom.reason = RunningReason.BOOTED
        this.emitLifecycle(this.ref(dom), LifecycleEvent.RESUMED, ResumedDetail.UNPAUSED)
        await this.saveStatus(dom)
      }
    } catch (err) {
      if (run.gone) return
      this.log.error(`qemu: reboot of '${dom.name}' failed: ${(err as Error).message}; stopping it`)
      run.gotShutdown = true
      signalPid(run.pid, 'SIGTERM')
      this.ensureExit(dom, run)
    } finally {
      run.fakeRebooting = false
    }
  }

  private onPanic(dom: QemuDomain, run: Run): void {
    const action = dom.live?.onCrash ?? 'destroy'
    this.emitLifecycle(this.ref(dom), LifecycleEvent.CRASHED, 0 /* PANICKED */)
    if (action === 'destroy' || action === 'coredump-destroy') {
      run.stopping = 'crash'
      signalPid(run.pid, 'SIGKILL')
      this.pollGone(dom, run)
    } else if (action === 'restart' || action === 'coredump-restart' || action === 'rename-restart') {
      void this.fakeReboot(dom, run)
    } else {
      dom.state = DomainState.CRASHED
      dom.reason = 1 // VIR_DOMAIN_CRASHED_PANICKED
      void this.saveStatus(dom)
    }
  }

  // ---- lifecycle --------------------------------------------------------------------------

  async destroy(uuid: string, flags: number): Promise<void> {
    const dom = this.get(uuid)
    const run = this.requireActive(dom)
    run.stopping = 'destroy'
    signalPid(run.pid, 'SIGTERM')
    if (!(await this.waitGone(dom, run, this.destroyGraceMs))) {
      if (flags & DestroyFlags.GRACEFUL) {
        throw new VirError(ErrorCode.SYSTEM_ERROR, D, `Failed to terminate process ${run.pid} with SIGTERM: Device or resource busy`, {
          str1: '%s',
          str2: `Failed to terminate process ${run.pid} with SIGTERM: Device or resource busy`,
        })
      }
      signalPid(run.pid, 'SIGKILL')
      if (!(await this.waitGone(dom, run, 10000))) {
        throw errors.systemError(D, `Failed to kill process ${run.pid} with SIGKILL: process still exists`)
      }
    }
    await run.exited
  }

  async shutdown(uuid: string, flags: number): Promise<void> {
    const dom = this.get(uuid)
    await this.withJob(dom, async () => {
      const run = this.requireActive(dom)
      checkShutdownFlags(flags)
      if (dom.state !== DomainState.RUNNING) throw errors.operationInvalid(ErrorDomain.DOMAIN, 'domain is not running')
      const qmp = this.requireMonitor(run)
      if (run.rebootPending) {
        run.rebootPending = false
        if (dom.live?.onPoweroff !== 'restart') await qmp.execute('set-action', {shutdown: 'poweroff'})
        await this.saveStatus(dom)
      }
      await qmp.execute('system_powerdown')
    })
  }

  async reboot(uuid: string, flags: number): Promise<void> {
    const dom = this.get(uuid)
    await this.withJob(dom, async () => {
      const run = this.requireActive(dom)
      checkShutdownFlags(flags)
      if (dom.state !== DomainState.RUNNING) throw errors.operationInvalid(ErrorDomain.DOMAIN, 'domain is not running')
      const qmp = this.requireMonitor(run)
      if (dom.live?.onReboot === 'destroy') {
        // libvirt: "on_reboot setting overridden, shutting down".
        await qmp.execute('system_powerdown')
        return
      }
      if (!run.rebootPending) {
        run.rebootPending = true
        await this.saveStatus(dom)
        if (dom.live?.onPoweroff !== 'restart') await qmp.execute('set-action', {shutdown: 'pause'})
      }
      await qmp.execute('system_powerdown')
    })
  }

  async reset(uuid: string): Promise<void> {
    const dom = this.get(uuid)
    await this.withJob(dom, async () => {
      const run = this.requireActive(dom)
      await this.requireMonitor(run).execute('system_reset')
    })
  }

  async suspend(uuid: string): Promise<void> {
    const dom = this.get(uuid)
    await this.withJob(dom, async () => {
      const run = this.requireActive(dom)
      if (dom.state === DomainState.PAUSED) return
      if (dom.state !== DomainState.RUNNING) throw errors.operationInvalid(ErrorDomain.DOMAIN, 'domain is not running')
      const qmp = this.requireMonitor(run)
      run.pauseReason = PausedReason.USER
      await qmp.execute('stop')
      if (dom.run === run && dom.state === DomainState.RUNNING) {
        dom.state = DomainState.PAUSED
        dom.reason = PausedReason.USER
        this.emitLifecycle(this.ref(dom), LifecycleEvent.SUSPENDED, SuspendedDetail.PAUSED)
      }
      run.pauseReason = undefined
      await this.saveStatus(dom)
    })
  }

  async resume(uuid: string): Promise<void> {
    const dom = this.get(uuid)
    await this.withJob(dom, async () => {
      const run = this.requireActive(dom)
      if (dom.state === DomainState.RUNNING) return
      if (dom.state !== DomainState.PAUSED && dom.state !== DomainState.CRASHED) {
        throw errors.operationInvalid(ErrorDomain.DOMAIN, 'domain is not paused')
      }
      await this.requireMonitor(run).execute('cont')
      if (dom.run === run && (dom.state as number) !== DomainState.RUNNING) {
        dom.state = DomainState.RUNNING
        dom.reason = RunningReason.UNPAUSED
        this.emitLifecycle(this.ref(dom), LifecycleEvent.RESUMED, ResumedDetail.UNPAUSED)
      }
      await this.saveStatus(dom)
    })
  }

  // ---- information ------------------------------------------------------------------------

  getInfo(uuid: string): DomainInfo {
    const d = this.get(uuid)
    const def = this.def(d)
    return {
      state: d.state,
      maxMemKiB: BigInt(def.memoryKiB),
      memoryKiB: BigInt(d.run?.balloonKiB ?? def.currentMemoryKiB),
      nrVirtCpu: def.currentVcpus,
      cpuTimeNs: d.run ? cpuTimeNs(d.run.pid) : 0n,
    }
  }

  async getStats(refs: DomainRef[] | null, flags: number): Promise<DomainStats[]> {
    const list = refs ? refs.map((r) => this.get(r.uuid)) : [...this.domains.values()].filter((d) => this.matches(d, flags & 0xffff))
    return Promise.all(list.map((d) => this.statsOf(d)))
  }

  private async statsOf(d: QemuDomain): Promise<DomainStats> {
    const ref = this.ref(d)
    const def = this.def(d)
    const params: DomainStats['params'] = [
      {field: 'state.state', type: 'int', value: d.state},
      {field: 'state.reason', type: 'int', value: d.reason},
    ]
    const run = d.run
    let balloon = BigInt(def.currentMemoryKiB)
    let vcpus: Array<{'cpu-index': number; 'thread-id': number}> = []
    if (run) {
      const st = readProcStat(run.pid)
      const tck = BigInt(clockTicks())
      if (st) {
        params.push(
          {field: 'cpu.time', type: 'ullong', value: (BigInt(st.utime + st.stime) * 1_000_000_000n) / tck},
          {field: 'cpu.user', type: 'ullong', value: (BigInt(st.utime) * 1_000_000_000n) / tck},
          {field: 'cpu.system', type: 'ullong', value: (BigInt(st.stime) * 1_000_000_000n) / tck},
        )
      }
      if (run.qmp && !run.qmp.closed) {
        try {
          const b = await run.qmp.execute<{actual: number}>('query-balloon', undefined, {timeoutMs: 2000})
          balloon = BigInt(Math.floor(b.actual / 1024))
          run.balloonKiB = Number(balloon)
        } catch {
          if (run.balloonKiB !== undefined) balloon = BigInt(run.balloonKiB)
        }
        try {
          vcpus = await run.qmp.execute<typeof vcpus>('query-cpus-fast', undefined, {timeoutMs: 2000})
        } catch {
          vcpus = []
        }
      }
    }
    params.push(
      {field: 'balloon.current', type: 'ullong', value: balloon},
      {field: 'balloon.maximum', type: 'ullong', value: BigInt(def.memoryKiB)},
      {field: 'vcpu.current', type: 'uint', value: def.currentVcpus},
      {field: 'vcpu.maximum', type: 'uint', value: def.vcpus},
    )
    if (run) {
      const tck = BigInt(clockTicks())
      for (const v of vcpus) {
        let time = 0n
        try {
          const text = fs.readFileSync(`/proc/${run.pid}/task/${v['thread-id']}/stat`, 'utf8')
          const f = text.slice(text.lastIndexOf(')') + 2).split(' ')
          time = (BigInt(Number(f[11]) + Number(f[12])) * 1_000_000_000n) / tck
        } catch {
          // thread gone
        }
        params.push(
          {field: `vcpu.${v['cpu-index']}.state`, type: 'int', value: 1},
          {field: `vcpu.${v['cpu-index']}.time`, type: 'ullong', value: time},
        )
      }
    }
    return {ref, params}
  }
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

/** Whether a TCP port is free on `host` (bound and released at once). */
function canBind(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer()
    srv.once('error', () => resolve(false))
    srv.listen({port, host, exclusive: true}, () => srv.close(() => resolve(true)))
  })
}
