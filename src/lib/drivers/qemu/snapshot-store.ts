/**
 * Where the QEMU driver keeps snapshot metadata, beside the domain's other state as libvirt does:
 * STATEDIR/qemu/snapshot/DOMAIN/SNAPSHOT.xml, one file per snapshot in libvirt's internal format
 * (the snapshot XML plus `<active>`, 1 for the current snapshot), each written atomically
 * (fs-atomic.ts) so a crash leaves the old file or the new one. Read back at daemon start.
 */
import * as fsp from 'node:fs/promises'
import {join} from 'node:path'
import {writeFileAtomic} from '../../fs-atomic.js'
import {formatSnapshotXml, parseSnapshotXml} from '../../conf/snapshot.js'
import {SnapshotList} from '../../conf/snapshot-list.js'
import type {LogSink} from '../types.js'
import {D} from './context.js'

export class QemuSnapshotStore {
  /** What each file holds now (by path), so a change rewrites only the files that differ. */
  private readonly written = new Map<string, string>()

  constructor(
    private readonly baseDir: string,
    private readonly log: LogSink,
  ) {}

  dir(domName: string): string {
    return join(this.baseDir, domName)
  }

  /** The snapshots of a domain found on disk (unreadable files skipped with a warning). */
  async load(domName: string): Promise<SnapshotList> {
    const list = new SnapshotList(D)
    const dir = this.dir(domName)
    let names: string[]
    try {
      names = await fsp.readdir(dir)
    } catch {
      return list
    }
    for (const n of names.sort()) {
      if (!n.endsWith('.xml')) continue
      const file = join(dir, n)
      try {
        const xml = await fsp.readFile(file, 'utf8')
        const {def, current} = parseSnapshotXml(xml, {errDomain: D, redefine: true, internal: true})
        if (`${def.name}.xml` !== n) throw new Error(`it describes snapshot '${def.name}'`)
        const s = list.add(def)
        if (current) list.setCurrent(s)
        this.written.set(file, xml)
      } catch (err) {
        this.log.warn(`qemu: ignoring snapshot metadata ${file}: ${(err as Error).message}`)
      }
    }
    return list
  }

  /**
   * Brings the domain's files in line with `list`: changed ones rewritten (concurrently: their
   * syncs then share the filesystem's journal commits), dropped ones removed.
   */
  async save(domName: string, list: SnapshotList): Promise<void> {
    const dir = this.dir(domName)
    const keep = new Set<string>()
    const writes: Array<[string, string]> = []
    for (const s of list.all()) {
      const file = join(dir, `${s.def.name}.xml`)
      keep.add(file)
      const xml = formatSnapshotXml(s.def, {secure: true, internalCurrent: list.isCurrent(s)})
      if (this.written.get(file) !== xml) writes.push([file, xml])
    }
    if (writes.length > 0) {
      await fsp.mkdir(dir, {recursive: true, mode: 0o700})
      await Promise.all(
        writes.map(async ([file, xml]) => {
          await writeFileAtomic(file, xml, 0o600)
          this.written.set(file, xml)
        }),
      )
    }
    let names: string[] = []
    try {
      names = await fsp.readdir(dir)
    } catch {
      // no directory: nothing to remove
    }
    for (const n of names) {
      const file = join(dir, n)
      if (!n.endsWith('.xml') || keep.has(file)) continue
      await fsp.rm(file, {force: true})
      this.written.delete(file)
    }
  }

  /** Removes every snapshot file of a domain (undefine with SNAPSHOTS_METADATA). */
  async drop(domName: string): Promise<void> {
    const dir = this.dir(domName)
    for (const k of [...this.written.keys()]) if (k.startsWith(dir + '/')) this.written.delete(k)
    await fsp.rm(dir, {recursive: true, force: true})
  }
}
