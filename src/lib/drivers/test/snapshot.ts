/**
 * Snapshots of the test driver, in memory like libvirt's test driver: taking one records the
 * domain's state and definition; reverting brings the domain back to that state (running,
 * paused or shut off, with libvirt's "from snapshot" reasons and events); deleting drops metadata.
 */
import {ErrorDomain, errors} from '../../errors.js'
import {cloneDomainDef} from '../../conf/snapshot.js'
import type {DomainDef} from '../../conf/domain.js'
import {SnapshotList} from '../../conf/snapshot-list.js'
import type {DomainObj} from '../../conf/domain-list.js'
import {SnapshotQueries} from '../snapshot-queries.js'
import {FromSnapshotDetail, PAUSED_FROM_SNAPSHOT, SnapshotCreateFlags as C, SnapshotRevertFlags as R, type SnapshotDriver} from '../snapshot-types.js'
import {DomainState, LifecycleEvent, RunningReason, ShutoffReason} from '../types.js'

/** What the snapshots need of the test driver's domains (its private bookkeeping, handed over). */
export interface TestDomainOps<T extends DomainObj> {
  get(uuid: string): T
  start(d: T, def: DomainDef, paused: boolean): void
  stop(d: T, reason: number, detail: number): void
  emit(d: T, event: number, detail: number): void
}

const CREATE_FLAGS = C.REDEFINE | C.CURRENT | C.HALT | C.ATOMIC | C.LIVE | C.QUIESCE | C.VALIDATE

export class TestSnapshots<T extends DomainObj> extends SnapshotQueries implements SnapshotDriver {
  protected readonly errDomain = ErrorDomain.TEST
  protected readonly fnPrefix = 'testDomain'
  private readonly lists = new WeakMap<T, SnapshotList>()

  constructor(private readonly ops: TestDomainOps<T>) {
    super()
  }

  protected snaps(uuid: string): SnapshotList {
    const d = this.ops.get(uuid)
    let l = this.lists.get(d)
    if (!l) {
      l = new SnapshotList(this.errDomain)
      this.lists.set(d, l)
    }
    return l
  }

  snapshotCreateXML(uuid: string, xml: string, flags: number): string {
    this.checkFlags(flags, CREATE_FLAGS, 'SnapshotCreateXML')
    const d = this.ops.get(uuid)
    const list = this.snaps(uuid)
    const def = d.live ?? d.config
    if (!def) throw errors.internal(this.errDomain, `domain '${d.name}' has no definition`)
    const p = this.prepareSnapshot(list, {uuid: d.uuid, state: d.state, def: cloneDomainDef(def)}, xml, flags)
    if (!(flags & C.REDEFINE) && flags & C.HALT && d.id !== -1) this.ops.stop(d, ShutoffReason.FROM_SNAPSHOT, FromSnapshotDetail.STOPPED)
    return this.recordSnapshot(list, p, flags).def.name
  }

  revertToSnapshot(uuid: string, name: string, flags: number): void {
    this.checkRevertFlags(flags, R.RUNNING | R.PAUSED | R.FORCE)
    const d = this.ops.get(uuid)
    const list = this.snaps(uuid)
    const s = list.get(name)
    const snapDef = s.def.domain ? cloneDomainDef(s.def.domain) : undefined
    if (snapDef && d.config) d.config = s.def.inactiveDomain ? cloneDomainDef(s.def.inactiveDomain) : cloneDomainDef(snapDef)
    const online = s.def.state === 'running' || s.def.state === 'paused'
    const wantPaused = flags & R.PAUSED ? true : flags & R.RUNNING ? false : s.def.state === 'paused'
    const active = d.id !== -1
    if (online || flags & (R.RUNNING | R.PAUSED)) {
      if (!active) {
        const def = snapDef ?? d.config
        if (!def) throw errors.operationInvalid(ErrorDomain.DOMAIN, 'snapshot lacks a domain definition')
        this.ops.start(d, def, wantPaused)
        d.reason = wantPaused ? PAUSED_FROM_SNAPSHOT : RunningReason.FROM_SNAPSHOT
        this.ops.emit(d, LifecycleEvent.STARTED, FromSnapshotDetail.STARTED)
        if (wantPaused) this.ops.emit(d, LifecycleEvent.SUSPENDED, FromSnapshotDetail.SUSPENDED)
      } else {
        const wasPaused = d.state === DomainState.PAUSED
        if (snapDef) d.live = snapDef
        d.state = wantPaused ? DomainState.PAUSED : DomainState.RUNNING
        d.reason = wantPaused ? PAUSED_FROM_SNAPSHOT : RunningReason.FROM_SNAPSHOT
        if (wantPaused && !wasPaused) this.ops.emit(d, LifecycleEvent.SUSPENDED, FromSnapshotDetail.SUSPENDED)
        if (!wantPaused && wasPaused) this.ops.emit(d, LifecycleEvent.RESUMED, FromSnapshotDetail.RESUMED)
      }
    } else if (active) {
      this.ops.stop(d, ShutoffReason.FROM_SNAPSHOT, FromSnapshotDetail.STOPPED)
    }
    list.setCurrent(s)
  }

  snapshotDelete(uuid: string, name: string, flags: number): void {
    const list = this.snaps(uuid)
    const s = list.get(name)
    list.discard(s, this.doomed(list, s, flags))
  }

  /** libvirt refuses to undefine an inactive domain that has snapshots, unless told to drop them. */
  checkUndefine(d: T, dropMetadata: boolean): void {
    const l = this.lists.get(d)
    if (!l || l.size === 0 || d.id !== -1) return
    if (!dropMetadata) throw errors.operationInvalid(this.errDomain, `cannot delete inactive domain with ${l.size} snapshots`)
    this.lists.delete(d)
  }
}
