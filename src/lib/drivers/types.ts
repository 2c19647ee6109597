/**
 * Driver interfaces, in the spirit of libvirt's driver tables. The daemon dispatches RPC
 * procedures to these methods; drivers know nothing about the wire. Objects are addressed by
 * their UUID (the canonical lowercase string) as libvirt's daemon does.
 */
import type {MigrationDriver} from './migration-types.js'
import type {EventEmitter} from 'node:events'
import type {DomainObjRef} from '../conf/domain-list.js'
import type {HostMemoryDriver} from './host-memory-types.js'
import type {HostFactsDriver} from './host-types.js'
import type {HostPagesDriver} from './host-pages-types.js'
import type {MemstatPeriodDriver} from './memstat-period-types.js'
import type {StorageVolApi} from './storage-vol-types.js'
import type {ConsoleDriver} from './console-types.js'
import type {SnapshotDriver} from './snapshot-types.js'
import type {SaveDriver} from './save-types.js'
import type {NetworkDriverExtras} from './network-port-types.js'
import type {DomainNetDriver} from './domain-net-types.js'
import type {GraphicsDriver} from './graphics-types.js'
import type {InterfaceDriver} from './interface-types.js'
import type {NodeDeviceDriver} from './nodedev-types.js'
import type {NwFilterDriver} from './nwfilter-types.js'
import type {HotplugDriver} from './hotplug-types.js'
import type {GuestStatsDriver} from './stats-types.js'
import type {TuningDriver} from './tuning-types.js'

export const DomainState = {
  NOSTATE: 0,
  RUNNING: 1,
  BLOCKED: 2,
  PAUSED: 3,
  SHUTDOWN: 4,
  SHUTOFF: 5,
  CRASHED: 6,
  PMSUSPENDED: 7,
} as const

export const RunningReason = {UNKNOWN: 0, BOOTED: 1, MIGRATED: 2, RESTORED: 3, FROM_SNAPSHOT: 4, UNPAUSED: 5, WAKEUP: 8, CRASHED: 9} as const
export const PausedReason = {UNKNOWN: 0, USER: 1, SHUTTING_DOWN: 8, CRASHED: 10, STARTING_UP: 11} as const
export const ShutoffReason = {
  UNKNOWN: 0,
  SHUTDOWN: 1,
  DESTROYED: 2,
  CRASHED: 3,
  MIGRATED: 4,
  SAVED: 5,
  FAILED: 6,
  FROM_SNAPSHOT: 7,
  DAEMON: 8,
} as const

export const LifecycleEvent = {
  DEFINED: 0,
  UNDEFINED: 1,
  STARTED: 2,
  SUSPENDED: 3,
  RESUMED: 4,
  STOPPED: 5,
  SHUTDOWN: 6,
  PMSUSPENDED: 7,
  CRASHED: 8,
} as const
export const DefinedDetail = {ADDED: 0, UPDATED: 1} as const
export const UndefinedDetail = {REMOVED: 0} as const
export const StartedDetail = {BOOTED: 0} as const
export const SuspendedDetail = {PAUSED: 0} as const
export const ResumedDetail = {UNPAUSED: 0} as const
export const StoppedDetail = {SHUTDOWN: 0, DESTROYED: 1, CRASHED: 2, SAVED: 4, FAILED: 5} as const
export const ShutdownDetail = {FINISHED: 0, GUEST: 1, HOST: 2} as const

/** virConnectListAllDomains flags. */
export const ListDomainsFlags = {
  ACTIVE: 1,
  INACTIVE: 2,
  PERSISTENT: 4,
  TRANSIENT: 8,
  RUNNING: 16,
  PAUSED: 32,
  SHUTOFF: 64,
  OTHER: 128,
  MANAGEDSAVE: 256,
  NO_MANAGEDSAVE: 512,
  AUTOSTART: 1024,
  NO_AUTOSTART: 2048,
  HAS_SNAPSHOT: 4096,
  NO_SNAPSHOT: 8192,
} as const

/** virConnectListAllNetworks / StoragePools flags (note: INACTIVE=1, ACTIVE=2 here). */
export const ListObjectFlags = {INACTIVE: 1, ACTIVE: 2, PERSISTENT: 4, TRANSIENT: 8, AUTOSTART: 16, NO_AUTOSTART: 32} as const

export const CreateFlags = {PAUSED: 1, AUTODESTROY: 2} as const
export const DestroyFlags = {GRACEFUL: 1} as const
export const XmlFlags = {SECURE: 1, INACTIVE: 2, UPDATE_CPU: 4, MIGRATABLE: 8} as const

/** A domain handle (conf/domain-list.ts's DomainObjRef). */
export type DomainRef = DomainObjRef

export interface DomainInfo {
  state: number
  maxMemKiB: bigint
  memoryKiB: bigint
  nrVirtCpu: number
  cpuTimeNs: bigint
}

export interface NodeInfo {
  model: string
  memoryKiB: bigint
  cpus: number
  mhz: number
  nodes: number
  sockets: number
  cores: number
  threads: number
}

export interface DomainStats {
  ref: DomainRef
  params: Array<{field: string; type: 'int' | 'uint' | 'llong' | 'ullong' | 'string' | 'boolean'; value: number | bigint | string | boolean}>
}

export type DomainEventMsg = {kind: 'lifecycle'; dom: DomainRef; event: number; detail: number} | {kind: 'reboot'; dom: DomainRef}

export interface ObjectEventMsg {
  kind: 'lifecycle'
  ref: {name: string; uuid: string}
  event: number
  detail: number
}

/** The arguments of virConnectGetDomainCapabilities (null: not given). */
export interface DomainCapsArgs {
  emulatorbin: string | null
  arch: string | null
  machine: string | null
  virttype: string | null
  flags: number
}

/** A hypervisor driver: domains and host facts (libvirt's virHypervisorDriver). */
export interface HypervisorDriver
  extends
    HostMemoryDriver,
    HostFactsDriver,
    HostPagesDriver,
    MemstatPeriodDriver,
    ConsoleDriver,
    DomainNetDriver,
    GraphicsDriver,
    HotplugDriver,
    TuningDriver {
  readonly name: string
  /** What CONNECT_GET_TYPE answers, e.g. "TEST" or "QEMU". */
  readonly type: string
  /** Emits 'domain' (DomainEventMsg). */
  readonly events: EventEmitter
  /** The canonical URI of connections opened on this driver, e.g. "test:///default". */
  canonicalUri(path: string): string
  /** Validates the URI path this driver was asked for; throws a VirError when it is not served. */
  checkUriPath(path: string): void
  getVersion(): bigint
  getHostname(): string
  getCapabilities(): string | Promise<string>
  /** Domain capabilities XML for an emulator / arch / machine / virt type (virConnectGetDomainCapabilities). */
  getDomainCapabilities(args: DomainCapsArgs): string | Promise<string>
  getMaxVcpus(type: string | null): number
  nodeInfo(): NodeInfo
  nodeFreeMemory(): bigint
  securityModel(): {model: string; doi: string}

  listDomains(flags: number): DomainRef[]
  numOfDomains(active: boolean): number
  lookupById(id: number): DomainRef
  lookupByName(name: string): DomainRef
  lookupByUuid(uuid: string): DomainRef
  defineXML(xml: string, flags: number): DomainRef | Promise<DomainRef>
  createXML(xml: string, flags: number): Promise<DomainRef> | DomainRef
  create(uuid: string, flags: number): Promise<DomainRef> | DomainRef
  destroy(uuid: string, flags: number): Promise<void> | void
  shutdown(uuid: string, flags: number): Promise<void> | void
  reboot(uuid: string, flags: number): Promise<void> | void
  /** Hard reset, like pressing the reset button (virDomainReset). */
  reset(uuid: string): Promise<void> | void
  suspend(uuid: string): Promise<void> | void
  resume(uuid: string): Promise<void> | void
  undefine(uuid: string, flags: number): Promise<void> | void
  getXMLDesc(uuid: string, flags: number): string
  getInfo(uuid: string): DomainInfo | Promise<DomainInfo>
  getState(uuid: string): {state: number; reason: number}
  getOSType(uuid: string): string
  getMaxMemory(uuid: string): bigint
  domainGetMaxVcpus(uuid: string): number
  getAutostart(uuid: string): boolean
  setAutostart(uuid: string, on: boolean): Promise<void> | void
  isActive(uuid: string): boolean
  isPersistent(uuid: string): boolean
  isUpdated(uuid: string): boolean
  hasManagedSave(uuid: string): boolean
  getMessages(uuid: string): string[]
  getStats(refs: DomainRef[] | null, flags: number): Promise<DomainStats[]> | DomainStats[]
  /** Called once when the daemon stops (not when guests must stop: they outlive the daemon). */
  shutdownDriver?(): Promise<void>
  /** Whether any guest runs (daemon idle timeout counts these). */
  hasActiveDomains(): boolean
  /**
   * Network and storage drivers of the hypervisor's own (the test driver keeps its networks and
   * pools, like libvirt's); connections to it use these instead of the host's.
   */
  readonly own?: {network: NetworkDriver; storage: StorageDriver; interface?: InterfaceDriver; nodedev?: NodeDeviceDriver}
  /** Domain snapshots, where the driver has them (snapshot-types.ts). */
  readonly snapshots?: SnapshotDriver
  /** Save/restore and managed save, where the driver has them (save-types.ts). */
  readonly saves?: SaveDriver
  /** Guest statistics and guest control, where the driver has them (stats-types.ts). */
  readonly guest?: GuestStatsDriver
  /** Migration, where the driver has it (migration-types.ts). */
  readonly migration?: MigrationDriver
}

export interface NetworkRef {
  name: string
  uuid: string
}

export interface NetworkDriver extends NetworkDriverExtras {
  readonly events: EventEmitter
  listNetworks(flags: number): NetworkRef[]
  numOfNetworks(active: boolean): number
  lookupNetworkByName(name: string): NetworkRef
  lookupNetworkByUuid(uuid: string): NetworkRef
  networkDefineXML(xml: string): NetworkRef | Promise<NetworkRef>
  networkCreateXML(xml: string): NetworkRef | Promise<NetworkRef>
  networkCreate(uuid: string): void | Promise<void>
  networkDestroy(uuid: string): void | Promise<void>
  networkUndefine(uuid: string): void | Promise<void>
  networkGetXMLDesc(uuid: string, flags: number): string
  networkGetBridgeName(uuid: string): string
  networkGetAutostart(uuid: string): boolean
  networkSetAutostart(uuid: string, on: boolean): void | Promise<void>
  networkIsActive(uuid: string): boolean
  networkIsPersistent(uuid: string): boolean
}

export interface PoolInfo {
  state: number
  capacity: bigint
  allocation: bigint
  available: bigint
}

export interface PoolRef {
  name: string
  uuid: string
}

export interface StorageDriver extends StorageVolApi {
  readonly events: EventEmitter
  listPools(flags: number): PoolRef[]
  numOfPools(active: boolean): number
  lookupPoolByName(name: string): PoolRef
  lookupPoolByUuid(uuid: string): PoolRef
  poolDefineXML(xml: string, flags: number): PoolRef | Promise<PoolRef>
  poolCreateXML(xml: string, flags: number): PoolRef | Promise<PoolRef>
  poolCreate(uuid: string, flags: number): void | Promise<void>
  poolBuild(uuid: string, flags: number): void | Promise<void>
  poolDestroy(uuid: string): void | Promise<void>
  poolUndefine(uuid: string): void | Promise<void>
  poolRefresh(uuid: string, flags: number): void | Promise<void>
  poolGetInfo(uuid: string): PoolInfo
  poolGetXMLDesc(uuid: string, flags: number): string
  poolGetAutostart(uuid: string): boolean
  poolSetAutostart(uuid: string, on: boolean): void | Promise<void>
  poolIsActive(uuid: string): boolean
  poolIsPersistent(uuid: string): boolean
  poolListVolumes(uuid: string): string[]
}

export interface SecretRef {
  uuid: string
  usageType: number
  usageID: string
}

export interface SecretDriver {
  readonly events: EventEmitter
  listSecrets(flags: number): SecretRef[]
  lookupSecretByUuid(uuid: string): SecretRef
  lookupSecretByUsage(usageType: number, usageID: string): SecretRef
  secretDefineXML(xml: string, flags: number): SecretRef | Promise<SecretRef>
  secretGetXMLDesc(uuid: string, flags: number): string
  secretSetValue(uuid: string, value: Buffer, flags: number): void | Promise<void>
  /** `internal` is true for in-daemon callers, which may read private secrets. */
  secretGetValue(uuid: string, flags: number, internal: boolean): Buffer
  secretUndefine(uuid: string): void | Promise<void>
}

/** What drivers and services log through (the daemon's Logger, or anything with these four). */
export interface LogSink {
  debug(msg: string): void
  info(msg: string): void
  warn(msg: string): void
  error(msg: string): void
}

/** Where a driver keeps its files (the daemon computes them: daemon/paths.ts driverStateDirs). */
export interface DriverDirs {
  /** Persistent object definitions (XML). */
  configDir: string
  autostartDir: string
  /** Runtime state (live XML, pid files, monitor sockets). */
  runDir: string
  /** Persistent driver state (images, nvram, save files, ...). */
  stateDir: string
  logDir: string
}

/** What one open connection is bound to: a hypervisor plus the secondary drivers. */
export interface ConnectionDrivers {
  uri: string
  hypervisor?: HypervisorDriver
  network?: NetworkDriver
  storage?: StorageDriver
  secret?: SecretDriver
  interface?: InterfaceDriver
  nodedev?: NodeDeviceDriver
  nwfilter?: NwFilterDriver
}
