/**
 * The pool half of the storage driver (libvirt's storage_driver.c pool calls): define, create,
 * build, start, destroy, delete, undefine, refresh, autostart, info and XML, on top of the pool-type
 * backends and the on-disk store. driver.ts adds the volume calls.
 */
import {EventEmitter} from 'node:events'
import * as fsp from 'node:fs/promises'

import {ErrorDomain, errors} from '../../errors.js'
import {formatPoolXml, parsePoolXml, POOL_TYPE_LIST, type PoolDef} from '../../conf/pool.js'
import {formatPoolCapabilities} from '../../conf/pool-caps.js'
import {parseUuid} from '../../uuid.js'
import {matchObject} from '../list-filter.js'
import type {LogSink, ObjectEventMsg, PoolInfo, PoolRef} from '../types.js'
import type {PoolBackend, PoolSizes, Vol} from './backend.js'
import type {PoolRefreshMsg} from '../storage-vol-types.js'
import {removePartials} from './file-ops.js'
import {PoolStore, type PoolStoreDirs} from './pool-store.js'

const S = ErrorDomain.STORAGE

/** virStoragePoolEventLifecycleType. */
export const PoolEvent = {DEFINED: 0, UNDEFINED: 1, STARTED: 2, STOPPED: 3, CREATED: 4, DELETED: 5} as const
/** virStoragePoolCreateFlags. */
export const PoolCreateFlags = {BUILD: 1, BUILD_OVERWRITE: 2, BUILD_NO_OVERWRITE: 4} as const
/** virStoragePoolState. */
export const PoolState = {INACTIVE: 0, BUILDING: 1, RUNNING: 2} as const

export interface PoolObj {
  def: PoolDef
  /** A definition given while the pool ran, applied when it stops. */
  newDef?: PoolDef
  active: boolean
  persistent: boolean
  autostart: boolean
  vols: Map<string, Vol>
  sizes: PoolSizes
  /** Volume creations in progress: their names (taken) and the count that keeps the pool from stopping. */
  building: Set<string>
  /** Transfers running on its volumes. */
  jobs: number
}

export interface StorageDriverOptions extends PoolStoreDirs {
  backends: readonly PoolBackend[]
  log?: LogSink
  /** System mode: the directory of the `default` pool defined when no pool definitions exist. */
  defaultPoolPath?: string
}

function checkFlags(flags: number, allowed: number, fn: string): void {
  const extra = (flags >>> 0) & ~allowed
  if (extra !== 0) throw errors.invalidArg(S, `unsupported flags (0x${extra.toString(16)}) in function ${fn}`)
}

export class StoragePools {
  readonly events = new EventEmitter()
  protected readonly pools = new Map<string, PoolObj>()
  protected readonly store: PoolStore
  protected readonly backends = new Map<string, PoolBackend>()
  protected readonly log?: LogSink

  constructor(protected readonly opts: StorageDriverOptions) {
    this.events.setMaxListeners(0)
    this.log = opts.log
    for (const b of opts.backends) this.backends.set(b.type, b)
    this.store = new PoolStore(opts, opts.log)
    for (const l of this.store.load()) {
      this.pools.set(l.def.uuid, {
        def: l.def,
        active: false,
        persistent: l.persistent,
        autostart: l.autostart,
        vols: new Map(),
        sizes: {capacity: 0n, allocation: 0n, available: 0n},
        building: new Set(),
        jobs: 0,
      })
      if (l.wasActive) this.wasActive.add(l.def.uuid)
    }
  }

  private readonly wasActive = new Set<string>()

  /** Daemon start: the default pool on a blank system config, then the pools that ran before and the autostart ones. */
  async init(): Promise<void> {
    if (this.opts.defaultPoolPath !== undefined && !this.store.hasDefinitions() && this.pools.size === 0) {
      const xml = `<pool type='dir'><name>default</name><target><path>${this.opts.defaultPoolPath}</path></target></pool>`
      const ref = await this.poolDefineXML(xml, 0)
      await this.poolSetAutostart(ref.uuid, true)
    }
    for (const p of [...this.pools.values()]) {
      if (!this.wasActive.has(p.def.uuid) && !p.autostart) continue
      try {
        if (!this.wasActive.has(p.def.uuid) && p.autostart)
          await this.backendOf(p.def)
            .build(p.def, 0)
            .catch(() => {})
        await this.startPool(p)
      } catch (err) {
        this.log?.warn(`Failed to start storage pool '${p.def.name}': ${(err as Error).message}`)
        await this.store.removeState(p.def.name)
        if (!p.persistent) this.pools.delete(p.def.uuid)
      }
    }
    this.wasActive.clear()
  }

  protected backendOf(def: PoolDef): PoolBackend {
    const b = this.backends.get(def.type)
    if (!b) throw errors.internal(S, `missing backend for pool type ${POOL_TYPE_LIST.indexOf(def.type as 'dir')} (${def.type})`)
    return b
  }

  protected emit(p: PoolObj, event: number): void {
    this.events.emit('pool', {kind: 'lifecycle', ref: {name: p.def.name, uuid: p.def.uuid}, event, detail: 0} satisfies ObjectEventMsg)
  }

  /** VIR_STORAGE_POOL_EVENT_ID_REFRESH: the emitter's 'pool-refresh' event. */
  protected emitRefresh(p: PoolObj): void {
    this.events.emit('pool-refresh', {ref: {name: p.def.name, uuid: p.def.uuid}} satisfies PoolRefreshMsg)
  }

  protected getPool(uuid: string): PoolObj {
    const p = this.pools.get(parseUuid(uuid) ?? uuid)
    if (!p) throw errors.noPool(`no storage pool with matching uuid '${uuid}'`)
    return p
  }

  protected requireActive(p: PoolObj): void {
    if (!p.active) throw errors.operationInvalid(S, `storage pool '${p.def.name}' is not active`)
  }

  protected requireInactive(p: PoolObj, what = 'is already active'): void {
    if (p.active) throw errors.operationInvalid(S, `storage pool '${p.def.name}' ${what}`)
  }

  private requireIdle(p: PoolObj): void {
    if (p.building.size > 0 || p.jobs > 0) throw errors.operationInvalid(S, `pool '${p.def.name}' has asynchronous jobs running.`)
  }

  protected ref(p: PoolObj): PoolRef {
    return {name: p.def.name, uuid: p.def.uuid}
  }

  /** Re-reads the pool's volumes and sizes (the pool stays active only if this works). */
  protected async refreshPool(p: PoolObj): Promise<void> {
    const r = await this.backendOf(p.def).refresh(p.def)
    p.vols = new Map(r.vols.map((v) => [v.name, v]))
    p.sizes = {capacity: r.capacity, allocation: r.allocation, available: r.available}
    p.def.targetPerms = await this.targetPerms(p.def)
  }

  private async targetPerms(def: PoolDef): Promise<PoolDef['targetPerms']> {
    if (def.targetPath === undefined || !def.targetPath.startsWith('/')) return undefined
    try {
      const st = await fsp.stat(def.targetPath)
      return {mode: st.mode & 0o7777, owner: st.uid, group: st.gid}
    } catch {
      return undefined
    }
  }

  private async startPool(p: PoolObj): Promise<void> {
    const backend = this.backendOf(p.def)
    await backend.start(p.def)
    try {
      if (p.def.targetPath !== undefined && p.def.type !== 'disk') removePartials(p.def.targetPath)
      await this.refreshPool(p)
    } catch (err) {
      await backend.stop(p.def).catch(() => {})
      throw err
    }
    p.active = true
    await this.store.saveState(p.def)
  }

  private async stopPool(p: PoolObj): Promise<void> {
    await this.backendOf(p.def).stop(p.def)
    p.active = false
    p.vols.clear()
    // Sizes and the target's permissions stay as last seen (libvirt keeps them in the definition).
    await this.store.removeState(p.def.name)
    if (p.newDef) {
      p.def = {...p.newDef, targetPerms: p.def.targetPerms}
      p.newDef = undefined
    }
  }

  private async buildFlags(p: PoolObj, flags: number): Promise<void> {
    if (flags & PoolCreateFlags.BUILD_OVERWRITE && flags & PoolCreateFlags.BUILD_NO_OVERWRITE) {
      throw errors.invalidArg(
        S,
        'flags VIR_STORAGE_POOL_CREATE_WITH_BUILD_OVERWRITE and VIR_STORAGE_POOL_CREATE_WITH_BUILD_NO_OVERWRITE are mutually exclusive',
      )
    }
    const build = flags & (PoolCreateFlags.BUILD | PoolCreateFlags.BUILD_OVERWRITE | PoolCreateFlags.BUILD_NO_OVERWRITE)
    if (build)
      await this.backendOf(p.def).build(p.def, flags & PoolCreateFlags.BUILD_OVERWRITE ? 8 : flags & PoolCreateFlags.BUILD_NO_OVERWRITE ? 4 : 0)
  }

  // ---- pool API ----------------------------------------------------------------------------------

  listPools(flags: number): PoolRef[] {
    return [...this.pools.values()].filter((p) => matchObject(p, flags)).map((p) => this.ref(p))
  }

  numOfPools(active: boolean): number {
    return [...this.pools.values()].filter((p) => p.active === active).length
  }

  lookupPoolByName(name: string): PoolRef {
    for (const p of this.pools.values()) if (p.def.name === name) return this.ref(p)
    throw errors.noPool(`no storage pool with matching name '${name}'`)
  }

  lookupPoolByUuid(uuid: string): PoolRef {
    return this.ref(this.getPool(uuid))
  }

  lookupPoolByTargetPath(path: string): PoolRef {
    // As virFileSanitizePath: no repeated or trailing slashes (the message shows both when they differ).
    const clean = path.replace(/\/{2,}/g, '/').replace(/\/+$/, '') || '/'
    for (const p of this.pools.values()) if (p.active && p.def.targetPath === clean) return this.ref(p)
    throw errors.noPool(`no storage pool with matching target path '${path}'${clean === path ? '' : ` (${clean})`}`)
  }

  /** libvirt's duplicate checks: same name or UUID with the other different, or another pool on the same target. */
  private checkDuplicate(def: PoolDef): PoolObj | undefined {
    const same = this.pools.get(def.uuid)
    for (const p of this.pools.values()) {
      if (p.def.name === def.name && p.def.uuid !== def.uuid) {
        throw errors.operationFailed(S, `pool '${def.name}' is already defined with uuid ${p.def.uuid}`)
      }
    }
    if (same && same.def.name !== def.name) throw errors.operationFailed(S, `pool '${same.def.name}' already exists with uuid ${def.uuid}`)
    for (const p of this.pools.values()) {
      if (p === same || p.def.type !== def.type) continue
      const clash =
        (def.type === 'dir' && p.def.targetPath === def.targetPath) ||
        (def.sourceDevices.length > 0 && def.sourceDevices.some((d) => p.def.sourceDevices.includes(d)))
      if (clash) throw errors.operationFailed(S, `Storage source conflict with pool: '${p.def.name}'`)
    }
    return same
  }

  private parse(xml: string): PoolDef {
    const def = parsePoolXml(xml, {docName: 'storage_pool_definition'})
    this.backendOf(def)
    return def
  }

  async poolDefineXML(xml: string, flags: number): Promise<PoolRef> {
    checkFlags(flags, 1, 'storagePoolDefineXML')
    const def = this.parse(xml)
    const existing = this.checkDuplicate(def)
    await this.store.saveConfig(def)
    let p = existing
    if (p) {
      if (p.active) p.newDef = def
      else p.def = def
      p.persistent = true
    } else {
      p = {
        def,
        active: false,
        persistent: true,
        autostart: false,
        vols: new Map(),
        sizes: {capacity: 0n, allocation: 0n, available: 0n},
        building: new Set(),
        jobs: 0,
      }
      this.pools.set(def.uuid, p)
    }
    this.emit(p, PoolEvent.DEFINED)
    return this.ref(p)
  }

  async poolCreateXML(xml: string, flags: number): Promise<PoolRef> {
    checkFlags(flags, 7, 'storagePoolCreateXML')
    const def = this.parse(xml)
    const existing = this.checkDuplicate(def)
    if (existing) this.requireInactive(existing)
    const p: PoolObj = existing ?? {
      def,
      active: false,
      persistent: false,
      autostart: false,
      vols: new Map(),
      sizes: {capacity: 0n, allocation: 0n, available: 0n},
      building: new Set(),
      jobs: 0,
    }
    await this.buildFlags(p, flags)
    await this.startPool(p)
    this.pools.set(def.uuid, p)
    this.emit(p, PoolEvent.STARTED)
    return this.ref(p)
  }

  async poolCreate(uuid: string, flags: number): Promise<void> {
    checkFlags(flags, 7, 'storagePoolCreate')
    const p = this.getPool(uuid)
    this.requireInactive(p)
    await this.buildFlags(p, flags)
    await this.startPool(p)
    this.emit(p, PoolEvent.STARTED)
  }

  async poolBuild(uuid: string, flags: number): Promise<void> {
    checkFlags(flags, 15, 'storagePoolBuild')
    const p = this.getPool(uuid)
    this.requireInactive(p)
    await this.backendOf(p.def).build(p.def, flags)
    this.emit(p, PoolEvent.CREATED)
  }

  async poolDestroy(uuid: string): Promise<void> {
    const p = this.getPool(uuid)
    this.requireActive(p)
    this.requireIdle(p)
    await this.stopPool(p)
    this.emit(p, PoolEvent.STOPPED)
    if (!p.persistent) this.pools.delete(p.def.uuid)
  }

  async poolDelete(uuid: string, flags: number): Promise<void> {
    checkFlags(flags, 1, 'storagePoolDelete')
    const p = this.getPool(uuid)
    this.requireInactive(p, 'is still active')
    await this.backendOf(p.def).delete(p.def, flags)
    this.emit(p, PoolEvent.DELETED)
  }

  async poolUndefine(uuid: string): Promise<void> {
    const p = this.getPool(uuid)
    if (!p.persistent) throw errors.operationInvalid(S, `storage pool '${p.def.name}' is not persistent`)
    this.requireInactive(p, 'is still active')
    await this.store.removeConfig(p.def.name)
    this.emit(p, PoolEvent.UNDEFINED)
    this.pools.delete(p.def.uuid)
  }

  async poolRefresh(uuid: string, flags: number): Promise<void> {
    checkFlags(flags, 0, 'storagePoolRefresh')
    const p = this.getPool(uuid)
    this.requireActive(p)
    this.requireIdle(p)
    try {
      await this.refreshPool(p)
    } catch (err) {
      await this.stopPool(p).catch(() => {})
      this.emit(p, PoolEvent.STOPPED)
      if (!p.persistent) this.pools.delete(p.def.uuid)
      throw err
    }
    this.emitRefresh(p)
  }

  poolGetInfo(uuid: string): PoolInfo {
    const p = this.getPool(uuid)
    return {state: p.active ? PoolState.RUNNING : PoolState.INACTIVE, ...p.sizes}
  }

  poolGetXMLDesc(uuid: string, flags: number): string {
    checkFlags(flags, 1, 'storagePoolGetXMLDesc')
    const p = this.getPool(uuid)
    const def = flags & 1 && p.newDef ? p.newDef : p.def
    return formatPoolXml({...def, capacity: Number(p.sizes.capacity), allocation: Number(p.sizes.allocation), available: Number(p.sizes.available)})
  }

  poolGetAutostart(uuid: string): boolean {
    return this.getPool(uuid).autostart
  }

  async poolSetAutostart(uuid: string, on: boolean): Promise<void> {
    const p = this.getPool(uuid)
    if (!p.persistent) throw errors.operationInvalid(S, 'cannot set autostart for transient pool')
    await this.store.setAutostart(p.def.name, on)
    p.autostart = on
  }

  poolIsActive(uuid: string): boolean {
    return this.getPool(uuid).active
  }

  poolIsPersistent(uuid: string): boolean {
    return this.getPool(uuid).persistent
  }

  poolListVolumes(uuid: string): string[] {
    const p = this.getPool(uuid)
    this.requireActive(p)
    return [...p.vols.keys()].sort()
  }

  getPoolCapabilities(flags: number): string {
    checkFlags(flags, 0, 'storageConnectGetStoragePoolCapabilities')
    return formatPoolCapabilities(new Set(this.backends.keys()))
  }

  async findPoolSources(type: string, srcSpec: string | null, flags: number): Promise<string> {
    checkFlags(flags, 0, 'storageConnectFindStoragePoolSources')
    if (!(POOL_TYPE_LIST as readonly string[]).includes(type)) throw errors.internal(S, `unknown storage pool type ${type}`)
    const b = this.backends.get(type)
    if (!b?.findSources) throw errors.noSupport(S, `pool type '${type}' does not support source discovery`)
    return b.findSources(srcSpec)
  }
}
