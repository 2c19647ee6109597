/**
 * The list of domain objects every hypervisor driver keeps, like libvirt's virDomainObjList: each
 * object has its name, UUID and id (-1 while inactive), its persistent and live definitions, its
 * state and reason. The list finds objects by UUID, name or id with libvirt's "Domain not found"
 * errors, and checks a new definition against the ones it holds (same name with another UUID, or
 * same UUID with another name) with libvirt's "operation failed" errors. Drivers extend the object
 * with what they track besides (a QEMU process, simulated CPU time).
 */
import {ErrorDomain, errors} from '../errors.js'
import {parseUuid} from '../uuid.js'
import type {DomainDef} from './domain.js'

/** VIR_DOMAIN_SHUTOFF and its reason VIR_DOMAIN_SHUTOFF_UNKNOWN: where a new object starts. */
const SHUTOFF = 5
const SHUTOFF_UNKNOWN = 0

export interface DomainObj {
  readonly name: string
  readonly uuid: string
  /** -1 while inactive. */
  id: number
  /** Persistent definition; undefined for a transient domain. */
  config?: DomainDef
  /** Live definition while active. */
  live?: DomainDef
  /** The persistent definition changed while the domain ran (virDomainIsUpdated). */
  updated: boolean
  autostart: boolean
  state: number
  reason: number
}

/** What a driver's lookup answers: libvirt's domain handle. */
export interface DomainObjRef {
  name: string
  uuid: string
  id: number
}

/** The fields of a new, inactive object (the driver adds its own). */
export function newDomainObj(name: string, uuid: string): DomainObj {
  return {name, uuid, id: -1, updated: false, autostart: false, state: SHUTOFF, reason: SHUTOFF_UNKNOWN}
}

export function isActive(o: DomainObj): boolean {
  return o.id !== -1
}

export function isPersistent(o: DomainObj): boolean {
  return o.config !== undefined
}

/** The definition in effect: the live one while active, else the persistent one. */
export function currentDef(o: DomainObj): DomainDef {
  const def = o.live ?? o.config
  if (!def) throw new Error(`domain '${o.name}' has no definition`)
  return def
}

export class DomainObjList<T extends DomainObj> {
  private readonly byUuid = new Map<string, T>()
  private readonly byName = new Map<string, T>()
  private nextId = 1

  /** `errDomain`: the error domain of the driver's errors (VIR_FROM_TEST, VIR_FROM_QEMU, ...). */
  constructor(private readonly errDomain: number) {}

  get size(): number {
    return this.byUuid.size
  }

  values(): IterableIterator<T> {
    return this.byUuid.values()
  }

  ref(o: T): DomainObjRef {
    return {name: o.name, uuid: o.uuid, id: o.id}
  }

  add(o: T): T {
    this.byUuid.set(o.uuid, o)
    this.byName.set(o.name, o)
    return o
  }

  /** Removes `o` (only if it is still the object listed under its UUID and name). */
  remove(o: T): void {
    if (this.byUuid.get(o.uuid) === o) this.byUuid.delete(o.uuid)
    if (this.byName.get(o.name) === o) this.byName.delete(o.name)
  }

  findByUuid(uuid: string): T | undefined {
    return this.byUuid.get(parseUuid(uuid) ?? uuid)
  }

  findByName(name: string): T | undefined {
    return this.byName.get(name)
  }

  findById(id: number): T | undefined {
    if (id === -1) return undefined
    for (const o of this.byUuid.values()) if (o.id === id) return o
    return undefined
  }

  get(uuid: string): T {
    const o = this.findByUuid(uuid)
    if (!o) throw errors.noDomain(this.errDomain, `no domain with matching uuid '${uuid}'`)
    return o
  }

  getByName(name: string): T {
    const o = this.byName.get(name)
    if (!o) throw errors.noDomain(this.errDomain, `no domain with matching name '${name}'`)
    return o
  }

  getById(id: number): T {
    const o = this.findById(id)
    if (!o) throw errors.noDomain(this.errDomain, `no domain with matching id ${id}`)
    return o
  }

  /**
   * The object a new definition replaces (same UUID and name), undefined when it is new; throws
   * when it clashes: same UUID under another name, or same name under another UUID. These come from
   * libvirt's domain object list itself, so their error domain is VIR_FROM_DOMAIN whatever the driver.
   */
  checkClash(def: {name: string; uuid: string}): T | undefined {
    const same = this.byUuid.get(def.uuid)
    if (same) {
      if (same.name !== def.name) throw errors.operationFailed(ErrorDomain.DOMAIN, `domain '${same.name}' is already defined with uuid ${def.uuid}`)
      return same
    }
    const named = this.byName.get(def.name)
    if (named) throw errors.operationFailed(ErrorDomain.DOMAIN, `domain '${def.name}' already exists with uuid ${named.uuid}`)
    return undefined
  }

  /** The objects `keep` accepts, in definition order. */
  filter(keep: (o: T) => boolean): T[] {
    const out: T[] = []
    for (const o of this.byUuid.values()) if (keep(o)) out.push(o)
    return out
  }

  count(active: boolean): number {
    let n = 0
    for (const o of this.byUuid.values()) if (isActive(o) === active) n++
    return n
  }

  hasActive(): boolean {
    for (const o of this.byUuid.values()) if (isActive(o)) return true
    return false
  }

  /** A fresh id for a domain that starts. */
  allocateId(): number {
    return this.nextId++
  }

  /** Makes later ids larger than `id` (ids of guests found running at start-up). */
  reserveId(id: number): void {
    if (id >= this.nextId) this.nextId = id + 1
  }
}
