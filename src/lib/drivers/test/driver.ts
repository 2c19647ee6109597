/**
 * The test driver (test:///default): an in-memory host that lives as long as the daemon. It
 * behaves like libvirt's test driver — states, reasons, IDs, events, transient and persistent
 * domains — without running anything.
 */
import {EventEmitter} from 'node:events'
import {hostname} from 'node:os'
import {ErrorCode, ErrorDomain, VirError, errors} from '../../errors.js'
import {formatDomainXml, parseDomainXml, type DomainDef} from '../../conf/domain.js'
import {formatNetworkXml, parseNetworkXml, type NetworkDef} from '../../conf/network.js'
import {formatPoolXml, parsePoolXml, type PoolDef} from '../../conf/pool.js'
import {formatCapabilities} from '../../conf/capabilities.js'
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
  type NetworkDriver,
  type NetworkRef,
  type NodeInfo,
  type PoolInfo,
  type StorageDriver,
} from '../types.js'
import {matchDomain, matchObject} from '../list-filter.js'
import {TEST_DOMAIN_XML, TEST_NETWORK_XML, TEST_NODE_INFO, TEST_POOL_CAPACITY, TEST_POOL_XML} from './defaults.js'

const D = ErrorDomain.TEST

interface TestDomain {
  def: DomainDef
  /** Definition to apply at next shutdown, when a running persistent domain was redefined. */
  newDef?: DomainDef
  id: number
  state: number
  reason: number
  persistent: boolean
  autostart: boolean
  /** process.hrtime.bigint() when it last started running, 0n when not running. */
  runningSince: bigint
  cpuTimeNs: bigint
}

interface TestObject<Def> {
  def: Def
  active: boolean
  persistent: boolean
  autostart: boolean
}

function canonicalUuid(u: string): string {
  return u.toLowerCase()
}

export class TestDriver implements HypervisorDriver, NetworkDriver, StorageDriver {
  readonly name = 'test'
  readonly type = 'TEST'
  readonly events = new EventEmitter()
  private readonly domains = new Map<string, TestDomain>()
  private readonly domainsByName = new Map<string, TestDomain>()
  private readonly networks = new Map<string, TestObject<NetworkDef>>()
  private readonly pools = new Map<string, TestObject<PoolDef>>()
  private nextId = 1
  private readonly caps: string

  constructor() {
    this.events.setMaxListeners(0)
    const dom = this.addDomain(parseDomainXml(TEST_DOMAIN_XML), true)
    this.startDomain(dom, false)
    const net = parseNetworkXml(TEST_NETWORK_XML)
    this.networks.set(net.uuid, {def: net, active: true, persistent: true, autostart: false})
    const pool = parsePoolXml(TEST_POOL_XML)
    pool.capacity = Number(TEST_POOL_CAPACITY)
    pool.allocation = 0
    pool.available = Number(TEST_POOL_CAPACITY)
    this.pools.set(pool.uuid, {def: pool, active: true, persistent: true, autostart: false})
    this.caps = formatCapabilities({
      hostUuid: 'd5b7e1b0-a9c4-4d3f-8a4e-7e0a4b1c2d3e',
      arch: 'i686',
      topology: {sockets: TEST_NODE_INFO.sockets, cores: TEST_NODE_INFO.cores, threads: TEST_NODE_INFO.threads},
      cells: [
        {id: 0, memoryKiB: 1572864, cpus: [0, 1, 2, 3, 4, 5, 6, 7]},
        {id: 1, memoryKiB: 1572864, cpus: [8, 9, 10, 11, 12, 13, 14, 15]},
      ],
      secModels: [],
      guests: [
        {
          osType: 'hvm',
          arch: 'i686',
          wordsize: 32,
          emulator: '/usr/bin/test-hv',
          machines: [{name: 'i440fx'}],
          domains: [{type: 'test'}],
          features: ['pae', 'nonpae'],
        },
        {osType: 'hvm', arch: 'x86_64', wordsize: 64, emulator: '/usr/bin/test-hv', machines: [{name: 'pc'}], domains: [{type: 'test'}]},
      ],
    })
  }

  // ---- connection-level facts -------------------------------------------------------------

  canonicalUri(path: string): string {
    return `test://${path}`
  }

  checkUriPath(path: string): void {
    if (path !== '/default') {
      throw new VirError(
        ErrorCode.NO_CONNECT,
        ErrorDomain.TEST,
        `no connection driver available for test://${path}: this daemon serves test:///default only`,
      )
    }
  }

  getVersion(): bigint {
    return 2n
  }

  getHostname(): string {
    return hostname()
  }

  getCapabilities(): string {
    return this.caps
  }

  getMaxVcpus(): number {
    return 32
  }

  nodeInfo(): NodeInfo {
    return TEST_NODE_INFO
  }

  nodeFreeMemory(): bigint {
    let used = 0n
    for (const d of this.domains.values()) if (d.id >= 0) used += BigInt(d.def.currentMemoryKiB)
    const total = TEST_NODE_INFO.memoryKiB
    return (used > total ? 0n : total - used) * 1024n
  }

  securityModel(): {model: string; doi: string} {
    return {model: '', doi: ''}
  }

  hasActiveDomains(): boolean {
    // Test domains are simulated; they never keep the daemon alive.
    return false
  }

  // ---- domains ----------------------------------------------------------------------------

  private ref(d: TestDomain): DomainRef {
    return {name: d.def.name, uuid: d.def.uuid, id: d.id}
  }

  private emit(d: TestDomain, event: number, detail: number): void {
    const msg: DomainEventMsg = {kind: 'lifecycle', dom: this.ref(d), event, detail}
    this.events.emit('domain', msg)
  }

  private get(uuid: string): TestDomain {
    const d = this.domains.get(canonicalUuid(uuid))
    if (!d) throw errors.noDomain(D, `no domain with matching uuid '${uuid}'`)
    return d
  }

  private addDomain(def: DomainDef, persistent: boolean): TestDomain {
    const d: TestDomain = {
      def,
      id: -1,
      state: DomainState.SHUTOFF,
      reason: ShutoffReason.UNKNOWN,
      persistent,
      autostart: false,
      runningSince: 0n,
      cpuTimeNs: 0n,
    }
    this.domains.set(def.uuid, d)
    this.domainsByName.set(def.name, d)
    return d
  }

  private removeDomain(d: TestDomain): void {
    this.domains.delete(d.def.uuid)
    this.domainsByName.delete(d.def.name)
  }

  private startDomain(d: TestDomain, paused: boolean): void {
    d.id = this.nextId++
    d.runningSince = process.hrtime.bigint()
    d.cpuTimeNs = 0n
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
    const ref = this.ref(d)
    d.id = -1
    d.state = DomainState.SHUTOFF
    d.reason = reason
    d.runningSince = 0n
    if (d.newDef) {
      this.domainsByName.delete(d.def.name)
      d.def = d.newDef
      d.newDef = undefined
      this.domainsByName.set(d.def.name, d)
    }
    this.events.emit('domain', {kind: 'lifecycle', dom: ref, event: LifecycleEvent.STOPPED, detail} satisfies DomainEventMsg)
    if (!d.persistent) this.removeDomain(d)
  }

  private accountCpu(d: TestDomain): void {
    if (d.state === DomainState.RUNNING && d.runningSince) {
      const now = process.hrtime.bigint()
      d.cpuTimeNs += now - d.runningSince
      d.runningSince = now
    }
  }

  private isActiveDom(d: TestDomain): boolean {
    return d.id !== -1
  }

  private requireActive(d: TestDomain): void {
    if (!this.isActiveDom(d)) throw errors.operationInvalid(ErrorDomain.DOMAIN, 'domain is not running')
  }

  listDomains(flags: number): DomainRef[] {
    const out: DomainRef[] = []
    for (const d of this.domains.values()) if (matchDomain(d, flags, this.isActiveDom(d))) out.push(this.ref(d))
    return out
  }

  numOfDomains(active: boolean): number {
    let n = 0
    for (const d of this.domains.values()) if (this.isActiveDom(d) === active) n++
    return n
  }

  lookupById(id: number): DomainRef {
    for (const d of this.domains.values()) if (d.id === id && id !== -1) return this.ref(d)
    throw errors.noDomain(D, `no domain with matching id ${id}`)
  }

  lookupByName(name: string): DomainRef {
    const d = this.domainsByName.get(name)
    if (!d) throw errors.noDomain(D, `no domain with matching name '${name}'`)
    return this.ref(d)
  }

  lookupByUuid(uuid: string): DomainRef {
    return this.ref(this.get(uuid))
  }

  /** Finds a domain clashing with a new definition: same name other uuid, or same uuid other name. */
  private checkClash(def: DomainDef): TestDomain | undefined {
    const byUuid = this.domains.get(def.uuid)
    if (byUuid) {
      if (byUuid.def.name !== def.name) {
        throw new VirError(ErrorCode.OPERATION_FAILED, D, `operation failed: domain '${byUuid.def.name}' is already defined with uuid ${def.uuid}`)
      }
      return byUuid
    }
    const byName = this.domainsByName.get(def.name)
    if (byName) {
      throw new VirError(ErrorCode.OPERATION_FAILED, D, `operation failed: domain '${def.name}' already exists with uuid ${byName.def.uuid}`)
    }
    return undefined
  }

  private parse(xml: string): DomainDef {
    const def = parseDomainXml(xml)
    if (def.type !== 'test') {
      throw errors.configUnsupported(D, `domain type '${def.type}' is not supported by the test driver (use type='test')`)
    }
    return def
  }

  defineXML(xml: string): DomainRef {
    const def = this.parse(xml)
    const existing = this.checkClash(def)
    if (existing) {
      const wasPersistent = existing.persistent
      existing.persistent = true
      if (this.isActiveDom(existing)) existing.newDef = def
      else {
        this.domainsByName.delete(existing.def.name)
        existing.def = def
        this.domainsByName.set(def.name, existing)
      }
      this.emit(existing, LifecycleEvent.DEFINED, wasPersistent ? DefinedDetail.UPDATED : DefinedDetail.ADDED)
      return this.ref(existing)
    }
    const d = this.addDomain(def, true)
    this.emit(d, LifecycleEvent.DEFINED, DefinedDetail.ADDED)
    return this.ref(d)
  }

  createXML(xml: string, flags: number): DomainRef {
    const def = this.parse(xml)
    const existing = this.checkClash(def)
    if (existing && this.isActiveDom(existing)) {
      throw errors.operationInvalid(ErrorDomain.DOMAIN, `domain '${def.name}' is already active`)
    }
    let d: TestDomain
    if (existing) {
      existing.def = def
      d = existing
    } else d = this.addDomain(def, false)
    this.startDomain(d, (flags & CreateFlags.PAUSED) !== 0)
    this.emit(d, LifecycleEvent.STARTED, StartedDetail.BOOTED)
    if (flags & CreateFlags.PAUSED) this.emit(d, LifecycleEvent.SUSPENDED, SuspendedDetail.PAUSED)
    return this.ref(d)
  }

  create(uuid: string, flags: number): DomainRef {
    const d = this.get(uuid)
    if (this.isActiveDom(d)) throw errors.operationInvalid(ErrorDomain.DOMAIN, 'domain is already running')
    this.startDomain(d, (flags & CreateFlags.PAUSED) !== 0)
    this.emit(d, LifecycleEvent.STARTED, StartedDetail.BOOTED)
    if (flags & CreateFlags.PAUSED) this.emit(d, LifecycleEvent.SUSPENDED, SuspendedDetail.PAUSED)
    return this.ref(d)
  }

  destroy(uuid: string): void {
    const d = this.get(uuid)
    this.requireActive(d)
    this.stopDomain(d, ShutoffReason.DESTROYED, StoppedDetail.DESTROYED)
  }

  shutdown(uuid: string): void {
    const d = this.get(uuid)
    if (d.state !== DomainState.RUNNING && d.state !== DomainState.PAUSED) {
      throw errors.operationInvalid(ErrorDomain.DOMAIN, `domain '${d.def.name}' not running`)
    }
    this.stopDomain(d, ShutoffReason.SHUTDOWN, StoppedDetail.SHUTDOWN)
  }

  reboot(uuid: string): void {
    const d = this.get(uuid)
    this.requireActive(d)
    this.events.emit('domain', {kind: 'reboot', dom: this.ref(d)} satisfies DomainEventMsg)
    const action = d.def.onReboot ?? 'restart'
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
    const d = this.get(uuid)
    this.requireActive(d)
    this.events.emit('domain', {kind: 'reboot', dom: this.ref(d)} satisfies DomainEventMsg)
  }

  suspend(uuid: string): void {
    const d = this.get(uuid)
    this.requireActive(d)
    if (d.state !== DomainState.RUNNING) throw errors.operationInvalid(ErrorDomain.DOMAIN, `domain '${d.def.name}' not running`)
    this.accountCpu(d)
    d.state = DomainState.PAUSED
    d.reason = PausedReason.USER
    this.emit(d, LifecycleEvent.SUSPENDED, SuspendedDetail.PAUSED)
  }

  resume(uuid: string): void {
    const d = this.get(uuid)
    this.requireActive(d)
    if (d.state !== DomainState.PAUSED) throw errors.operationInvalid(ErrorDomain.DOMAIN, `domain '${d.def.name}' not paused`)
    d.state = DomainState.RUNNING
    d.reason = RunningReason.UNPAUSED
    d.runningSince = process.hrtime.bigint()
    this.emit(d, LifecycleEvent.RESUMED, ResumedDetail.UNPAUSED)
  }

  undefine(uuid: string): void {
    const d = this.get(uuid)
    if (!d.persistent) throw errors.operationInvalid(ErrorDomain.DOMAIN, 'cannot undefine transient domain')
    d.autostart = false
    this.emit(d, LifecycleEvent.UNDEFINED, UndefinedDetail.REMOVED)
    if (this.isActiveDom(d)) {
      d.persistent = false
      d.newDef = undefined
    } else this.removeDomain(d)
  }

  getXMLDesc(uuid: string, flags: number): string {
    const d = this.get(uuid)
    const secure = (flags & XmlFlags.SECURE) !== 0
    if (flags & XmlFlags.INACTIVE) return formatDomainXml(d.newDef ?? d.def, {active: false, secure})
    return formatDomainXml(d.def, {id: d.id, active: this.isActiveDom(d), secure})
  }

  getInfo(uuid: string): DomainInfo {
    const d = this.get(uuid)
    this.accountCpu(d)
    return {
      state: d.state,
      maxMemKiB: BigInt(d.def.memoryKiB),
      memoryKiB: BigInt(d.def.currentMemoryKiB),
      nrVirtCpu: d.def.vcpus,
      cpuTimeNs: d.cpuTimeNs,
    }
  }

  getState(uuid: string): {state: number; reason: number} {
    const d = this.get(uuid)
    return {state: d.state, reason: d.reason}
  }

  getOSType(uuid: string): string {
    return this.get(uuid).def.os.type
  }

  getMaxMemory(uuid: string): bigint {
    return BigInt(this.get(uuid).def.memoryKiB)
  }

  domainGetMaxVcpus(uuid: string): number {
    return this.get(uuid).def.vcpus
  }

  getAutostart(uuid: string): boolean {
    return this.get(uuid).autostart
  }

  setAutostart(uuid: string, on: boolean): void {
    const d = this.get(uuid)
    if (!d.persistent) throw errors.operationInvalid(ErrorDomain.DOMAIN, 'cannot set autostart for transient domain')
    d.autostart = on
  }

  isActive(uuid: string): boolean {
    return this.isActiveDom(this.get(uuid))
  }

  isPersistent(uuid: string): boolean {
    return this.get(uuid).persistent
  }

  isUpdated(uuid: string): boolean {
    return this.get(uuid).newDef !== undefined
  }

  hasManagedSave(uuid: string): boolean {
    this.get(uuid)
    return false
  }

  getMessages(uuid: string): string[] {
    this.get(uuid)
    return []
  }

  getStats(refs: DomainRef[] | null): DomainStats[] {
    const list = refs ? refs.map((r) => this.get(r.uuid)) : [...this.domains.values()]
    return list.map((d) => {
      this.accountCpu(d)
      return {
        ref: this.ref(d),
        params: [
          {field: 'state.state', type: 'int', value: d.state},
          {field: 'state.reason', type: 'int', value: d.reason},
          {field: 'cpu.time', type: 'ullong', value: d.cpuTimeNs},
          {field: 'balloon.current', type: 'ullong', value: BigInt(d.def.currentMemoryKiB)},
          {field: 'balloon.maximum', type: 'ullong', value: BigInt(d.def.memoryKiB)},
          {field: 'vcpu.current', type: 'uint', value: d.def.vcpus},
          {field: 'vcpu.maximum', type: 'uint', value: d.def.vcpus},
        ],
      }
    })
  }

  // ---- networks ---------------------------------------------------------------------------

  private getNet(uuid: string): TestObject<NetworkDef> {
    const n = this.networks.get(canonicalUuid(uuid))
    if (!n) throw errors.noNetwork(`no network with matching uuid '${uuid}'`)
    return n
  }

  private netEvent(n: TestObject<NetworkDef>, event: number): void {
    this.events.emit('network', {kind: 'lifecycle', ref: {name: n.def.name, uuid: n.def.uuid}, event, detail: 0})
  }

  listNetworks(flags: number): NetworkRef[] {
    return [...this.networks.values()].filter((n) => matchObject(n, flags)).map((n) => ({name: n.def.name, uuid: n.def.uuid}))
  }

  numOfNetworks(active: boolean): number {
    return [...this.networks.values()].filter((n) => n.active === active).length
  }

  lookupNetworkByName(name: string): NetworkRef {
    for (const n of this.networks.values()) if (n.def.name === name) return {name, uuid: n.def.uuid}
    throw errors.noNetwork(`no network with matching name '${name}'`)
  }

  lookupNetworkByUuid(uuid: string): NetworkRef {
    const n = this.getNet(uuid)
    return {name: n.def.name, uuid: n.def.uuid}
  }

  private addNetwork(def: NetworkDef, persistent: boolean): TestObject<NetworkDef> {
    for (const n of this.networks.values()) {
      if (n.def.name === def.name && n.def.uuid !== def.uuid) {
        throw new VirError(
          ErrorCode.OPERATION_FAILED,
          ErrorDomain.NETWORK,
          `operation failed: network '${def.name}' already exists with uuid ${n.def.uuid}`,
        )
      }
    }
    const existing = this.networks.get(def.uuid)
    if (existing) {
      if (existing.def.name !== def.name) {
        throw new VirError(
          ErrorCode.OPERATION_FAILED,
          ErrorDomain.NETWORK,
          `operation failed: network '${existing.def.name}' is already defined with uuid ${def.uuid}`,
        )
      }
      if (!persistent && existing.active) throw errors.operationInvalid(ErrorDomain.NETWORK, `network '${def.name}' is already active`)
      existing.def = def
      existing.persistent ||= persistent
      return existing
    }
    const n = {def, active: false, persistent, autostart: false}
    this.networks.set(def.uuid, n)
    return n
  }

  networkDefineXML(xml: string): NetworkRef {
    const n = this.addNetwork(parseNetworkXml(xml), true)
    this.netEvent(n, 0)
    return {name: n.def.name, uuid: n.def.uuid}
  }

  networkCreateXML(xml: string): NetworkRef {
    const n = this.addNetwork(parseNetworkXml(xml), false)
    n.active = true
    this.netEvent(n, 2)
    return {name: n.def.name, uuid: n.def.uuid}
  }

  networkCreate(uuid: string): void {
    const n = this.getNet(uuid)
    if (n.active) throw errors.operationInvalid(ErrorDomain.NETWORK, `network '${n.def.name}' is already active`)
    n.active = true
    this.netEvent(n, 2)
  }

  networkDestroy(uuid: string): void {
    const n = this.getNet(uuid)
    if (!n.active) throw errors.operationInvalid(ErrorDomain.NETWORK, `network '${n.def.name}' is not active`)
    n.active = false
    this.netEvent(n, 3)
    if (!n.persistent) this.networks.delete(n.def.uuid)
  }

  networkUndefine(uuid: string): void {
    const n = this.getNet(uuid)
    if (!n.persistent) throw errors.operationInvalid(ErrorDomain.NETWORK, `network '${n.def.name}' is not persistent`)
    n.persistent = false
    n.autostart = false
    this.netEvent(n, 1)
    if (!n.active) this.networks.delete(n.def.uuid)
  }

  networkGetXMLDesc(uuid: string): string {
    return formatNetworkXml(this.getNet(uuid).def)
  }

  networkGetBridgeName(uuid: string): string {
    const n = this.getNet(uuid)
    if (!n.def.bridge?.name) throw errors.internal(ErrorDomain.NETWORK, `network '${n.def.name}' does not have a bridge name.`)
    return n.def.bridge.name
  }

  networkGetAutostart(uuid: string): boolean {
    return this.getNet(uuid).autostart
  }

  networkSetAutostart(uuid: string, on: boolean): void {
    const n = this.getNet(uuid)
    if (!n.persistent) throw errors.operationInvalid(ErrorDomain.NETWORK, 'cannot set autostart for transient network')
    n.autostart = on
  }

  networkIsActive(uuid: string): boolean {
    return this.getNet(uuid).active
  }

  networkIsPersistent(uuid: string): boolean {
    return this.getNet(uuid).persistent
  }

  // ---- storage pools ----------------------------------------------------------------------

  private getPool(uuid: string): TestObject<PoolDef> {
    const p = this.pools.get(canonicalUuid(uuid))
    if (!p) throw errors.noPool(`no storage pool with matching uuid '${uuid}'`)
    return p
  }

  private poolEvent(p: TestObject<PoolDef>, event: number): void {
    this.events.emit('pool', {kind: 'lifecycle', ref: {name: p.def.name, uuid: p.def.uuid}, event, detail: 0})
  }

  listPools(flags: number): NetworkRef[] {
    return [...this.pools.values()].filter((p) => matchObject(p, flags)).map((p) => ({name: p.def.name, uuid: p.def.uuid}))
  }

  numOfPools(active: boolean): number {
    return [...this.pools.values()].filter((p) => p.active === active).length
  }

  lookupPoolByName(name: string): NetworkRef {
    for (const p of this.pools.values()) if (p.def.name === name) return {name, uuid: p.def.uuid}
    throw errors.noPool(`no storage pool with matching name '${name}'`)
  }

  lookupPoolByUuid(uuid: string): NetworkRef {
    const p = this.getPool(uuid)
    return {name: p.def.name, uuid: p.def.uuid}
  }

  private addPool(def: PoolDef, persistent: boolean): TestObject<PoolDef> {
    for (const p of this.pools.values()) {
      if (p.def.name === def.name && p.def.uuid !== def.uuid) {
        throw new VirError(
          ErrorCode.OPERATION_FAILED,
          ErrorDomain.STORAGE,
          `operation failed: pool '${def.name}' already exists with uuid ${p.def.uuid}`,
        )
      }
    }
    const existing = this.pools.get(def.uuid)
    if (existing) {
      if (existing.active && !persistent) throw errors.operationInvalid(ErrorDomain.STORAGE, `storage pool '${def.name}' is already active`)
      existing.def = def
      existing.persistent ||= persistent
      return existing
    }
    def.capacity ||= Number(TEST_POOL_CAPACITY)
    def.available ||= def.capacity - (def.allocation ?? 0)
    const p = {def, active: false, persistent, autostart: false}
    this.pools.set(def.uuid, p)
    return p
  }

  poolDefineXML(xml: string): NetworkRef {
    const p = this.addPool(parsePoolXml(xml), true)
    this.poolEvent(p, 0)
    return {name: p.def.name, uuid: p.def.uuid}
  }

  poolCreateXML(xml: string): NetworkRef {
    const p = this.addPool(parsePoolXml(xml), false)
    p.active = true
    this.poolEvent(p, 2)
    return {name: p.def.name, uuid: p.def.uuid}
  }

  poolCreate(uuid: string): void {
    const p = this.getPool(uuid)
    if (p.active) throw errors.operationInvalid(ErrorDomain.STORAGE, `storage pool '${p.def.name}' is already active`)
    p.active = true
    this.poolEvent(p, 2)
  }

  poolBuild(uuid: string): void {
    const p = this.getPool(uuid)
    if (p.active) throw errors.operationInvalid(ErrorDomain.STORAGE, `storage pool '${p.def.name}' is already active`)
  }

  poolDestroy(uuid: string): void {
    const p = this.getPool(uuid)
    if (!p.active) throw errors.operationInvalid(ErrorDomain.STORAGE, `storage pool '${p.def.name}' is not active`)
    p.active = false
    this.poolEvent(p, 3)
    if (!p.persistent) this.pools.delete(p.def.uuid)
  }

  poolUndefine(uuid: string): void {
    const p = this.getPool(uuid)
    if (p.active) throw errors.operationInvalid(ErrorDomain.STORAGE, `storage pool '${p.def.name}' is still active`)
    this.poolEvent(p, 1)
    this.pools.delete(p.def.uuid)
  }

  poolRefresh(uuid: string): void {
    const p = this.getPool(uuid)
    if (!p.active) throw errors.operationInvalid(ErrorDomain.STORAGE, `storage pool '${p.def.name}' is not active`)
  }

  poolGetInfo(uuid: string): PoolInfo {
    const p = this.getPool(uuid)
    return {
      state: p.active ? 2 : 0,
      capacity: BigInt(p.def.capacity ?? 0),
      allocation: BigInt(p.def.allocation ?? 0),
      available: BigInt(p.def.available ?? 0),
    }
  }

  poolGetXMLDesc(uuid: string): string {
    return formatPoolXml(this.getPool(uuid).def)
  }

  poolGetAutostart(uuid: string): boolean {
    return this.getPool(uuid).autostart
  }

  poolSetAutostart(uuid: string, on: boolean): void {
    const p = this.getPool(uuid)
    if (!p.persistent) throw errors.operationInvalid(ErrorDomain.STORAGE, 'cannot set autostart for transient pool')
    p.autostart = on
  }

  poolIsActive(uuid: string): boolean {
    return this.getPool(uuid).active
  }

  poolIsPersistent(uuid: string): boolean {
    return this.getPool(uuid).persistent
  }

  poolListVolumes(uuid: string): string[] {
    this.getPool(uuid)
    return []
  }
}
