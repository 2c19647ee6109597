/**
 * The volume half of libvirt's storage driver table (virStorageDriver's vol* entries) and the pool
 * calls that came with it, kept apart from types.ts so that the storage family grows in one file.
 * Volumes are addressed by pool UUID and volume name, as the daemon resolves RPC handles.
 */

/** A volume handle (remote_nonnull_storage_vol): its pool's name, its name and its key (the path for file volumes). */
export interface VolRef {
  pool: string
  name: string
  key: string
}

/** virStorageVolInfo: type (virStorageVolType), capacity and allocation in bytes. */
export interface VolInfo {
  type: number
  capacity: bigint
  allocation: bigint
}

/** virStorageVolType. */
export const VolType = {FILE: 0, BLOCK: 1, DIR: 2, NETWORK: 3, NETDIR: 4, PLOOP: 5} as const

/** virStorageVolCreateFlags / virStorageVolResizeFlags / virStorageVolDeleteFlags / virStoragePoolBuildFlags. */
export const VolCreateFlags = {PREALLOC_METADATA: 1, REFLINK: 2, VALIDATE: 4} as const
export const VolResizeFlags = {ALLOCATE: 1, DELTA: 2, SHRINK: 4} as const
export const VolDeleteFlags = {ZEROED: 1, WITH_SNAPSHOTS: 2} as const
export const PoolBuildFlags = {NEW: 0, REPAIR: 1, RESIZE: 2, NO_OVERWRITE: 4, OVERWRITE: 8} as const
export const PoolDeleteFlags = {NORMAL: 0, ZEROED: 1} as const

/** virStorageVolWipeAlgorithm. */
export const WipeAlgorithm = {ZERO: 0, NNSA: 1, DOD: 2, BSI: 3, GUTMANN: 4, SCHNEIER: 5, PFITZNER7: 6, PFITZNER33: 7, RANDOM: 8, TRIM: 9} as const

/** One unit of a volume transfer: bytes, or a hole of so many bytes (sparse transfers). */
export type VolChunk = Buffer | {hole: bigint}

/** An upload in progress: chunks in order, then finish (or abort). */
export interface VolUpload {
  /** The next chunk; `release` (when given) is called once the chunk's bytes are written or dropped: its buffer is then reused. */
  write(c: VolChunk, release?: () => void): Promise<void>
  finish(): Promise<void>
  abort(): Promise<void>
}

/** A download in progress: chunks until null. */
export interface VolDownload {
  next(): Promise<VolChunk | null>
  /**
   * Where offered, used instead of next(): reads the next bytes straight into `into` (filled in
   * order) and says how many, or returns the next hole, or null at the end.
   */
  nextInto?(into: Buffer[]): Promise<number | {hole: bigint} | null>
  close(): Promise<void>
}

/** virStorageVolUploadFlags / virStorageVolDownloadFlags. */
export const VolTransferFlags = {SPARSE_STREAM: 1} as const

/** Volume calls and the pool calls that go with them; every storage driver implements them. */
export interface StorageVolApi {
  poolDelete(uuid: string, flags: number): void | Promise<void>
  lookupPoolByVolume(vol: VolRef): PoolRefLike
  lookupPoolByTargetPath(path: string): PoolRefLike
  findPoolSources(type: string, srcSpec: string | null, flags: number): string | Promise<string>
  getPoolCapabilities(flags: number): string
  poolListAllVolumes(uuid: string, flags: number): VolRef[]
  volLookupByName(uuid: string, name: string): VolRef
  volLookupByKey(key: string): VolRef
  volLookupByPath(path: string): VolRef
  volCreateXML(uuid: string, xml: string, flags: number): VolRef | Promise<VolRef>
  volCreateXMLFrom(uuid: string, xml: string, clone: VolRef, flags: number): VolRef | Promise<VolRef>
  volDelete(vol: VolRef, flags: number): void | Promise<void>
  volWipe(vol: VolRef, algorithm: number, flags: number): void | Promise<void>
  volResize(vol: VolRef, capacity: bigint, flags: number): void | Promise<void>
  volGetInfo(vol: VolRef, flags: number): VolInfo | Promise<VolInfo>
  volGetXMLDesc(vol: VolRef, flags: number): string | Promise<string>
  volGetPath(vol: VolRef): string
  /** vol-upload / vol-download; absent where the driver has none (libvirt's test driver). */
  volUpload?(vol: VolRef, offset: bigint, length: bigint, flags: number): Promise<VolUpload>
  volDownload?(vol: VolRef, offset: bigint, length: bigint, flags: number): Promise<VolDownload>
}

/** A pool handle (same shape as types.ts's PoolRef, repeated so this file imports nothing). */
export interface PoolRefLike {
  name: string
  uuid: string
}

/**
 * What the QEMU driver asks of the storage driver for `<disk type='volume'>`: the volume's path and
 * kind, and which volumes a guest's disks name (for undefine --remove-all-storage). In libvirtd the
 * storage driver answers in process.
 */
export interface StorageVolumes {
  /** Resolves pool + volume to the file or device QEMU opens; throws libvirt's errors when absent or inactive. */
  resolveVolume(pool: string, volume: string): Promise<{path: string; type: 'file' | 'block' | 'dir' | 'network'; format?: string}>
  /** Deletes the volume that holds `path` (undefine --remove-all-storage); false when no pool holds it. */
  deleteVolumeByPath(path: string): Promise<boolean>
  /**
   * A storage migration's missing disk (libvirt's migration pre-creation): the active pool whose target
   * is `pool.dir` (libvirt's NO_STORAGE_POOL error when none) or named `pool.name`, then volume `name`
   * there, created from `xml` unless the pool has it. The new volume's path, undefined when it existed.
   */
  precreateVolume(pool: {dir: string} | {name: string}, name: string, xml: string, flags: number): Promise<string | undefined>
}

/** A pool's refresh event (VIR_STORAGE_POOL_EVENT_ID_REFRESH): storage drivers emit it as 'pool-refresh' on their `events`. */
export interface PoolRefreshMsg {
  ref: {name: string; uuid: string}
}
