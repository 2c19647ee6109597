/**
 * The test driver's volumes (libvirt's test:///default keeps them in memory): create, clone, delete,
 * lookups, info and XML, with the pool's allocation following them. Wipe, resize, upload and pool
 * capabilities are not in libvirt's test driver and answer "not supported" as it does.
 */
import {ErrorCode, ErrorDomain, VirError, errors} from '../../errors.js'
import type {PoolDef} from '../../conf/pool.js'
import {formatVolXml, parseVolXml, type VolDef} from '../../conf/volume.js'
import {attr, child, parseXml} from '../../conf/xml.js'
import {VolType, type VolInfo, type VolRef} from '../storage-vol-types.js'
import type {PoolRef} from '../types.js'
import type {TestObject} from './host.js'

const S = ErrorDomain.STORAGE
type Pool = TestObject<PoolDef>

const noVol = (what: string) =>
  new VirError(ErrorCode.NO_STORAGE_VOL, S, `Storage volume not found: ${what}`, {str1: 'Storage volume not found: %s', str2: what})

export class TestVolumes {
  /** Volumes by pool UUID, then name. */
  private readonly vols = new Map<string, Map<string, VolDef>>()

  constructor(
    private readonly pools: () => Map<string, Pool>,
    private readonly getPool: (uuid: string) => Pool,
  ) {}

  private of(p: Pool): Map<string, VolDef> {
    let m = this.vols.get(p.def.uuid)
    if (!m) this.vols.set(p.def.uuid, (m = new Map<string, VolDef>()))
    return m
  }

  private activePool(uuid: string): Pool {
    const p = this.getPool(uuid)
    if (!p.active) throw errors.operationInvalid(S, `storage pool '${p.def.name}' is not active`)
    return p
  }

  private poolByName(name: string): Pool {
    for (const p of this.pools().values()) if (p.def.name === name) return p
    throw errors.noPool(`no storage pool with matching name '${name}'`)
  }

  private get(ref: VolRef): {p: Pool; v: VolDef} {
    const p = this.poolByName(ref.pool)
    if (!p.active) throw errors.operationInvalid(S, `storage pool '${p.def.name}' is not active`)
    const v = this.of(p).get(ref.name)
    if (!v) throw noVol(`no storage vol with matching name '${ref.name}'`)
    return {p, v}
  }

  private ref(p: Pool, v: VolDef): VolRef {
    return {pool: p.def.name, name: v.name, key: v.key ?? ''}
  }

  /** Forgets the volumes of a pool that was undefined or destroyed while transient. */
  drop(uuid: string): void {
    this.vols.delete(uuid)
  }

  list(uuid: string): VolRef[] {
    const p = this.getPool(uuid)
    if (!p.active) throw errors.operationInvalid(S, 'storage pool is not active')
    return [...this.of(p).values()].sort((a, b) => (a.name < b.name ? -1 : 1)).map((v) => this.ref(p, v))
  }

  lookupPoolByVolume(vol: VolRef): PoolRef {
    const p = this.poolByName(vol.pool)
    return {name: p.def.name, uuid: p.def.uuid}
  }

  lookupByName(uuid: string, name: string): VolRef {
    const p = this.activePool(uuid)
    const v = this.of(p).get(name)
    if (!v) throw noVol(`no storage vol with matching name '${name}'`)
    return this.ref(p, v)
  }

  private find(match: (v: VolDef) => boolean): VolRef | undefined {
    for (const p of this.pools().values()) {
      if (!p.active) continue
      for (const v of this.of(p).values()) if (match(v)) return this.ref(p, v)
    }
    return undefined
  }

  lookupByKey(key: string): VolRef {
    const r = this.find((v) => v.key === key)
    if (!r) throw noVol(`no storage vol with matching key ${key}`)
    return r
  }

  lookupByPath(path: string): VolRef {
    const r = this.find((v) => v.targetPath === path)
    if (!r) throw noVol(`no storage vol with matching path '${path}'`)
    return r
  }

  private add(p: Pool, def: VolDef): VolRef {
    const vols = this.of(p)
    if (vols.has(def.name)) throw errors.operationFailed(S, 'storage vol already exists')
    const alloc = Number(def.allocation ?? 0n)
    if (p.def.allocation + alloc > p.def.capacity) throw errors.internal(S, `Not enough free space in pool for volume '${def.name}'`)
    const path = `${p.def.targetPath ?? ''}/${def.name}`
    const v: VolDef = {
      name: def.name,
      type: 'file',
      key: path,
      capacity: def.capacity ?? 0n,
      allocation: def.allocation ?? 0n,
      targetPath: path,
      format: def.format ?? 'raw',
      backing: def.backing,
    }
    p.def.allocation += alloc
    p.def.available = p.def.capacity - p.def.allocation
    vols.set(v.name, v)
    return this.ref(p, v)
  }

  create(uuid: string, xml: string): VolRef {
    const p = this.activePool(uuid)
    return this.add(p, parseVolXml(xml, {docName: 'storage_volume_definition'}))
  }

  createFrom(uuid: string, xml: string, clone: VolRef): VolRef {
    const p = this.activePool(uuid)
    const src = this.get(clone).v
    const def = parseVolXml(xml, {optCapacity: true, docName: 'storage_volume_definition'})
    def.capacity ??= src.capacity
    def.allocation = def.capacity
    def.format ??= src.format
    return this.add(p, def)
  }

  delete(ref: VolRef): void {
    const {p, v} = this.get(ref)
    p.def.allocation -= Number(v.allocation ?? 0n)
    p.def.available = p.def.capacity - p.def.allocation
    this.of(p).delete(v.name)
  }

  info(ref: VolRef): VolInfo {
    const v = this.get(ref).v
    return {type: VolType.FILE, capacity: v.capacity ?? 0n, allocation: v.allocation ?? 0n}
  }

  xml(ref: VolRef): string {
    return formatVolXml(this.get(ref).v)
  }

  path(ref: VolRef): string {
    return this.get(ref).v.targetPath ?? ''
  }
}

/** libvirt's test driver's canned answers to find-storage-pool-sources (its `dir` quirk included: type 0 counts as unknown). */
export function testPoolSources(type: string, srcSpec: string | null): string {
  if (type === 'dir') throw errors.internal(S, `unknown storage pool type ${type}`)
  if (type === 'logical') {
    const src = (dev: string, vg: string) =>
      `  <source>\n    <device path='${dev}'/>\n    <name>${vg}</name>\n    <format type='lvm2'/>\n  </source>\n`
    return `<sources>\n${src('/dev/sda20', 'testvg1')}${src('/dev/sda21', 'testvg2')}</sources>\n`
  }
  if (type === 'netfs') {
    const host = srcSpec ? attr(child(parseXml(srcSpec, 'source', S), 'host'), 'name') : undefined
    if (!host) throw errors.invalidArg(S, 'hostname must be specified for netfs sources')
    return `<sources>\n  <source>\n    <host name='${host}'/>\n    <dir path='/testshare'/>\n    <format type='nfs'/>\n  </source>\n</sources>\n`
  }
  throw errors.noSupport(S, `pool type '${type}' does not support source discovery`)
}
