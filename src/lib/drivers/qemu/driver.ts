/**
 * The QEMU driver (qemu:///system, qemu:///session): runs real guests as detached QEMU processes
 * that outlive the daemon, talks to each over its own QMP monitor, keeps libvirt's states,
 * reasons and events, and persists definitions and live status on disk so that a restarted
 * daemon finds every running guest again.
 *
 * This class is the driver table: each method delegates to the file of its concern.
 *   context.ts      shared state: the domain list, runs, status writes, jobs
 *   definitions.ts  parse/validate XML, define, undefine, XML out, autostart flag
 *   start.ts        create / createXML, the start sequence, failed starts, autostart
 *   lifecycle.ts    destroy, shutdown, reboot, reset, suspend, resume
 *   monitor.ts      QMP events (pause, resume, shutdown, panic) and the ACPI "fake reboot"
 *   exit.ts         noticing QEMU's exit (child exit, monitor close + polling, sweep)
 *   reattach.ts     finding guests again after a daemon restart
 *   stats.ts        getInfo and bulk stats
 *   snapshot.ts     internal snapshots (`snapshots`), with snapshot-store.ts and snapshot-qemu.ts
 *   logd-lockd.ts   logs through virtlogd, disk locks in virtlockd (clients given in options)
 *   argv.ts, capabilities.ts, process.ts, qmp.ts, state.ts: QEMU argv, probing, processes,
 *                   the QMP client, files on disk
 */
import {checkQemuUriPath} from './uri.js'
import type {StorageVolumes} from '../storage-vol-types.js'
import {EventEmitter} from 'node:events'
import type {NetworkPorts} from '../network-port-types.js'
import type {DomainInterfaceAddrs, InterfaceStats} from '../domain-net-types.js'
import * as ifaceInfo from './iface-info.js'
import {hostname} from 'node:os'
import {currentDef, isActive} from '../../conf/domain-list.js'
import {errors} from '../../errors.js'
import {matchDomain} from '../list-filter.js'
import type {DomainCapsArgs, DomainInfo, DomainRef, DomainStats, DriverDirs, LogSink, HypervisorDriver, NodeInfo} from '../types.js'
import {kvmUsable, loadCompatCaps, loadQemuCaps, type QemuCaps} from './capabilities.js'
import {lazyProbe} from './lazy-probe.js'
import {nodeFreeMemoryBytes} from './host.js'
import {kvmMaxVcpus} from './host-kvm.js'
import {noFlags, readSysinfo} from './sysinfo.js'
import {cpuModelNamesFor} from '../../conf/cpu-x86.js'
import {hostCellsFree, hostCpuStats, hostMemoryParameters, setHostMemoryParameters} from './host-facts.js'
import type {AnyTypedParam} from '../host-types.js'
import {hostMemoryStats} from '../host-memory.js'
import {D, QemuContext, noop, type QemuDomain} from './context.js'
import * as definitions from './definitions.js'
import type {GuestConsole, Screenshot} from '../console-types.js'
import {openConsole} from './console.js'
import {screenshot} from './screenshot.js'
import {qemuDomainCapabilities} from './domcaps.js'
import {sweep} from './exit.js'
import * as graphics from './graphics-fd.js'
import * as lifecycle from './lifecycle.js'
import {GuestHelpers, type Virtlockd, type Virtlogd} from './logd-lockd.js'
import {reattachAll} from './reattach.js'
import * as start from './start.js'
import * as stats from './stats.js'
import {clockTicks} from './process.js'
import {QemuStateStore} from './state.js'
import {QemuSnapshots} from './snapshot.js'
import {QemuSaves} from './managed-save.js'
import {QemuGuest} from './guest.js'
import {QemuTuning} from './tuning.js'
import {QemuMigration} from './migration/index.js'
import {UNDEFINE_SNAPSHOTS_METADATA} from '../snapshot-types.js'
import {BaselineFlags, baselineCpu} from '../../conf/cpu-baseline.js'
import {checkFlags, type HypervisorCpuArgs} from '../host-types.js'
import {baselineHypervisorCpu, compareHostCpu, compareHypervisorCpu} from './hypervisor-cpu.js'
import {setMemoryStatsPeriod} from './memstat-period.js'
import {ALLOC_PAGES_SET, hostAllocPages, hostFreePages, hostSuspend} from './host-pages.js'
/** CPU features QEMU cannot give a guest, left out of a baseline (libvirt's virQEMUCapsCPUFilterFeatures). */
const QEMU_UNAVAILABLE_FEATURES = new Set(['cmt', 'mbm_total', 'mbm_local', 'osxsave', 'ospke'])
import {QemuHotplug} from './hotplug.js'

export {ShutdownFlags} from './lifecycle.js'

export const DEFAULT_EMULATOR = '/usr/bin/qemu-system-x86_64'

export interface QemuDriverOptions {
  /** Which URI this driver serves: qemu:///system or qemu:///session. */
  mode: 'system' | 'session'
  /** The driver's directories (the daemon's driverStateDirs(paths, 'qemu')). */
  dirs: DriverDirs
  /** Where probed QEMU capabilities are cached (CACHEDIR/qemu/capabilities). */
  capsCacheDir: string
  log: LogSink
  /** The storage driver's volumes, for `<disk type='volume'>`. */
  volumes?: StorageVolumes
  /** QEMU binary (default /usr/bin/qemu-system-x86_64). */
  emulator?: string
  /** Overrides KVM detection (tests). */
  kvm?: boolean
  /** SIGTERM -> SIGKILL grace period of destroy, in ms (default 1500). */
  destroyGraceMs?: number
  /** virtlogd, used at each start when its socket answers (absent: QEMU writes its logs itself). */
  logd?: Virtlogd
  /** virtlockd, used at each start when its socket exists (absent: disks are not locked). */
  lockd?: Virtlockd
  /** The network driver's ports, for `<interface type='network'>` (see net-interface.ts). */
  networkPorts?: NetworkPorts
  /** libvirtd.conf host_uuid: overrides the host UUID read from SMBIOS / machine-id. */
  hostUuid?: string
}

/** The listAllDomains flags that filter on a managed save (MANAGEDSAVE, NO_MANAGEDSAVE). */
const MANAGEDSAVE_FILTER = 256 | 512

/** Distinct argument sets whose domain capabilities are kept. */
const DOMCAPS_CACHE_MAX = 32

export class QemuDriver implements HypervisorDriver {
  readonly name = 'qemu'
  readonly type = 'QEMU'
  readonly events = new EventEmitter()
  readonly emulator: string
  private readonly mode: 'system' | 'session'
  private readonly ctx: QemuContext
  /** Internal snapshots and their metadata (snapshot.ts). */
  readonly snapshots: QemuSnapshots
  /** Save/restore and managed save (managed-save.ts, save.ts). */
  readonly saves: QemuSaves
  /** Device hotplug (hotplug.ts). */
  readonly hotplug: QemuHotplug
  /** Guest statistics and guest control (guest.ts). */
  readonly guest: QemuGuest
  /** Memory, vCPUs, tuning and metadata (tuning.ts). */
  readonly tuning: QemuTuning
  /** Migration (migration/index.ts). */
  readonly migration: QemuMigration
  private sweepTimer?: NodeJS.Timeout
  /** Domain capabilities XML by arguments (bounded: the arguments are the client's). */
  private readonly domcaps = new Map<string, string>()

  private constructor(opts: QemuDriverOptions) {
    this.events.setMaxListeners(0)
    this.mode = opts.mode
    this.emulator = opts.emulator ?? DEFAULT_EMULATOR
    const store = new QemuStateStore(opts.dirs)
    const helpers = new GuestHelpers(opts.logd, opts.lockd, opts.log)
    this.ctx = new QemuContext(this.events, opts.log, store, helpers, this.emulator, opts.destroyGraceMs ?? 1500)
    this.ctx.volumes = opts.volumes
    this.snapshots = new QemuSnapshots(this.ctx)
    this.saves = new QemuSaves(this.ctx)
    this.hotplug = new QemuHotplug(this.ctx)
    this.guest = new QemuGuest(this.ctx, (d, flags) => this.matches(d, flags))
    this.tuning = new QemuTuning(this.ctx)
    this.migration = new QemuMigration(this.ctx, () => this.ctx.probe.host.hostUuid)
    this.ctx.networkPorts = opts.networkPorts
  }

  /** Probes QEMU (cached), loads persistent definitions and reattaches to running guests. */
  static async create(opts: QemuDriverOptions): Promise<QemuDriver> {
    const drv = new QemuDriver(opts)
    await drv.init(opts)
    return drv
  }

  private async init(opts: QemuDriverOptions): Promise<void> {
    const {ctx} = this
    await ctx.store.init()
    clockTicks()
    const compat = loadCompatCaps(this.emulator, opts.capsCacheDir, ctx.log)
    const caps = await loadQemuCaps(this.emulator, opts.capsCacheDir, ctx.log)
    const kvm = opts.kvm ?? kvmUsable(caps)
    const target = {emulator: this.emulator, arch: caps.arch, machines: caps.machines, cpuModels: caps.cpuModels, kvm, sandbox: caps.sandbox}
    if (!caps.sandbox) ctx.log.info(`qemu: ${this.emulator} has no seccomp support; guests run without -sandbox`)
    ctx.probe = lazyProbe(caps, target, kvm, await compat, opts.hostUuid)
    await definitions.loadConfigs(ctx)
    await reattachAll(ctx)
    await this.snapshots.load()
    this.sweepTimer = setInterval(() => sweep(ctx), 1000)
    this.sweepTimer.unref()
  }

  /** Starts every inactive persistent guest marked autostart (the daemon calls this once). */
  autostart(): Promise<void> {
    return start.autostart(this.ctx, (uuid) => this.saves.create(uuid, 0))
  }

  /** Closes the monitors; guests keep running (they outlive the daemon). */
  async shutdownDriver(): Promise<void> {
    this.ctx.closed = true
    if (this.sweepTimer) clearInterval(this.sweepTimer)
    const waits: Promise<void>[] = []
    for (const dom of this.ctx.domains.values()) {
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
    return `qemu:///${this.mode}`
  }

  checkUriPath(path: string): void {
    checkQemuUriPath(this.mode, path)
  }

  getVersion(): bigint {
    return BigInt(this.ctx.probe.caps.versionNumber)
  }

  getHostname(): string {
    return hostname()
  }

  getCapabilities(): string {
    return this.ctx.probe.capsXml
  }

  getDomainCapabilities(args: DomainCapsArgs): string {
    // The probe is fixed for the driver's life, so the answer for the same arguments is too.
    const key = JSON.stringify([args.emulatorbin, args.arch, args.machine, args.virttype, args.flags])
    let xml = this.domcaps.get(key)
    if (xml === undefined) {
      xml = qemuDomainCapabilities(this.ctx.probe, this.emulator, args)
      if (this.domcaps.size < DOMCAPS_CACHE_MAX) this.domcaps.set(key, xml)
    }
    return xml
  }

  getMaxVcpus(type: string | null): number {
    if (type === null || type.toLowerCase() === 'qemu') return 16
    if (type.toLowerCase() === 'kvm') return kvmMaxVcpus() ?? 4
    throw errors.invalidArg(D, `unknown type '${type}'`)
  }

  nodeInfo(): NodeInfo {
    return this.ctx.probe.host.node
  }

  nodeFreeMemory(): bigint {
    return nodeFreeMemoryBytes()
  }

  nodeMemoryStats(cellNum: number, nparams: number, flags: number): ReturnType<typeof hostMemoryStats> {
    return hostMemoryStats(cellNum, nparams, flags)
  }

  securityModel(): {model: string; doi: string} {
    return {model: 'none', doi: '0'}
  }

  getSysinfo(flags: number): string {
    noFlags(flags, 'qemuConnectGetSysinfo', D)
    return readSysinfo()
  }

  nodeCpuStats(cpuNum: number, nparams: number, flags: number): ReturnType<typeof hostCpuStats> {
    return hostCpuStats(cpuNum, nparams, flags)
  }

  nodeCellsFreeMemory(startCell: number, maxCells: number): bigint[] {
    return hostCellsFree(startCell, maxCells)
  }

  cpuModelNames(arch: string, flags: number): string[] {
    noFlags(flags, 'qemuConnectGetCPUModelNames', D)
    return cpuModelNamesFor(arch, D)
  }

  baselineCpu(xmlCpus: string[], flags: number): string {
    checkFlags(flags, BaselineFlags.EXPAND_FEATURES | BaselineFlags.MIGRATABLE, 'qemuConnectBaselineCPU', D)
    return baselineCpu(xmlCpus, flags, D, QEMU_UNAVAILABLE_FEATURES)
  }

  compareCpu = (xml: string, flags: number): number => compareHostCpu(this.ctx.probe, xml, flags)

  setMemoryStatsPeriod = (uuid: string, period: number, flags: number): Promise<void> => setMemoryStatsPeriod(this.ctx, uuid, period, flags)

  nodeFreePages(pages: number[], startCell: number, cellCount: number, flags: number): bigint[] {
    checkFlags(flags, 0, 'qemuNodeGetFreePages', D)
    return hostFreePages(pages, startCell, cellCount)
  }

  nodeAllocPages(pageSizes: number[], pageCounts: bigint[], startCell: number, cellCount: number, flags: number): number {
    checkFlags(flags, ALLOC_PAGES_SET, 'qemuNodeAllocPages', D)
    return hostAllocPages(pageSizes, pageCounts, startCell, cellCount, flags)
  }

  nodeSuspendForDuration = (target: number, duration: bigint, flags: number): void => hostSuspend(target, duration, flags)

  hypervisorBaselineCpu = (hv: HypervisorCpuArgs, xmlCpus: string[], flags: number): string =>
    baselineHypervisorCpu(this.ctx.probe, hv, xmlCpus, flags)

  hypervisorCompareCpu = (hv: HypervisorCpuArgs, xml: string, flags: number): number => compareHypervisorCpu(this.ctx.probe, hv, xml, flags)

  nodeMemoryParameters(nparams: number, flags: number): ReturnType<typeof hostMemoryParameters> {
    return hostMemoryParameters(nparams, flags)
  }

  setNodeMemoryParameters(params: AnyTypedParam[], flags: number): void {
    setHostMemoryParameters(params, flags)
  }

  hasActiveDomains(): boolean {
    return this.ctx.domains.hasActive()
  }

  /** The QEMU capabilities this driver probed. */
  qemuCapabilities(): Readonly<QemuCaps> {
    return this.ctx.probe.caps
  }

  /** The pid of a running guest's QEMU (undefined when inactive). */
  domainPid(uuid: string): number | undefined {
    return this.dom(uuid).run?.pid
  }

  /** The log file of a guest (QEMU's stdout/stderr). */
  domainLogPath(uuid: string): string {
    return this.ctx.store.logPath(this.dom(uuid).name)
  }

  // ---- listing and lookup -----------------------------------------------------------------

  private dom(uuid: string): QemuDomain {
    return this.ctx.domains.get(uuid)
  }

  private matches(d: QemuDomain, flags: number): boolean {
    return matchDomain(
      {
        state: d.state,
        persistent: d.config !== undefined,
        autostart: d.autostart,
        snapshots: this.snapshots.snapshotCount(d.uuid),
        managedSave: (flags & MANAGEDSAVE_FILTER) !== 0 && this.saves.has(d),
      },
      flags,
      isActive(d),
    )
  }

  listDomains(flags: number): DomainRef[] {
    return this.ctx.domains.filter((d) => this.matches(d, flags)).map((d) => this.ctx.ref(d))
  }

  numOfDomains(active: boolean): number {
    return this.ctx.domains.count(active)
  }

  lookupById(id: number): DomainRef {
    return this.ctx.ref(this.ctx.domains.getById(id))
  }

  lookupByName(name: string): DomainRef {
    return this.ctx.ref(this.ctx.domains.getByName(name))
  }

  lookupByUuid(uuid: string): DomainRef {
    return this.ctx.ref(this.dom(uuid))
  }

  // ---- consoles and screenshots -----------------------------------------------------------

  openConsole(uuid: string, devName: string | null, flags: number): GuestConsole {
    return openConsole(this.ctx, this.dom(uuid), devName, flags)
  }

  screenshot(uuid: string, screen: number, flags: number): Promise<Screenshot> {
    return screenshot(this.ctx, this.dom(uuid), screen, flags)
  }

  // ---- definitions ------------------------------------------------------------------------

  defineXML(xml: string): Promise<DomainRef> {
    return definitions.defineXML(this.ctx, xml)
  }

  async undefine(uuid: string, flags = 0): Promise<void> {
    await this.snapshots.checkUndefine(uuid, (flags & UNDEFINE_SNAPSHOTS_METADATA) !== 0)
    await this.saves.checkUndefine(this.dom(uuid), flags)
    return definitions.undefine(this.ctx, uuid)
  }

  getXMLDesc(uuid: string, flags: number): string {
    return definitions.getXMLDesc(this.ctx, uuid, flags)
  }

  getAutostart(uuid: string): boolean {
    return this.dom(uuid).autostart
  }

  setAutostart(uuid: string, on: boolean): Promise<void> {
    return definitions.setAutostart(this.ctx, uuid, on)
  }

  // ---- lifecycle --------------------------------------------------------------------------

  createXML(xml: string, flags: number): Promise<DomainRef> {
    return start.createXML(this.ctx, xml, flags)
  }

  create(uuid: string, flags: number): Promise<DomainRef> {
    return this.saves.create(uuid, flags)
  }

  destroy(uuid: string, flags: number): Promise<void> {
    return lifecycle.destroy(this.ctx, uuid, flags)
  }

  shutdown(uuid: string, flags: number): Promise<void> {
    return lifecycle.shutdown(this.ctx, uuid, flags)
  }

  reboot(uuid: string, flags: number): Promise<void> {
    return lifecycle.reboot(this.ctx, uuid, flags)
  }

  reset(uuid: string): Promise<void> {
    return lifecycle.reset(this.ctx, uuid)
  }

  suspend(uuid: string): Promise<void> {
    return lifecycle.suspend(this.ctx, uuid)
  }

  resume(uuid: string): Promise<void> {
    return lifecycle.resume(this.ctx, uuid)
  }

  // ---- graphics clients (graphics-fd.ts) --------------------------------------------------

  openGraphicsFd(uuid: string, idx: number, flags: number): Promise<number> {
    return graphics.openGraphicsFd(this.ctx, uuid, idx, flags)
  }

  openGraphics(uuid: string, idx: number, fd: number, flags: number): Promise<void> {
    return graphics.openGraphics(this.ctx, uuid, idx, fd, flags)
  }

  // ---- information ------------------------------------------------------------------------

  getState(uuid: string): {state: number; reason: number} {
    const d = this.dom(uuid)
    return {state: d.state, reason: d.reason}
  }

  isActive(uuid: string): boolean {
    return isActive(this.dom(uuid))
  }

  isPersistent(uuid: string): boolean {
    return this.dom(uuid).config !== undefined
  }

  isUpdated(uuid: string): boolean {
    return this.dom(uuid).updated
  }

  hasManagedSave(uuid: string): boolean {
    return this.saves.hasManagedSave(uuid)
  }

  getMessages(uuid: string): string[] {
    this.dom(uuid)
    return []
  }

  getOSType(uuid: string): string {
    return currentDef(this.dom(uuid)).os.type
  }

  getMaxMemory(uuid: string): bigint {
    return BigInt(currentDef(this.dom(uuid)).memoryKiB)
  }

  domainGetMaxVcpus(uuid: string): number {
    return currentDef(this.dom(uuid)).vcpus
  }

  getInfo(uuid: string): DomainInfo {
    return stats.getInfo(this.ctx, uuid)
  }

  getStats(refs: DomainRef[] | null, flags: number): Promise<DomainStats[]> {
    return stats.getStats(this.ctx, refs, (d) => this.matches(d, flags & 0xffff))
  }

  interfaceStats(uuid: string, device: string): InterfaceStats {
    return ifaceInfo.interfaceStats(this.ctx.domains.get(uuid), device)
  }

  interfaceAddresses(uuid: string, source: number): Promise<DomainInterfaceAddrs[]> {
    return ifaceInfo.interfaceAddresses(this.ctx, this.ctx.domains.get(uuid), source)
  }
}
