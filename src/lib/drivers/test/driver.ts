/**
 * The test driver (test:///default): an in-memory host that lives as long as the daemon. It
 * behaves like libvirt's test driver — states, reasons, IDs, events, transient and persistent
 * domains — without running anything. Its networks and pools are the network.ts and storage.ts
 * drivers over the same TestHost, handed to connections through `own`.
 */
import {EventEmitter} from 'node:events'
import {TestConnectionFacts} from './connection-facts.js'
import {ErrorDomain, errors} from '../../errors.js'
import {formatDomainXml, parseDomainXml, type DomainDef} from '../../conf/domain.js'
import {DomainObjList, currentDef, isActive, newDomainObj, type DomainObj} from '../../conf/domain-list.js'
import {
  DefinedDetail,
  DomainState,
  LifecycleEvent,
  PausedReason,
  ResumedDetail,
  RunningReason,
  ShutoffReason,
  StartedDetail,
  StoppedDetail,
  SuspendedDetail,
  UndefinedDetail,
  CreateFlags,
  XmlFlags,
  type DomainEventMsg,
  type DomainInfo,
  type DomainRef,
  type DomainStats,
  type HypervisorDriver,
} from '../types.js'
import {matchDomain} from '../list-filter.js'
import {TEST_DOMAIN_XML} from './defaults.js'
import {TestHost} from './host.js'
import {testScreenshot} from './screenshot.js'
import type {Screenshot} from '../console-types.js'
import {TestNetworkDriver} from './network.js'
import {TestInterfaceDriver} from './interface.js'
import {TestNodeDeviceDriver} from './nodedev.js'
import {TestStorageDriver} from './storage.js'
import {TestSnapshots} from './snapshot.js'
import {TestSaves} from './save.js'
import {TestGuest} from './stats.js'
import type {DomainInterfaceAddrs, InterfaceStats} from '../domain-net-types.js'
import {UNDEFINE_SNAPSHOTS_METADATA} from '../snapshot-types.js'
import {TestTuning, emitTuning} from './tuning.js'

const D = ErrorDomain.TEST

interface TestDomain extends DomainObj {
  /** process.hrtime.bigint() when it last started running, 0n when not running. */
  runningSince: bigint
  cpuTimeNs: bigint
}

export class TestDriver extends TestConnectionFacts implements HypervisorDriver {
  readonly name = 'test'
  readonly type = 'TEST'
  readonly events = new EventEmitter()
  readonly own: {network: TestNetworkDriver; storage: TestStorageDriver; interface: TestInterfaceDriver; nodedev: TestNodeDeviceDriver}
  private readonly domains = new DomainObjList<TestDomain>(D)
  readonly snapshots = new TestSnapshots<TestDomain>({
    get: (uuid) => this.get(uuid),
    start: (d, def, paused) => this.startDomain(d, def, paused),
    stop: (d, reason, detail) => this.stopDomain(d, reason, detail),
    emit: (d, event, detail) => this.emit(d, event, detail),
  })
  readonly saves = new TestSaves<TestDomain>({
    get: (uuid) => this.get(uuid),
    parse: (xml) => this.parse(xml),
    addLive: (def) => {
      const existing = this.domains.checkClash(def)
      if (existing && isActive(existing)) throw errors.operationInvalid(ErrorDomain.DOMAIN, `domain '${def.name}' is already active`)
      return existing ?? this.addDomain(def, false)
    },
    start: (d, def, reason) => {
      this.startDomain(d, def, false)
      d.reason = reason
    },
    stop: (d, reason, detail) => this.stopDomain(d, reason, detail),
    emit: (d, event, detail) => this.emit(d, event, detail),
  })
  readonly guest = new TestGuest({
    get: (uuid) => this.get(uuid),
    list: (flags) => this.listDomains(flags).map((r) => this.get(r.uuid)),
    ref: (d) => this.domains.ref(this.get(d.uuid)),
    crash: (uuid) => this.stopDomain(this.get(uuid), ShutoffReason.CRASHED, StoppedDetail.CRASHED),
  })
  readonly interfaceStats = (uuid: string, dev: string): InterfaceStats => this.guest.interfaceStats(uuid, dev)
  readonly interfaceAddresses = (uuid: string, source: number): DomainInterfaceAddrs[] => this.guest.interfaceAddresses(uuid, source)
  readonly tuning = new TestTuning<TestDomain>({
    get: (uuid) => this.get(uuid),
    ref: (d) => this.domains.ref(d),
    emit: (msg) => emitTuning(this.events, msg),
    cpuTimeNs: (d) => {
      this.accountCpu(d)
      return d.cpuTimeNs
    },
  })

  constructor() {
    super()
    this.events.setMaxListeners(0)
    const host = new TestHost()
    this.own = {
      network: new TestNetworkDriver(host),
      storage: new TestStorageDriver(host),
      interface: new TestInterfaceDriver(),
      nodedev: new TestNodeDeviceDriver(),
    }
    const def = parseDomainXml(TEST_DOMAIN_XML)
    const preset = this.addDomain(def, true)
    this.startDomain(preset, def, false)
    preset.reason = RunningReason.UNKNOWN // libvirt's preset domain: running (unknown)
  }

  hasActiveDomains(): boolean {
    // Test domains are simulated; they never keep the daemon alive.
    return false
  }

  // ---- domain bookkeeping -----------------------------------------------------------------

  private emit(d: TestDomain, event: number, detail: number): void {
    this.events.emit('domain', {kind: 'lifecycle', dom: this.domains.ref(d), event, detail} satisfies DomainEventMsg)
  }

  private get(uuid: string): TestDomain {
    return this.domains.get(uuid)
  }

  private addDomain(def: DomainDef, persistent: boolean): TestDomain {
    const d: TestDomain = {...newDomainObj(def.name, def.uuid), runningSince: 0n, cpuTimeNs: 0n}
    if (persistent) d.config = def
    return this.domains.add(d)
  }

  private startDomain(d: TestDomain, def: DomainDef, paused: boolean): void {
    // The live definition is a copy: live changes (setvcpus, vcpupin, ...) leave the persistent one alone.
    d.live = def === d.config ? parseDomainXml(formatDomainXml(def, {secure: true})) : def
    d.id = this.domains.allocateId()
    d.runningSince = process.hrtime.bigint()
    d.cpuTimeNs = 0n
    this.saves.clear(d)
    if (paused) {
      d.state = DomainState.PAUSED
      d.reason = PausedReason.USER
    } else {
      d.state = DomainState.RUNNING
      d.reason = RunningReason.BOOTED
    }
  }

  private stopDomain(d: TestDomain, reason: number, detail: number): void {
    this.accountCpu(d)
    d.id = -1
    const ref = this.domains.ref(d) // libvirt's test driver names the stopped domain with id -1
    d.live = undefined
    d.updated = false
    d.state = DomainState.SHUTOFF
    d.reason = reason
    d.runningSince = 0n
    this.events.emit('domain', {kind: 'lifecycle', dom: ref, event: LifecycleEvent.STOPPED, detail} satisfies DomainEventMsg)
    if (!d.config) this.domains.remove(d)
  }

  private accountCpu(d: TestDomain): void {
    if (d.state === DomainState.RUNNING && d.runningSince) {
      const now = process.hrtime.bigint()
      d.cpuTimeNs += now - d.runningSince
      d.runningSince = now
    }
  }

  private requireActive(d: TestDomain): void {
    if (!isActive(d)) throw errors.operationInvalid(ErrorDomain.DOMAIN, 'domain is not running')
  }

  private parse(xml: string): DomainDef {
    const def = parseDomainXml(xml)
    if (def.type !== 'test') {
      throw errors.configUnsupported(D, `domain type '${def.type}' is not supported by the test driver (use type='test')`)
    }
    return def
  }

  // ---- listing and lookup -----------------------------------------------------------------

  listDomains(flags: number): DomainRef[] {
    return this.domains
      .filter((d) =>
        matchDomain(
          {
            state: d.state,
            persistent: d.config !== undefined,
            autostart: d.autostart,
            snapshots: this.snapshots.snapshotCount(d.uuid),
            managedSave: this.saves.has(d),
          },
          flags,
          isActive(d),
        ),
      )
      .map((d) => this.domains.ref(d))
  }

  numOfDomains(active: boolean): number {
    return this.domains.count(active)
  }

  lookupById(id: number): DomainRef {
    return this.domains.ref(this.domains.getById(id))
  }

  lookupByName(name: string): DomainRef {
    return this.domains.ref(this.domains.getByName(name))
  }

  lookupByUuid(uuid: string): DomainRef {
    return this.domains.ref(this.get(uuid))
  }

  // ---- definitions and lifecycle ----------------------------------------------------------

  defineXML(xml: string): DomainRef {
    const def = this.parse(xml)
    const existing = this.domains.checkClash(def)
    if (existing) {
      const wasPersistent = existing.config !== undefined
      existing.config = def
      if (isActive(existing)) existing.updated = true
      this.emit(existing, LifecycleEvent.DEFINED, wasPersistent ? DefinedDetail.UPDATED : DefinedDetail.ADDED)
      return this.domains.ref(existing)
    }
    const d = this.addDomain(def, true)
    this.emit(d, LifecycleEvent.DEFINED, DefinedDetail.ADDED)
    return this.domains.ref(d)
  }

  createXML(xml: string, flags: number): DomainRef {
    const def = this.parse(xml)
    const existing = this.domains.checkClash(def)
    if (existing && isActive(existing)) {
      throw errors.operationInvalid(ErrorDomain.DOMAIN, `domain '${def.name}' is already active`)
    }
    const d = existing ?? this.addDomain(def, false)
    this.startDomain(d, def, (flags & CreateFlags.PAUSED) !== 0)
    this.emit(d, LifecycleEvent.STARTED, StartedDetail.BOOTED)
    if (flags & CreateFlags.PAUSED) this.emit(d, LifecycleEvent.SUSPENDED, SuspendedDetail.PAUSED)
    return this.domains.ref(d)
  }

  create(uuid: string, flags: number): DomainRef {
    const d = this.get(uuid)
    if (isActive(d)) throw errors.operationInvalid(ErrorDomain.DOMAIN, 'domain is already running')
    this.startDomain(d, currentDef(d), (flags & CreateFlags.PAUSED) !== 0)
    this.emit(d, LifecycleEvent.STARTED, StartedDetail.BOOTED)
    if (flags & CreateFlags.PAUSED) this.emit(d, LifecycleEvent.SUSPENDED, SuspendedDetail.PAUSED)
    return this.domains.ref(d)
  }

  destroy(uuid: string): void {
    const d = this.get(uuid)
    this.requireActive(d)
    this.stopDomain(d, ShutoffReason.DESTROYED, StoppedDetail.DESTROYED)
  }

  shutdown(uuid: string): void {
    const d = this.get(uuid)
    if (d.state !== DomainState.RUNNING && d.state !== DomainState.PAUSED) {
      throw errors.operationInvalid(ErrorDomain.DOMAIN, `domain '${d.name}' not running`)
    }
    this.stopDomain(d, ShutoffReason.SHUTDOWN, StoppedDetail.SHUTDOWN)
  }

  reboot(uuid: string): void {
    const d = this.get(uuid)
    this.requireActive(d)
    // libvirt's test driver sends no reboot event (it has no guest to reset).
    const action = currentDef(d).onReboot ?? 'restart'
    if (action === 'destroy') this.stopDomain(d, ShutoffReason.SHUTDOWN, StoppedDetail.SHUTDOWN)
    else if (action === 'preserve') {
      d.state = DomainState.SHUTDOWN
      d.reason = 1
    } else {
      this.accountCpu(d)
      d.state = DomainState.RUNNING
      d.reason = RunningReason.BOOTED
    }
  }

  reset(uuid: string): void {
    this.requireActive(this.get(uuid))
  }

  suspend(uuid: string): void {
    const d = this.get(uuid)
    this.requireActive(d)
    if (d.state !== DomainState.RUNNING) throw errors.operationInvalid(ErrorDomain.DOMAIN, `domain '${d.name}' not running`)
    this.accountCpu(d)
    d.state = DomainState.PAUSED
    d.reason = PausedReason.USER
    this.emit(d, LifecycleEvent.SUSPENDED, SuspendedDetail.PAUSED)
  }

  resume(uuid: string): void {
    const d = this.get(uuid)
    this.requireActive(d)
    if (d.state !== DomainState.PAUSED) throw errors.operationInvalid(ErrorDomain.DOMAIN, `domain '${d.name}' not paused`)
    d.state = DomainState.RUNNING
    d.reason = RunningReason.UNPAUSED
    d.runningSince = process.hrtime.bigint()
    this.emit(d, LifecycleEvent.RESUMED, ResumedDetail.UNPAUSED)
  }

  undefine(uuid: string, flags = 0): void {
    const d = this.get(uuid)
    if (!d.config) throw errors.operationInvalid(ErrorDomain.DOMAIN, 'cannot undefine transient domain')
    this.snapshots.checkUndefine(d, (flags & UNDEFINE_SNAPSHOTS_METADATA) !== 0)
    this.saves.checkUndefine(d, flags)
    d.autostart = false
    this.emit(d, LifecycleEvent.UNDEFINED, UndefinedDetail.REMOVED)
    if (isActive(d)) {
      d.config = undefined
      d.updated = false
    } else this.domains.remove(d)
  }

  // ---- information ------------------------------------------------------------------------

  getXMLDesc(uuid: string, flags: number): string {
    const d = this.get(uuid)
    const secure = (flags & XmlFlags.SECURE) !== 0
    if (flags & XmlFlags.INACTIVE) return formatDomainXml(d.config ?? currentDef(d), {active: false, secure})
    return formatDomainXml(currentDef(d), {id: d.id, active: isActive(d), secure})
  }

  getInfo(uuid: string): DomainInfo {
    const d = this.get(uuid)
    this.accountCpu(d)
    const def = currentDef(d)
    return {
      state: d.state,
      maxMemKiB: BigInt(def.memoryKiB),
      memoryKiB: BigInt(def.currentMemoryKiB),
      nrVirtCpu: def.currentVcpus,
      cpuTimeNs: d.cpuTimeNs,
    }
  }

  getState(uuid: string): {state: number; reason: number} {
    const d = this.get(uuid)
    return {state: d.state, reason: d.reason}
  }

  screenshot(uuid: string, _screen: number, flags: number): Screenshot {
    this.get(uuid)
    return testScreenshot(flags)
  }

  getOSType(uuid: string): string {
    return currentDef(this.get(uuid)).os.type
  }

  getMaxMemory(uuid: string): bigint {
    return BigInt(currentDef(this.get(uuid)).memoryKiB)
  }

  domainGetMaxVcpus(uuid: string): number {
    return currentDef(this.get(uuid)).vcpus
  }

  getAutostart(uuid: string): boolean {
    return this.get(uuid).autostart
  }

  setAutostart(uuid: string, on: boolean): void {
    const d = this.get(uuid)
    if (!d.config) throw errors.operationInvalid(ErrorDomain.DOMAIN, 'cannot set autostart for transient domain')
    d.autostart = on
  }

  isActive(uuid: string): boolean {
    return isActive(this.get(uuid))
  }

  isPersistent(uuid: string): boolean {
    return this.get(uuid).config !== undefined
  }

  isUpdated(uuid: string): boolean {
    return this.get(uuid).updated
  }

  hasManagedSave(uuid: string): boolean {
    return this.saves.hasManagedSave(uuid)
  }

  getMessages(uuid: string): string[] {
    this.get(uuid)
    return []
  }

  getStats(refs: DomainRef[] | null): DomainStats[] {
    const list = refs ? refs.map((r) => this.get(r.uuid)) : [...this.domains.values()]
    return list.map((d) => {
      this.accountCpu(d)
      const def = currentDef(d)
      return {
        ref: this.domains.ref(d),
        params: [
          {field: 'state.state', type: 'int', value: d.state},
          {field: 'state.reason', type: 'int', value: d.reason},
          {field: 'cpu.time', type: 'ullong', value: d.cpuTimeNs},
          {field: 'balloon.current', type: 'ullong', value: BigInt(def.currentMemoryKiB)},
          {field: 'balloon.maximum', type: 'ullong', value: BigInt(def.memoryKiB)},
          {field: 'vcpu.current', type: 'uint', value: def.currentVcpus},
          {field: 'vcpu.maximum', type: 'uint', value: def.vcpus},
        ],
      }
    })
  }
}
