/** The test driver's storage pools (virStorageDriver of test:///default), kept in the TestHost. */
import {EventEmitter} from 'node:events'
import {ErrorDomain, errors} from '../../errors.js'
import {formatPoolXml, parsePoolXml, type PoolDef} from '../../conf/pool.js'
import {parseUuid} from '../../uuid.js'
import {matchObject} from '../list-filter.js'
import type {ObjectEventMsg, PoolInfo, PoolRef, StorageDriver} from '../types.js'
import type {PoolRefreshMsg, VolInfo, VolRef} from '../storage-vol-types.js'
import {TestVolumes, testPoolSources} from './storage-vol.js'
import {TEST_POOL_CAPACITY} from './defaults.js'
import type {TestHost, TestObject} from './host.js'

type Pool = TestObject<PoolDef>

export class TestStorageDriver implements StorageDriver {
  readonly events = new EventEmitter()

  private readonly vols: TestVolumes

  constructor(private readonly host: TestHost) {
    this.events.setMaxListeners(0)
    this.vols = new TestVolumes(
      () => this.pools,
      (uuid) => this.getPool(uuid),
    )
  }

  private get pools(): Map<string, Pool> {
    return this.host.pools
  }

  private getPool(uuid: string): Pool {
    const p = this.pools.get(parseUuid(uuid) ?? uuid)
    if (!p) throw errors.noPool(`no storage pool with matching uuid '${uuid}'`)
    return p
  }

  private emit(p: Pool, event: number): void {
    this.events.emit('pool', {kind: 'lifecycle', ref: {name: p.def.name, uuid: p.def.uuid}, event, detail: 0} satisfies ObjectEventMsg)
  }

  private requireInactive(p: Pool, what: string): void {
    if (p.active) throw errors.operationInvalid(ErrorDomain.STORAGE, `storage pool '${p.def.name}' is ${what}`)
  }

  private requireActive(p: Pool): void {
    if (!p.active) throw errors.operationInvalid(ErrorDomain.STORAGE, `storage pool '${p.def.name}' is not active`)
  }

  listPools(flags: number): PoolRef[] {
    return [...this.pools.values()].filter((p) => matchObject(p, flags)).map((p) => ({name: p.def.name, uuid: p.def.uuid}))
  }

  numOfPools(active: boolean): number {
    return [...this.pools.values()].filter((p) => p.active === active).length
  }

  lookupPoolByName(name: string): PoolRef {
    for (const p of this.pools.values()) if (p.def.name === name) return {name, uuid: p.def.uuid}
    throw errors.noPool(`no storage pool with matching name '${name}'`)
  }

  lookupPoolByUuid(uuid: string): PoolRef {
    const p = this.getPool(uuid)
    return {name: p.def.name, uuid: p.def.uuid}
  }

  private add(def: PoolDef, persistent: boolean): Pool {
    for (const p of this.pools.values()) {
      if (p.def.name === def.name && p.def.uuid !== def.uuid) {
        throw errors.operationFailed(ErrorDomain.STORAGE, `pool '${def.name}' already exists with uuid ${p.def.uuid}`)
      }
    }
    const existing = this.pools.get(def.uuid)
    if (existing) {
      if (!persistent) this.requireInactive(existing, 'already active')
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

  poolDefineXML(xml: string): PoolRef {
    const p = this.add(parsePoolXml(xml, {docName: 'storage_pool_definition'}), true)
    this.emit(p, 0)
    return {name: p.def.name, uuid: p.def.uuid}
  }

  poolCreateXML(xml: string): PoolRef {
    const p = this.add(parsePoolXml(xml, {docName: 'storage_pool_definition'}), false)
    p.active = true
    this.emit(p, 2)
    return {name: p.def.name, uuid: p.def.uuid}
  }

  poolCreate(uuid: string): void {
    const p = this.getPool(uuid)
    this.requireInactive(p, 'already active')
    p.active = true
    this.emit(p, 2)
  }

  poolBuild(uuid: string): void {
    this.requireInactive(this.getPool(uuid), 'already active')
  }

  poolDestroy(uuid: string): void {
    const p = this.getPool(uuid)
    this.requireActive(p)
    p.active = false
    this.emit(p, 3)
    if (!p.persistent) {
      this.pools.delete(p.def.uuid)
      this.vols.drop(p.def.uuid)
    }
  }

  poolUndefine(uuid: string): void {
    const p = this.getPool(uuid)
    this.requireInactive(p, 'still active')
    this.emit(p, 1)
    this.pools.delete(p.def.uuid)
    this.vols.drop(p.def.uuid)
  }

  poolRefresh(uuid: string): void {
    const p = this.getPool(uuid)
    this.requireActive(p)
    this.events.emit('pool-refresh', {ref: {name: p.def.name, uuid: p.def.uuid}} satisfies PoolRefreshMsg)
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
    return this.vols.list(uuid).map((v) => v.name)
  }

  poolDelete(uuid: string): void {
    this.requireInactive(this.getPool(uuid), 'is still active')
  }

  lookupPoolByVolume(vol: VolRef): PoolRef {
    return this.vols.lookupPoolByVolume(vol)
  }

  lookupPoolByTargetPath(path: string): PoolRef {
    for (const p of this.pools.values()) if (p.def.targetPath === path) return {name: p.def.name, uuid: p.def.uuid}
    throw errors.noPool(`no storage pool with matching target path '${path}'`)
  }

  findPoolSources(type: string, srcSpec: string | null): string {
    return testPoolSources(type, srcSpec)
  }

  getPoolCapabilities(): string {
    throw errors.noSupport(ErrorDomain.STORAGE, 'virConnectGetStoragePoolCapabilities')
  }

  poolListAllVolumes(uuid: string): VolRef[] {
    return this.vols.list(uuid)
  }

  volLookupByName(uuid: string, name: string): VolRef {
    return this.vols.lookupByName(uuid, name)
  }

  volLookupByKey(key: string): VolRef {
    return this.vols.lookupByKey(key)
  }

  volLookupByPath(path: string): VolRef {
    return this.vols.lookupByPath(path)
  }

  volCreateXML(uuid: string, xml: string): VolRef {
    return this.vols.create(uuid, xml)
  }

  volCreateXMLFrom(uuid: string, xml: string, clone: VolRef): VolRef {
    return this.vols.createFrom(uuid, xml, clone)
  }

  volDelete(vol: VolRef): void {
    this.vols.delete(vol)
  }

  volWipe(): void {
    throw errors.noSupport(ErrorDomain.STORAGE, 'virStorageVolWipe')
  }

  volResize(): void {
    throw errors.noSupport(ErrorDomain.STORAGE, 'virStorageVolResize')
  }

  volGetInfo(vol: VolRef): VolInfo {
    return this.vols.info(vol)
  }

  volGetXMLDesc(vol: VolRef): string {
    return this.vols.xml(vol)
  }

  volGetPath(vol: VolRef): string {
    return this.vols.path(vol)
  }
}
