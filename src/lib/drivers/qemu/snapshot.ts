/**
 * Snapshots of QEMU guests: internal snapshots in the guests' qcow2 images, taken live with
 * `savevm` (as libvirt 9.0 does) and loaded or deleted with QMP jobs (snapshot-load / -delete), or
 * offline with qemu-img, and their metadata
 * (snapshot-store.ts) kept under the state dir so a restarted daemon knows them again. Creating,
 * reverting and deleting run as jobs on their domain, so they never overlap a start or a stop.
 */
import {formatDomainXml, type DomainDef} from '../../conf/domain.js'
import {cloneDomainDef, type SnapshotDef} from '../../conf/snapshot.js'
import {SnapshotList, type SnapshotObj} from '../../conf/snapshot-list.js'
import {errors} from '../../errors.js'
import {SnapshotQueries} from '../snapshot-queries.js'
import {
  FromSnapshotDetail,
  PAUSED_FROM_SNAPSHOT,
  SnapshotCreateFlags as C,
  SnapshotDeleteFlags,
  SnapshotRevertFlags as R,
  type SnapshotDriver,
} from '../snapshot-types.js'
import {
  CreateFlags,
  DomainState,
  LifecycleEvent,
  ResumedDetail,
  RunningReason,
  ShutoffReason,
  SuspendedDetail,
  type DomainEventMsg,
} from '../types.js'
import {D, type QemuContext, type QemuDomain} from './context.js'
import * as lifecycle from './lifecycle.js'
import {QemuSnapshotStore} from './snapshot-store.js'
import {checkInternal, internalDisks, qemuImgFor, qemuImgSnapshot, runSnapshotJob, saveVm, type InternalDisk} from './snapshot-qemu.js'
import * as start from './start.js'

/** VIR_DOMAIN_PAUSED_SNAPSHOT: paused while a snapshot is taken. */
const PAUSED_SNAPSHOT = 9

const CREATE_FLAGS = C.REDEFINE | C.CURRENT | C.NO_METADATA | C.HALT | C.ATOMIC | C.VALIDATE
const UNSUPPORTED_CREATE: Array<[number, string]> = [
  [C.DISK_ONLY, "disk-only (external) snapshots are not supported by vctl's qemu driver; take a full internal snapshot instead"],
  [C.REUSE_EXT, "external snapshots (reuse-external) are not supported by vctl's qemu driver"],
  [C.QUIESCE, "quiesced snapshots need the guest agent, which vctl's qemu driver does not use"],
  [C.LIVE, "live snapshots need external memory, which vctl's qemu driver does not support"],
]

export class QemuSnapshots extends SnapshotQueries implements SnapshotDriver {
  protected readonly errDomain = D
  protected readonly fnPrefix = 'qemuDomain'
  private readonly lists = new Map<string, SnapshotList>()
  private readonly store: QemuSnapshotStore
  private readonly qemuImg: string

  constructor(private readonly ctx: QemuContext) {
    super()
    this.store = new QemuSnapshotStore(`${ctx.store.dirs.stateDir}/snapshot`, ctx.log)
    this.qemuImg = qemuImgFor(ctx.emulator)
    // A domain that leaves the list (a transient one stopped, an inactive one undefined) takes
    // its snapshot metadata along, as libvirt's does.
    ctx.events.on('domain', (m: DomainEventMsg) => {
      if (m.kind === 'lifecycle' && (m.event === LifecycleEvent.STOPPED || m.event === LifecycleEvent.UNDEFINED)) {
        setImmediate(() => void this.forget(m.dom.uuid, m.dom.name))
      }
    })
  }

  private async forget(uuid: string, name: string): Promise<void> {
    if (this.ctx.domains.findByUuid(uuid) || !this.lists.has(uuid)) return
    this.lists.delete(uuid)
    await this.store
      .drop(name)
      .catch((err: unknown) => this.ctx.log.warn(`qemu: cannot remove snapshot metadata of '${name}': ${(err as Error).message}`))
  }

  /** Reads the metadata of every known domain (the driver calls this once its domains are loaded). */
  async load(): Promise<void> {
    for (const d of this.ctx.domains.values()) {
      const list = await this.store.load(d.name)
      if (list.size > 0) this.lists.set(d.uuid, list)
    }
  }

  protected snaps(uuid: string): SnapshotList {
    const d = this.ctx.domains.get(uuid)
    let l = this.lists.get(d.uuid)
    if (!l) {
      l = new SnapshotList(D)
      this.lists.set(d.uuid, l)
    }
    return l
  }

  private async save(d: QemuDomain): Promise<void> {
    try {
      await this.store.save(d.name, this.snaps(d.uuid))
    } catch (err) {
      throw errors.systemError(D, `cannot write snapshot metadata of '${d.name}': ${(err as Error).message}`)
    }
  }

  async snapshotCreateXML(uuid: string, xml: string, flags: number): Promise<string> {
    for (const [bit, why] of UNSUPPORTED_CREATE) if (flags & bit) throw errors.configUnsupported(D, why)
    this.checkFlags(flags, CREATE_FLAGS, 'SnapshotCreateXML')
    if (flags & C.REDEFINE && flags & (C.NO_METADATA | C.HALT)) {
      throw errors.invalidArg(D, 'redefining a snapshot cannot be combined with no-metadata or halt')
    }
    const dom = this.ctx.domains.get(uuid)
    return this.ctx.withJob(dom, async () => {
      const list = this.snaps(dom.uuid)
      const active = dom.run !== undefined
      const def = dom.live ?? dom.config
      if (!def) throw errors.internal(D, `domain '${dom.name}' has no definition`)
      const src = {
        uuid: dom.uuid,
        state: dom.state,
        def: cloneDomainDef(def),
        inactiveDef: active && dom.config ? cloneDomainDef(dom.config) : undefined,
      }
      const p = this.prepareSnapshot(list, src, xml, flags)
      if (!(flags & C.REDEFINE)) {
        const disks = checkInternal(p.def, def, active)
        if (active) await this.saveLive(dom, p.def, disks)
        else await this.createOffline(p.def.name, disks)
      }
      if (flags & C.NO_METADATA) return p.def.name
      const s = this.recordSnapshot(list, p, flags)
      await this.save(dom)
      if (!(flags & C.REDEFINE) && flags & C.HALT && dom.run) await this.stopFromSnapshot(dom)
      return s.def.name
    })
  }

  /**
   * QEMU pauses a running guest while it saves its state (STOP, then RESUME). The domain is marked
   * paused for a snapshot first, as libvirt does, so the monitor does not record (and write to
   * disk) a user pause in the middle of the save; RESUME then brings it back to running.
   */
  private async saveLive(dom: QemuDomain, snap: SnapshotDef, disks: InternalDisk[]): Promise<void> {
    const run = this.ctx.requireActive(dom)
    const qmp = this.ctx.requireMonitor(run)
    const wasRunning = dom.state === DomainState.RUNNING
    if (wasRunning) {
      dom.state = DomainState.PAUSED
      dom.reason = PAUSED_SNAPSHOT
      this.ctx.emitLifecycle(this.ctx.ref(dom), LifecycleEvent.SUSPENDED, SuspendedDetail.PAUSED)
    }
    try {
      await saveVm(qmp, snap.name, disks)
    } finally {
      // QEMU restarts the CPUs itself; if its RESUME event has not been handled yet, do it here.
      if (wasRunning && dom.run === run && dom.state === DomainState.PAUSED && dom.reason === PAUSED_SNAPSHOT) {
        const status = await qmp.execute<{running: boolean}>('query-status').catch(() => undefined)
        if (status?.running && dom.state === DomainState.PAUSED) {
          dom.state = DomainState.RUNNING
          dom.reason = RunningReason.UNPAUSED
          this.ctx.emitLifecycle(this.ctx.ref(dom), LifecycleEvent.RESUMED, ResumedDetail.UNPAUSED)
          void this.ctx.saveStatus(dom)
        }
      }
    }
  }

  private async createOffline(name: string, disks: InternalDisk[]): Promise<void> {
    const done: InternalDisk[] = []
    try {
      for (const d of disks) {
        await qemuImgSnapshot(this.qemuImg, '-c', name, d.file)
        done.push(d)
      }
    } catch (err) {
      for (const d of done) await qemuImgSnapshot(this.qemuImg, '-d', name, d.file).catch(() => undefined)
      throw err
    }
  }

  /** Stops the guest (--halt, or reverting to a shut-off snapshot): shut off "from snapshot". */
  private async stopFromSnapshot(dom: QemuDomain): Promise<void> {
    await lifecycle.destroy(this.ctx, dom.uuid, 0)
    if (!dom.run && dom.state === DomainState.SHUTOFF) dom.reason = ShutoffReason.FROM_SNAPSHOT
  }

  async revertToSnapshot(uuid: string, name: string, flags: number): Promise<void> {
    this.checkRevertFlags(flags, R.RUNNING | R.PAUSED | R.FORCE)
    const dom = this.ctx.domains.get(uuid)
    const s = this.snaps(dom.uuid).get(name)
    const online = s.def.state === 'running' || s.def.state === 'paused'
    const wantPaused = flags & R.PAUSED ? true : flags & R.RUNNING ? false : s.def.state === 'paused'
    const domDef = s.def.domain ?? dom.config ?? dom.live
    if (!domDef) throw errors.internal(D, `domain '${dom.name}' has no definition`)
    const disks = checkInternal(s.def, domDef, false)
    if (online && disks.length === 0) throw errors.operationInvalid(D, `snapshot '${name}' has no memory state to revert to`)
    if (!online && dom.run) {
      // A shut-off snapshot: the guest stops first.
      await this.stopFromSnapshot(dom)
    }
    const redefined = await this.restoreConfig(dom, s)
    if (online) {
      if (!dom.run) await start.create(this.ctx, dom.uuid, CreateFlags.PAUSED)
      await this.ctx.withJob(dom, () => this.loadLive(dom, s, disks, wantPaused))
    } else {
      await this.ctx.withJob(dom, async () => {
        if (dom.run) throw errors.operationInvalid(D, 'domain started while reverting to a shut-off snapshot')
        for (const d of disks) await qemuImgSnapshot(this.qemuImg, '-a', s.def.name, d.file)
      })
      if (flags & (R.RUNNING | R.PAUSED)) await start.create(this.ctx, dom.uuid, wantPaused ? CreateFlags.PAUSED : 0)
    }
    const list = this.snaps(dom.uuid)
    list.setCurrent(s)
    await this.save(dom)
    if (redefined) this.ctx.emitLifecycle(this.ctx.ref(dom), LifecycleEvent.DEFINED, FromSnapshotDetail.DEFINED)
  }

  /** Loads a snapshot's memory and disks into the running guest, then sets the state it asks for. */
  private async loadLive(dom: QemuDomain, s: SnapshotObj, disks: InternalDisk[], wantPaused: boolean): Promise<void> {
    const run = this.ctx.requireActive(dom)
    const qmp = this.ctx.requireMonitor(run)
    const wasRunning = dom.state === DomainState.RUNNING
    // Our state first, so the monitor's STOP/RESUME handling sees nothing to report.
    dom.state = DomainState.PAUSED
    dom.reason = PAUSED_FROM_SNAPSHOT
    try {
      if (wasRunning) await qmp.execute('stop')
      await runSnapshotJob(qmp, 'snapshot-load', {tag: s.def.name, vmstate: disks[0].node, devices: disks.map((d) => d.node)})
    } catch (err) {
      if (wasRunning && dom.run === run) {
        dom.state = DomainState.RUNNING
        dom.reason = RunningReason.UNPAUSED
        await qmp.execute('cont').catch(() => undefined)
      }
      await this.ctx.saveStatus(dom)
      throw err
    }
    if (!wantPaused) {
      dom.state = DomainState.RUNNING
      dom.reason = RunningReason.FROM_SNAPSHOT
      await qmp.execute('cont')
      if (!wasRunning) this.ctx.emitLifecycle(this.ctx.ref(dom), LifecycleEvent.RESUMED, FromSnapshotDetail.RESUMED)
    } else if (wasRunning) {
      this.ctx.emitLifecycle(this.ctx.ref(dom), LifecycleEvent.SUSPENDED, FromSnapshotDetail.SUSPENDED)
    }
    await this.ctx.saveStatus(dom)
  }

  /**
   * The persistent definition goes back to the one the snapshot recorded, as libvirt's revert does
   * (which reports it with a DEFINED "from snapshot" event once the revert is done). Returns whether
   * there was one to restore.
   */
  private async restoreConfig(dom: QemuDomain, s: SnapshotObj): Promise<boolean> {
    const recorded: DomainDef | undefined = s.def.inactiveDomain ?? s.def.domain
    if (!dom.config || !recorded) return false
    const xml = formatDomainXml(recorded, {secure: true})
    if (xml !== formatDomainXml(dom.config, {secure: true})) {
      await this.ctx.store.writeConfig(dom.name, xml)
      dom.config = cloneDomainDef(recorded)
    }
    return true
  }

  async snapshotDelete(uuid: string, name: string, flags: number): Promise<void> {
    const dom = this.ctx.domains.get(uuid)
    await this.ctx.withJob(dom, async () => {
      const list = this.snaps(dom.uuid)
      const s = list.get(name)
      const doomed = this.doomed(list, s, flags)
      if (!(flags & SnapshotDeleteFlags.METADATA_ONLY)) for (const d of doomed) await this.deleteData(dom, d)
      list.discard(s, doomed)
      await this.save(dom)
    })
  }

  /** Removes a snapshot from the images (warnings only for images that lack it: metadata goes anyway). */
  private async deleteData(dom: QemuDomain, s: SnapshotObj): Promise<void> {
    const def = dom.live ?? dom.config
    if (!def) return
    const disks = internalDisks(s.def, def).filter((d) => d.format === 'qcow2')
    if (disks.length === 0) return
    if (dom.run) {
      const qmp = this.ctx.requireMonitor(dom.run)
      await runSnapshotJob(qmp, 'snapshot-delete', {tag: s.def.name, devices: disks.map((d) => d.node)})
      return
    }
    for (const d of disks) {
      await qemuImgSnapshot(this.qemuImg, '-d', s.def.name, d.file).catch((err: unknown) => this.ctx.log.warn(`qemu: ${(err as Error).message}`))
    }
  }

  /**
   * Before undefine: an inactive domain with snapshots is refused unless their metadata goes too
   * (VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA), as libvirt refuses it.
   */
  async checkUndefine(uuid: string, dropMetadata: boolean): Promise<void> {
    const dom = this.ctx.domains.get(uuid)
    const list = this.lists.get(dom.uuid)
    if (!list || list.size === 0 || dom.run) return
    if (!dropMetadata) throw errors.operationInvalid(D, `cannot delete inactive domain with ${list.size} snapshots`)
    this.lists.delete(dom.uuid)
    await this.store.drop(dom.name)
  }
}
