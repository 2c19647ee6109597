/**
 * The snapshots of one domain, like libvirt's virDomainSnapshotObjList: a tree (each snapshot's
 * parent by name), the current snapshot, lookups with libvirt's "Domain snapshot not found"
 * errors, and the list filters of virDomainListAllSnapshots / virDomainSnapshotListAllChildren.
 */
import {noSnapshot, type SnapshotDef} from './snapshot.js'

/** virDomainSnapshotListFlags. ROOTS (domain lists) and DESCENDANTS (children lists) share bit 1. */
export const SnapshotListFlags = {
  ROOTS: 1,
  DESCENDANTS: 1,
  METADATA: 2,
  LEAVES: 4,
  NO_LEAVES: 8,
  NO_METADATA: 16,
  INACTIVE: 32,
  ACTIVE: 64,
  DISK_ONLY: 128,
  INTERNAL: 256,
  EXTERNAL: 512,
  TOPOLOGICAL: 1024,
} as const

const F = SnapshotListFlags
/** Every flag the list calls accept. */
export const SNAPSHOT_LIST_FLAGS_ALL = 2047

export interface SnapshotObj {
  def: SnapshotDef
}

/** Whether a snapshot keeps anything outside the disk images it names (external memory or disks). */
export function isExternal(def: SnapshotDef): boolean {
  return def.memory === 'external' || def.disks.some((d) => d.snapshot === 'external')
}

export class SnapshotList {
  private readonly byName = new Map<string, SnapshotObj>()
  private currentName?: string

  constructor(private readonly errDomain: number) {}

  get size(): number {
    return this.byName.size
  }

  all(): SnapshotObj[] {
    return [...this.byName.values()]
  }

  find(name: string): SnapshotObj | undefined {
    return this.byName.get(name)
  }

  get(name: string): SnapshotObj {
    const s = this.byName.get(name)
    if (!s) throw noSnapshot(this.errDomain, `no domain snapshot with matching name '${name}'`)
    return s
  }

  get current(): SnapshotObj | undefined {
    return this.currentName === undefined ? undefined : this.byName.get(this.currentName)
  }

  setCurrent(s: SnapshotObj | undefined): void {
    this.currentName = s?.def.name
  }

  isCurrent(s: SnapshotObj): boolean {
    return this.currentName === s.def.name
  }

  /** Adds (or replaces, same name) a snapshot. */
  add(def: SnapshotDef): SnapshotObj {
    const existing = this.byName.get(def.name)
    if (existing) {
      existing.def = def
      return existing
    }
    const s: SnapshotObj = {def}
    this.byName.set(def.name, s)
    return s
  }

  remove(s: SnapshotObj): void {
    if (this.byName.get(s.def.name) === s) this.byName.delete(s.def.name)
    if (this.currentName === s.def.name) this.currentName = undefined
  }

  parentOf(s: SnapshotObj): SnapshotObj | undefined {
    return s.def.parent === undefined ? undefined : this.byName.get(s.def.parent)
  }

  /** The direct children of `s` (roots when `s` is undefined), in insertion order. */
  children(s: SnapshotObj | undefined): SnapshotObj[] {
    const out: SnapshotObj[] = []
    for (const o of this.byName.values()) {
      const p = o.def.parent === undefined || !this.byName.has(o.def.parent) ? undefined : o.def.parent
      if (p === s?.def.name) out.push(o)
    }
    return out
  }

  /** Every descendant of `s`, parents before their children. */
  descendants(s: SnapshotObj): SnapshotObj[] {
    const out: SnapshotObj[] = []
    const walk = (o: SnapshotObj): void => {
      for (const c of this.children(o)) {
        out.push(c)
        walk(c)
      }
    }
    walk(s)
    return out
  }

  /** All snapshots, each parent before its children. */
  topological(): SnapshotObj[] {
    const out: SnapshotObj[] = []
    for (const r of this.children(undefined)) out.push(r, ...this.descendants(r))
    return out
  }

  /**
   * The snapshots virDomainListAllSnapshots (from undefined) or virDomainSnapshotListAllChildren
   * (from a snapshot) returns for `flags` (the caller checked them against SNAPSHOT_LIST_FLAGS_ALL).
   */
  list(from: SnapshotObj | undefined, flags: number): SnapshotObj[] {
    // Every snapshot here has metadata: NO_METADATA alone matches none.
    if (flags & F.NO_METADATA && !(flags & F.METADATA)) return []
    let set: SnapshotObj[]
    if (from) set = flags & F.DESCENDANTS ? this.descendants(from) : this.children(from)
    else if (flags & F.ROOTS) set = this.children(undefined)
    else set = flags & F.TOPOLOGICAL ? this.topological() : this.all()
    return set.filter((s) => this.matches(s, flags))
  }

  /**
   * Drops the metadata of `doomed` (`s` and/or its descendants) as virDomainSnapshotDelete does:
   * children of a snapshot deleted alone move to its parent; a deleted current snapshot passes
   * "current" to `s` (children only) or to `s`'s parent. Returns the snapshots whose parent changed.
   */
  discard(s: SnapshotObj, doomed: SnapshotObj[]): SnapshotObj[] {
    const cur = this.current
    const currentGone = cur !== undefined && doomed.includes(cur)
    const alone = doomed.length === 1 && doomed[0] === s
    const changed: SnapshotObj[] = []
    if (alone) {
      for (const c of this.children(s)) {
        c.def.parent = s.def.parent
        changed.push(c)
      }
    }
    const parent = this.parentOf(s)
    for (const d of doomed) this.remove(d)
    if (currentGone) this.setCurrent(doomed.includes(s) ? parent : s)
    return changed
  }

  private matches(s: SnapshotObj, flags: number): boolean {
    if ((flags & (F.LEAVES | F.NO_LEAVES)) !== 0 && (flags & (F.LEAVES | F.NO_LEAVES)) !== (F.LEAVES | F.NO_LEAVES)) {
      const leaf = this.children(s).length === 0
      if (flags & F.LEAVES && !leaf) return false
      if (flags & F.NO_LEAVES && leaf) return false
    }
    if (flags & (F.INACTIVE | F.ACTIVE | F.DISK_ONLY)) {
      const st = s.def.state
      const ok =
        (flags & F.INACTIVE && st === 'shutoff') ||
        (flags & F.DISK_ONLY && st === 'disk-snapshot') ||
        (flags & F.ACTIVE && st !== 'shutoff' && st !== 'disk-snapshot')
      if (!ok) return false
    }
    if (flags & (F.INTERNAL | F.EXTERNAL)) {
      const ext = isExternal(s.def)
      if (!((flags & F.INTERNAL && !ext) || (flags & F.EXTERNAL && ext))) return false
    }
    return true
  }
}
