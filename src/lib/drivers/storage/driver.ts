/**
 * The storage driver (libvirt's virStorageDriver, in libvirtd and as virtstoraged): pools from
 * pools.ts plus the volume calls, and the StorageVolumes view the QEMU driver resolves
 * `<disk type='volume'>` through.
 */
import {realpathSync} from 'node:fs'
import {basename} from 'node:path'

import {ErrorCode, ErrorDomain, VirError, errors} from '../../errors.js'
import {formatVolXml, parseVolXml, type VolDef} from '../../conf/volume.js'
import {
  VolDeleteFlags,
  VolResizeFlags,
  VolTransferFlags,
  VolType,
  WipeAlgorithm,
  type StorageVolumes,
  type VolDownload,
  type VolInfo,
  type VolRef,
  type VolUpload,
} from '../storage-vol-types.js'
import type {PoolRef, StorageDriver} from '../types.js'
import type {PoolBackend, Vol} from './backend.js'
import {DirBackend} from './backend-dir.js'
import {FsBackend} from './backend-fs.js'
import {DiskBackend} from './backend-disk.js'
import {probeVolume} from './probe.js'
import {unsupported} from './sys.js'
import {openDownload} from './download.js'
import {openUpload} from './upload.js'
import {clearMark} from './upload-mark.js'
import {StoragePools, type PoolObj, type StorageDriverOptions} from './pools.js'

const S = ErrorDomain.STORAGE

export type {StorageDriverOptions}

const noVol = (what: string) =>
  new VirError(ErrorCode.NO_STORAGE_VOL, S, `Storage volume not found: ${what}`, {str1: 'Storage volume not found: %s', str2: what})

function checkFlags(flags: number, allowed: number, fn: string): void {
  const extra = (flags >>> 0) & ~allowed
  if (extra !== 0) throw errors.invalidArg(S, `unsupported flags (0x${extra.toString(16)}) in function ${fn}`)
}

const VOL_TYPE_NUM: Record<string, number> = {file: VolType.FILE, block: VolType.BLOCK, dir: VolType.DIR, network: VolType.NETWORK}

/** The pool types this driver runs, in pool-capabilities order. */
export function defaultBackends(): PoolBackend[] {
  return [new DirBackend(), new FsBackend(), new DiskBackend()]
}

export class StorageDriverImpl extends StoragePools implements StorageDriver, StorageVolumes {
  /** Set by the daemon: whether a running guest uses a path (a volume in use is not deleted). */
  inUseByGuest?: (path: string) => boolean

  private volRef(p: PoolObj, v: Vol): VolRef {
    return {pool: p.def.name, name: v.name, key: v.key}
  }

  private poolByName(name: string): PoolObj {
    for (const p of this.pools.values()) if (p.def.name === name) return p
    throw errors.noPool(`no storage pool with matching name '${name}'`)
  }

  /** The pool and volume of a handle; the pool must be active. */
  private getVol(ref: VolRef): {p: PoolObj; v: Vol} {
    const p = this.poolByName(ref.pool)
    this.requireActive(p)
    const v = p.vols.get(ref.name)
    if (!v) throw noVol(`no storage vol with matching name '${ref.name}'`)
    return {p, v}
  }

  /** Re-probes one volume (libvirt refreshes a volume before reporting it). */
  private async refreshVol(v: Vol): Promise<void> {
    const pr = await probeVolume(v.path)
    if (pr === undefined) return
    Object.assign(v.def, {
      type: pr.type,
      capacity: pr.capacity,
      allocation: pr.allocation,
      physical: pr.physical,
      format: v.def.type === 'block' && v.def.format !== undefined ? v.def.format : pr.format,
      perms: pr.perms,
      timestamps: pr.timestamps,
      backing: pr.backing,
    })
  }

  private async addVol(p: PoolObj, name: string, path: string): Promise<Vol> {
    const pr = await probeVolume(path)
    if (pr === undefined) throw errors.internal(S, `volume '${name}' vanished after creation`)
    const v: Vol = {
      name,
      key: path,
      path,
      def: {
        name,
        type: pr.type,
        key: path,
        capacity: pr.capacity,
        allocation: pr.allocation,
        physical: pr.physical,
        targetPath: path,
        format: pr.format,
        perms: pr.perms,
        timestamps: pr.timestamps,
        backing: pr.backing,
      },
    }
    p.vols.set(name, v)
    await this.refreshPool(p).catch(() => {})
    return v
  }

  poolListAllVolumes(uuid: string, flags: number): VolRef[] {
    checkFlags(flags, 0, 'storagePoolListAllVolumes')
    const p = this.getPool(uuid)
    this.requireActive(p)
    return [...p.vols.values()].sort((a, b) => (a.name < b.name ? -1 : 1)).map((v) => this.volRef(p, v))
  }

  lookupPoolByVolume(vol: VolRef): PoolRef {
    return this.ref(this.poolByName(vol.pool))
  }

  volLookupByName(uuid: string, name: string): VolRef {
    const p = this.getPool(uuid)
    this.requireActive(p)
    const v = p.vols.get(name)
    if (!v) throw noVol(`no storage vol with matching name '${name}'`)
    return this.volRef(p, v)
  }

  volLookupByKey(key: string): VolRef {
    for (const p of this.pools.values()) {
      if (!p.active) continue
      for (const v of p.vols.values()) if (v.key === key) return this.volRef(p, v)
    }
    throw noVol(`no storage vol with matching key ${key}`)
  }

  volLookupByPath(path: string): VolRef {
    let real = path
    try {
      real = realpathSync(path)
    } catch {
      // keep the path as given
    }
    for (const p of this.pools.values()) {
      if (!p.active) continue
      for (const v of p.vols.values()) if (v.path === path || v.path === real) return this.volRef(p, v)
    }
    throw noVol(`no storage vol with matching path '${path}'`)
  }

  private async createCommon(p: PoolObj, def: VolDef, make: () => Promise<string>): Promise<VolRef> {
    this.requireActive(p)
    if (p.vols.has(def.name) || p.building.has(def.name)) {
      throw new VirError(ErrorCode.STORAGE_VOL_EXIST, S, `storage volume '${def.name}' exists already`, {
        str1: "storage volume '%s' exists already",
        str2: def.name,
      })
    }
    p.building.add(def.name)
    try {
      const path = await make()
      const v = await this.addVol(p, p.def.type === 'disk' ? basename(path) : def.name, path)
      return this.volRef(p, v)
    } finally {
      p.building.delete(def.name)
    }
  }

  async volCreateXML(uuid: string, xml: string, flags: number): Promise<VolRef> {
    checkFlags(flags, 5, 'storageVolCreateXML')
    const p = this.getPool(uuid)
    this.requireActive(p)
    const def = parseVolXml(xml, {docName: 'storage_volume_definition'})
    const backend = this.backendOf(p.def)
    if (def.backing) {
      // The backing image must exist; its format is probed when not given.
      const b = await probeVolume(def.backing.path)
      if (b === undefined) throw errors.internal(S, `missing backing store path '${def.backing.path}'`)
      def.backing.format ??= b.format
    }
    return this.createCommon(p, def, () => backend.createVol(p.def, def, flags))
  }

  async volCreateXMLFrom(uuid: string, xml: string, clone: VolRef, flags: number): Promise<VolRef> {
    checkFlags(flags, 3, 'storageVolCreateXMLFrom')
    const p = this.getPool(uuid)
    this.requireActive(p)
    const src = this.getVol(clone)
    if (src.v.interrupted) throw incomplete(src.v)
    const def = parseVolXml(xml, {optCapacity: true, docName: 'storage_volume_definition'})
    def.capacity ??= src.v.def.capacity
    if (def.capacity !== undefined && src.v.def.capacity !== undefined && def.capacity < src.v.def.capacity) def.capacity = src.v.def.capacity
    const backend = this.backendOf(p.def)
    return this.createCommon(p, def, () => backend.cloneVol(p.def, def, src.v, flags))
  }

  async volDelete(ref: VolRef, flags: number): Promise<void> {
    checkFlags(flags, VolDeleteFlags.ZEROED | VolDeleteFlags.WITH_SNAPSHOTS, 'storageVolDelete')
    const {p, v} = this.getVol(ref)
    if (p.building.has(v.name)) throw errors.operationInvalid(S, `volume '${v.name}' is still being allocated.`)
    if ((v.inUse ?? 0) > 0) throw errors.operationInvalid(S, `volume '${v.name}' is still in use.`)
    if (this.inUseByGuest?.(v.path)) throw errors.operationInvalid(S, `volume '${v.name}' is still in use.`)
    const backend = this.backendOf(p.def)
    if (flags & VolDeleteFlags.ZEROED) await backend.wipeVol(p.def, v, WipeAlgorithm.ZERO)
    await backend.deleteVol(p.def, v, flags)
    p.vols.delete(v.name)
    await this.refreshPool(p).catch(() => {})
  }

  async volWipe(ref: VolRef, algorithm: number, flags: number): Promise<void> {
    checkFlags(flags, 0, 'storageVolWipePattern')
    if (algorithm < 0 || algorithm > WipeAlgorithm.TRIM) throw errors.invalidArg(S, `wiping algorithm ${algorithm} not supported`)
    const {p, v} = this.getVol(ref)
    await this.backendOf(p.def).wipeVol(p.def, v, algorithm)
    // Its content is known again (the pattern): no longer an interrupted upload.
    if (v.interrupted && v.def.type !== 'block') clearMark(v.path)
    v.interrupted = undefined
    await this.refreshVol(v)
  }

  async volResize(ref: VolRef, capacity: bigint, flags: number): Promise<void> {
    checkFlags(flags, VolResizeFlags.ALLOCATE | VolResizeFlags.DELTA | VolResizeFlags.SHRINK, 'storageVolResize')
    const {p, v} = this.getVol(ref)
    await this.refreshVol(v)
    const cur = v.def.capacity ?? 0n
    let abs = capacity
    if (flags & VolResizeFlags.DELTA) abs = flags & VolResizeFlags.SHRINK ? cur - capacity : cur + capacity
    if (abs < 0n) throw errors.invalidArg(S, "can't shrink capacity below zero")
    const alloc = v.def.format === 'raw' || v.def.format === 'none' ? (v.def.allocation ?? 0n) : 0n
    if (abs < alloc) throw errors.invalidArg(S, "can't shrink capacity below existing allocation")
    if (abs < cur && !(flags & VolResizeFlags.SHRINK)) {
      throw errors.invalidArg(S, "Can't shrink capacity below current capacity unless shrink flag explicitly specified")
    }
    if (flags & VolResizeFlags.ALLOCATE && abs - (v.def.allocation ?? 0n) > p.sizes.available) {
      throw errors.operationFailed(S, 'Not enough space left in storage pool')
    }
    await this.backendOf(p.def).resizeVol(p.def, v, abs, flags)
    await this.refreshVol(v)
    await this.refreshPool(p).catch(() => {})
  }

  async volGetInfo(ref: VolRef, flags: number): Promise<VolInfo> {
    checkFlags(flags, 1, 'storageVolGetInfoFlags')
    const {v} = this.getVol(ref)
    await this.refreshVol(v)
    // VIR_STORAGE_VOL_GET_PHYSICAL: the file's size in place of the allocation.
    const allocation = flags & 1 ? (v.def.physical ?? 0n) : (v.def.allocation ?? 0n)
    return {type: VOL_TYPE_NUM[v.def.type ?? 'file'] ?? VolType.FILE, capacity: v.def.capacity ?? 0n, allocation}
  }

  async volGetXMLDesc(ref: VolRef, flags: number): Promise<string> {
    checkFlags(flags, 0, 'storageVolGetXMLDesc')
    const {v} = this.getVol(ref)
    await this.refreshVol(v)
    return formatVolXml(v.def)
  }

  volGetPath(ref: VolRef): string {
    return this.getVol(ref).v.path
  }

  /** Marks a volume busy for a transfer; returns the function that ends it. */
  private claim(p: PoolObj, v: Vol): () => void {
    if (p.building.has(v.name)) throw errors.operationInvalid(S, `volume '${v.name}' is still being allocated.`)
    v.inUse = (v.inUse ?? 0) + 1
    p.jobs++
    let released = false
    return () => {
      if (released) return
      released = true
      v.inUse = (v.inUse ?? 1) - 1
      p.jobs--
      void this.refreshVol(v).catch(() => {})
    }
  }

  async volUpload(ref: VolRef, offset: bigint, length: bigint, flags: number): Promise<VolUpload> {
    checkFlags(flags, VolTransferFlags.SPARSE_STREAM, 'storageVolUpload')
    const {p, v} = this.getVol(ref)
    if (v.def.type === 'dir') throw unsupported(`cannot upload to directory volume '${v.name}'`)
    const release = this.claim(p, v)
    return openUpload(v.path, offset, length, (complete) => {
      // A completed upload makes the volume whole (whatever it was); one cut short leaves it incomplete.
      if (complete !== undefined) v.interrupted = complete ? undefined : true
      release()
      void this.refreshAfterUpload(p)
    })
  }

  /** As libvirt when an upload's stream closes: the pool is refreshed (unless busy) and its refresh event sent. */
  private async refreshAfterUpload(p: PoolObj): Promise<void> {
    if (this.pools.get(p.def.uuid) !== p || !p.active || p.building.size > 0 || p.jobs > 0) return
    await this.refreshPool(p).catch(() => {})
    this.emitRefresh(p)
  }

  async volDownload(ref: VolRef, offset: bigint, length: bigint, flags: number): Promise<VolDownload> {
    checkFlags(flags, VolTransferFlags.SPARSE_STREAM, 'storageVolDownload')
    const {p, v} = this.getVol(ref)
    if (v.def.type === 'dir') throw unsupported(`cannot download directory volume '${v.name}'`)
    if (v.interrupted) throw incomplete(v)
    return openDownload(v.path, offset, length, (flags & VolTransferFlags.SPARSE_STREAM) !== 0, this.claim(p, v))
  }

  // ---- StorageVolumes (for the QEMU driver) ------------------------------------------------------

  resolveVolume(pool: string, volume: string): Promise<{path: string; type: 'file' | 'block' | 'dir' | 'network'; format?: string}> {
    const p = this.poolByName(pool)
    if (!p.active) return Promise.reject(errors.operationInvalid(S, `storage pool '${pool}' containing volume '${volume}' is not active`))
    const v = p.vols.get(volume)
    if (!v) return Promise.reject(noVol(`no storage vol with matching name '${volume}'`))
    if (v.interrupted) return Promise.reject(incomplete(v))
    const type = v.def.type === 'block' ? 'block' : v.def.type === 'dir' ? 'dir' : 'file'
    return Promise.resolve({path: v.path, type, format: v.def.format})
  }

  async precreateVolume(pool: {dir: string} | {name: string}, name: string, xml: string, flags: number): Promise<string | undefined> {
    const p = 'dir' in pool ? this.getPool(this.lookupPoolByTargetPath(pool.dir).uuid) : this.poolByName(pool.name)
    if (p.vols.has(name)) return undefined
    return this.volGetPath(await this.volCreateXML(p.def.uuid, xml, flags))
  }

  async deleteVolumeByPath(path: string): Promise<boolean> {
    let ref: VolRef
    try {
      ref = this.volLookupByPath(path)
    } catch {
      return false
    }
    await this.volDelete(ref, 0)
    return true
  }
}

/**
 * A volume whose upload was cut short, asked for as a whole volume (download, clone, a guest's disk):
 * refused, as libvirt refuses a volume still being allocated, until it is uploaded again, wiped or deleted.
 */
function incomplete(v: Vol): VirError {
  return errors.operationInvalid(S, `volume '${v.name}' is incomplete: its upload was interrupted`)
}

/** Creates the driver and brings its pools up (default pool, running and autostart pools). */
export async function createStorageDriver(opts: Omit<StorageDriverOptions, 'backends'> & {backends?: PoolBackend[]}): Promise<StorageDriverImpl> {
  const d = new StorageDriverImpl({...opts, backends: opts.backends ?? defaultBackends()})
  await d.init()
  return d
}
