/**
 * The read side of SnapshotDriver that every hypervisor driver answers the same way from its
 * domains' snapshot lists (conf/snapshot-list.ts): lookups, the current snapshot, parents,
 * children, filtered lists, XML. A driver extends this with creating, reverting and deleting.
 */
import {ErrorCode, VirError, errors} from '../errors.js'
import type {DomainDef} from '../conf/domain.js'
import {SNAPSHOT_STATES, defaultSnapshotDisks, formatSnapshotXml, noSnapshot, parseSnapshotXml, type SnapshotDef} from '../conf/snapshot.js'
import {SNAPSHOT_LIST_FLAGS_ALL, type SnapshotList, type SnapshotObj} from '../conf/snapshot-list.js'
import {SnapshotCreateFlags as C, SnapshotDeleteFlags, SnapshotRevertFlags, SnapshotXmlFlags, type SnapshotDriver} from './snapshot-types.js'

/** What a new snapshot records of its domain. */
export interface SnapshotSource {
  uuid: string
  /** virDomainState of the domain now. */
  state: number
  /** The definition in effect (live while active). */
  def: DomainDef
  /** The persistent definition, when the domain runs with a different one. */
  inactiveDef?: DomainDef
}

/** A snapshot about to be taken or recorded: its definition and whether it replaces one. */
export interface PreparedSnapshot {
  def: SnapshotDef
  existing?: SnapshotObj
}

export abstract class SnapshotQueries implements Pick<
  SnapshotDriver,
  | 'snapshotGetXMLDesc'
  | 'listSnapshots'
  | 'listSnapshotChildren'
  | 'snapshotLookupByName'
  | 'hasCurrentSnapshot'
  | 'snapshotCurrent'
  | 'snapshotGetParent'
  | 'snapshotIsCurrent'
  | 'snapshotHasMetadata'
  | 'snapshotCount'
> {
  /** The driver's error domain (VIR_FROM_QEMU, VIR_FROM_TEST). */
  protected abstract readonly errDomain: number
  /** The C function names of the driver, for "unsupported flags" errors (e.g. 'qemuDomain'). */
  protected abstract readonly fnPrefix: string
  /** The snapshot list of a domain (NO_DOMAIN when the domain does not exist). */
  protected abstract snaps(uuid: string): SnapshotList

  protected checkFlags(flags: number, allowed: number, fn: string): void {
    if (flags & ~allowed) {
      // libvirt's virCheckFlags: INVALID_ARG, the message without the code's usual prefix.
      const msg = `unsupported flags (0x${(flags & ~allowed).toString(16)}) in function ${this.fnPrefix}${fn}`
      throw new VirError(ErrorCode.INVALID_ARG, this.errDomain, msg, {str1: '%s', str2: msg})
    }
  }

  protected snap(uuid: string, name: string): SnapshotObj {
    return this.snaps(uuid).get(name)
  }

  snapshotGetXMLDesc(uuid: string, name: string, flags: number): string {
    this.checkFlags(flags, SnapshotXmlFlags.SECURE, 'SnapshotGetXMLDesc')
    return formatSnapshotXml(this.snap(uuid, name).def, {secure: (flags & SnapshotXmlFlags.SECURE) !== 0})
  }

  listSnapshots(uuid: string, flags: number, fn: string): string[] {
    this.checkFlags(flags, SNAPSHOT_LIST_FLAGS_ALL, apiSuffix(fn))
    return this.snaps(uuid)
      .list(undefined, flags)
      .map((s) => s.def.name)
  }

  listSnapshotChildren(uuid: string, name: string, flags: number, fn: string): string[] {
    this.checkFlags(flags, SNAPSHOT_LIST_FLAGS_ALL, apiSuffix(fn))
    const list = this.snaps(uuid)
    return list.list(list.get(name), flags).map((s) => s.def.name)
  }

  snapshotLookupByName(uuid: string, name: string, flags: number): string {
    this.checkFlags(flags, 0, 'SnapshotLookupByName')
    return this.snap(uuid, name).def.name
  }

  hasCurrentSnapshot(uuid: string, flags: number): boolean {
    this.checkFlags(flags, 0, 'HasCurrentSnapshot')
    return this.snaps(uuid).current !== undefined
  }

  snapshotCurrent(uuid: string, flags: number): string {
    this.checkFlags(flags, 0, 'SnapshotCurrent')
    const cur = this.snaps(uuid).current
    if (!cur) throw noSnapshot(this.errDomain, 'the domain does not have a current snapshot')
    return cur.def.name
  }

  snapshotGetParent(uuid: string, name: string, flags: number): string {
    this.checkFlags(flags, 0, 'SnapshotGetParent')
    const s = this.snap(uuid, name)
    if (s.def.parent === undefined) throw noSnapshot(this.errDomain, `snapshot '${name}' does not have a parent`)
    return s.def.parent
  }

  snapshotIsCurrent(uuid: string, name: string, flags: number): boolean {
    this.checkFlags(flags, 0, 'SnapshotIsCurrent')
    const list = this.snaps(uuid)
    return list.isCurrent(list.get(name))
  }

  snapshotHasMetadata(uuid: string, name: string, flags: number): boolean {
    this.checkFlags(flags, 0, 'SnapshotHasMetadata')
    this.snap(uuid, name)
    return true
  }

  snapshotCount(uuid: string): number {
    return this.snaps(uuid).size
  }

  /**
   * Parses the XML of virDomainSnapshotCreateXML and completes it as libvirt does: a new snapshot
   * gets its name (the creation time when none), the domain's state and definition, the current
   * snapshot as parent and the disks it covers; a redefined one is checked against the domain.
   */
  protected prepareSnapshot(list: SnapshotList, src: SnapshotSource, xml: string, flags: number): PreparedSnapshot {
    const D = this.errDomain
    const redefine = (flags & C.REDEFINE) !== 0
    const {def} = parseSnapshotXml(xml, {errDomain: D, redefine})
    if (redefine) {
      if (def.domain && def.domain.uuid !== src.uuid) throw errors.invalidArg(D, `definition for snapshot ${def.name} must use uuid ${src.uuid}`)
      if (def.parent !== undefined) {
        if (def.parent === def.name) throw errors.invalidArg(D, `snapshot '${def.name}' cannot be its own parent`)
        if (!list.find(def.parent)) throw errors.invalidArg(D, `parent ${def.parent} for snapshot ${def.name} not found`)
      }
      const existing = list.find(def.name)
      if (existing) {
        const online = (st?: string): boolean => st === 'running' || st === 'paused'
        if (online(existing.def.state) !== online(def.state)) {
          throw errors.invalidArg(D, `cannot change between online and offline snapshot state in snapshot ${def.name}`)
        }
      }
      return {def, existing}
    }
    const now = Math.floor(Date.now() / 1000)
    def.creationTime = now
    if (!def.name) def.name = String(now)
    if (list.find(def.name)) throw errors.operationFailed(D, `domain moment ${def.name} already exists`)
    def.state = SNAPSHOT_STATES[src.state] ?? 'nostate'
    const active = def.state !== 'shutoff'
    def.memory ??= active ? 'internal' : 'no'
    def.parent = list.current?.def.name
    def.disks = defaultSnapshotDisks(src.def, def.disks, D)
    def.domain = src.def
    if (src.inactiveDef) def.inactiveDomain = src.inactiveDef
    return {def}
  }

  /** Records a snapshot taken (or redefined): in the list, current unless it must not be. */
  protected recordSnapshot(list: SnapshotList, p: PreparedSnapshot, flags: number): SnapshotObj {
    const wasCurrent = p.existing !== undefined && list.isCurrent(p.existing)
    const s = list.add(p.def)
    if (!(flags & C.REDEFINE) || flags & C.CURRENT || wasCurrent) list.setCurrent(s)
    return s
  }

  /** Checks the flags of virDomainRevertToSnapshot (RUNNING and PAUSED exclude each other). */
  protected checkRevertFlags(flags: number, allowed: number): void {
    this.checkFlags(flags, allowed, 'RevertToSnapshot')
    if (flags & SnapshotRevertFlags.RUNNING && flags & SnapshotRevertFlags.PAUSED) {
      throw errors.invalidArg(
        this.errDomain,
        "Flags 'VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING' and 'VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED' are mutually exclusive",
      )
    }
  }

  /** The snapshots virDomainSnapshotDelete removes for `flags`, deepest first. */
  protected doomed(list: SnapshotList, s: SnapshotObj, flags: number): SnapshotObj[] {
    this.checkFlags(flags, SnapshotDeleteFlags.CHILDREN | SnapshotDeleteFlags.CHILDREN_ONLY | SnapshotDeleteFlags.METADATA_ONLY, 'SnapshotDelete')
    const below = flags & (SnapshotDeleteFlags.CHILDREN | SnapshotDeleteFlags.CHILDREN_ONLY) ? list.descendants(s).reverse() : []
    return flags & SnapshotDeleteFlags.CHILDREN_ONLY ? below : [...below, s]
  }
}

/** 'virDomainListAllSnapshots' -> 'ListAllSnapshots' (the driver names its function prefix + this). */
const apiSuffix = (api: string): string => api.replace(/^virDomain/, '')
