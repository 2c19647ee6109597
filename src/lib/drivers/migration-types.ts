/**
 * Migration (libvirt's protocol version 3 with typed parameters), as a hypervisor driver offers it:
 * begin / prepare / perform / finish / confirm, the job a migration runs as (stats, abort), and its
 * tunables (speed, downtime). The peer of a peer-to-peer migration is handed in by the daemon,
 * which owns the client connection to the destination (a driver never opens one itself).
 */
import type {DomainRef} from './types.js'

/** virDomainMigrateFlags. */
export const MigrateFlags = {
  LIVE: 1,
  PEER2PEER: 2,
  TUNNELLED: 4,
  PERSIST_DEST: 8,
  UNDEFINE_SOURCE: 16,
  PAUSED: 32,
  NON_SHARED_DISK: 64,
  NON_SHARED_INC: 128,
  CHANGE_PROTECTION: 256,
  UNSAFE: 512,
  OFFLINE: 1024,
  COMPRESSED: 2048,
  ABORT_ON_ERROR: 4096,
  AUTO_CONVERGE: 8192,
  RDMA_PIN_ALL: 16384,
  POSTCOPY: 32768,
  TLS: 65536,
  PARALLEL: 131072,
} as const

/** VIR_MIGRATE_PARAM_*: the typed parameters' names. */
export const MigrateParam = {
  URI: 'migrate_uri',
  DEST_NAME: 'destination_name',
  DEST_XML: 'destination_xml',
  PERSIST_XML: 'persistent_xml',
  BANDWIDTH: 'bandwidth',
  GRAPHICS_URI: 'graphics_uri',
  LISTEN_ADDRESS: 'listen_address',
  MIGRATE_DISKS: 'migrate_disks',
  DISKS_PORT: 'disks_port',
  COMPRESSION: 'compression',
  AUTO_CONVERGE_INITIAL: 'auto_converge.initial',
  AUTO_CONVERGE_INCREMENT: 'auto_converge.increment',
} as const

/** Typed parameter types (virTypedParameterType). */
export const ParamType = {INT: 1, UINT: 2, LLONG: 3, ULLONG: 4, DOUBLE: 5, BOOLEAN: 6, STRING: 7} as const

/** One typed parameter, as the protocol carries it (the RPC layer's TypedParam has this shape). */
export interface MigrationParam {
  field: string
  type: number
  value: number | bigint | boolean | string
}

/** virDomainJobType. */
export const JobType = {NONE: 0, BOUNDED: 1, UNBOUNDED: 2, COMPLETED: 3, FAILED: 4, CANCELLED: 5} as const
/** virDomainJobOperation. */
export const JobOperation = {UNKNOWN: 0, START: 1, SAVE: 2, RESTORE: 3, MIGRATION_IN: 4, MIGRATION_OUT: 5} as const
/** virDomainGetJobStatsFlags. */
export const JobStatsFlags = {COMPLETED: 1, KEEP_COMPLETED: 2} as const

/** A job's statistics as virDomainGetJobStats returns them. */
export interface JobStats {
  type: number
  params: MigrationParam[]
}

/** Where a tunnelled migration's bytes go (the RPC stream on the source, QEMU's incoming socket on the destination). */
export interface TunnelSink {
  write(data: Buffer): Promise<void>
  finish(): Promise<void>
  abort(): void
}

/** The destination daemon, as the source of a peer-to-peer migration talks to it. */
export interface MigrationPeer {
  readonly uri: string
  prepare(params: MigrationParam[], cookie: Buffer, flags: number): Promise<{cookie: Buffer; uri: string | null}>
  finish(params: MigrationParam[], cookie: Buffer, flags: number, cancelled: boolean): Promise<{dom: DomainRef; cookie: Buffer}>
  /** PREPARE_TUNNEL3: the stream carries QEMU's migration data. */
  prepareTunnel(params: MigrationParam[], cookie: Buffer, flags: number): Promise<{cookie: Buffer; sink: TunnelSink}>
  /** Calls `fn` once if the connection to the destination is lost. */
  onLost(fn: () => void): void
}

/** What the connection of the call knows about itself (the destination picks its address from it). */
export interface PrepareContext {
  /** The local IP address of the client's connection, when it is a TCP one. */
  localAddress?: string
  /** Calls `fn` once the connection that prepared the migration closes (libvirt destroys an incoming guest not finished by then). */
  onClose?: (fn: () => void) => void
}

export interface MigrationDriver {
  /** CONNECT_SUPPORTS_FEATURE for the migration features (virDrvFeature numbers). */
  supportsFeature(feature: number): boolean
  begin(uuid: string, params: MigrationParam[], flags: number): Promise<{cookie: Buffer; xml: string}>
  prepare(params: MigrationParam[], cookie: Buffer, flags: number, ctx: PrepareContext): Promise<{cookie: Buffer; uri: string | null}>
  /** Tunnelled: QEMU's incoming stream fed from `sink` (the RPC stream's consumer). */
  prepareTunnel(params: MigrationParam[], cookie: Buffer, flags: number, ctx?: PrepareContext): Promise<{cookie: Buffer; sink: TunnelSink}>
  /** Direct (managed) when `peer` is absent; peer-to-peer otherwise (the whole protocol run from here). */
  perform(uuid: string, params: MigrationParam[], cookie: Buffer, flags: number, peer?: MigrationPeer): Promise<Buffer>
  finish(params: MigrationParam[], cookie: Buffer, flags: number, cancelled: boolean): Promise<{dom: DomainRef; cookie: Buffer}>
  confirm(uuid: string, params: MigrationParam[], cookie: Buffer, flags: number, cancelled: boolean): Promise<void>
  getJobStats(uuid: string, flags: number): JobStats
  abortJob(uuid: string): Promise<void>
  /** MiB/s. */
  setMaxSpeed(uuid: string, bandwidth: bigint, flags: number): Promise<void>
  getMaxSpeed(uuid: string, flags: number): bigint
  /** Milliseconds. */
  setMaxDowntime(uuid: string, downtime: bigint, flags: number): Promise<void>
  getMaxDowntime(uuid: string, flags: number): Promise<bigint>
  /** virDomainMigrateStartPostCopy. */
  startPostCopy(uuid: string, flags: number): Promise<void>
}

/** The hypervisor's `events` emitter name of MIGRATION_ITERATION (virsh migrate --postcopy-after-precopy waits for it). */
export const MIGRATION_ITERATION_EVENT = 'migration-iteration'

export interface MigrationIterationMsg {
  dom: DomainRef
  iteration: number
}
