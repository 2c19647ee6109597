/**
 * What a pool type does (libvirt's virStorageBackend): build, start, stop, delete, refresh, and the
 * volume operations. One file per type (backend-dir.ts, backend-fs.ts, backend-disk.ts); the driver
 * looks the backend up by pool type and refuses the types that have none.
 */
import type {PoolDef} from '../../conf/pool.js'
import type {VolDef} from '../../conf/volume.js'

/** One volume as the pool knows it after a refresh or a create. */
export interface Vol {
  name: string
  key: string
  path: string
  /** The probed (or created) definition: type, format, sizes, permissions, backing store. */
  def: VolDef
  /** Transfers (upload, download) running on it. */
  inUse?: number
  /** An upload into it was cut short: its content is neither the old nor the new (upload-mark.ts). */
  interrupted?: boolean
}

export interface PoolSizes {
  capacity: bigint
  allocation: bigint
  available: bigint
}

export interface RefreshResult extends PoolSizes {
  vols: Vol[]
}

export interface PoolBackend {
  readonly type: string
  /** Formats a new volume may have, and the default (volOptions in pool-capabilities). */
  readonly volFormats: readonly string[]
  readonly defaultVolFormat: string
  build(def: PoolDef, flags: number): Promise<void>
  /** Makes the pool usable (mount, check the target); refresh follows. */
  start(def: PoolDef): Promise<void>
  stop(def: PoolDef): Promise<void>
  delete(def: PoolDef, flags: number): Promise<void>
  refresh(def: PoolDef): Promise<RefreshResult>
  /** Creates the volume; returns its path (the driver refreshes it afterwards). */
  createVol(def: PoolDef, vol: VolDef, flags: number): Promise<string>
  cloneVol(def: PoolDef, vol: VolDef, src: Vol, flags: number): Promise<string>
  deleteVol(def: PoolDef, vol: Vol, flags: number): Promise<void>
  wipeVol(def: PoolDef, vol: Vol, algorithm: number): Promise<void>
  resizeVol(def: PoolDef, vol: Vol, capacity: bigint, flags: number): Promise<void>
  /** The device paths this pool's sources might be (find-storage-pool-sources). */
  findSources?(srcSpec: string | null): Promise<string>
}
