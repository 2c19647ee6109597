/**
 * virtlockd's lock table: disk-image paths (canonicalised by the caller) held exclusively by one
 * owner or shared by several. Owners are domains, identified by UUID; each carries the PID of
 * the process using the disks (0 = none yet, never considered dead) and that process' start
 * time, so a reused PID does not keep a dead guest's locks alive.
 *
 * The table is written atomically to its file on every change and reloaded at start, dropping
 * owners whose process is gone; holders found dead when they stand in the way of an ACQUIRE are
 * dropped as well.
 */
import {readFileSync} from 'node:fs'
import {writeFileAtomicSync} from '../../fs-atomic.js'
import {ErrorCode, ErrorDomain, VirError, errors, virError} from '../../errors.js'
import {processRunning} from '../reexec.js'
import type {LogSink} from '../../daemon/logging.js'

export interface LockOwner {
  name: string
  /** Canonical UUID string. */
  uuid: string
  pid: number
  /** /proc start time of pid (clock ticks after boot), when known. */
  start?: string
}

export interface Lock {
  path: string
  shared: boolean
  owners: LockOwner[]
}

/** Start time of a process (field 22 of /proc/PID/stat), or undefined. */
export function processStartTime(pid: number): string | undefined {
  if (pid <= 0) return undefined
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]
  } catch {
    return undefined
  }
}

export function ownerAlive(o: LockOwner): boolean {
  if (o.pid === 0) return true
  if (!processRunning(o.pid)) return false
  if (o.start === undefined) return true
  const now = processStartTime(o.pid)
  return now === undefined || now === o.start
}

export function lockBusy(path: string): VirError {
  return virError(ErrorCode.RESOURCE_BUSY, ErrorDomain.LOCKING, 'resource busy', `Lockspace resource '${path}' is locked`)
}

export class LockTable {
  private locks = new Map<string, Lock>()

  constructor(
    readonly file: string,
    private readonly log: LogSink,
    private readonly alive: (o: LockOwner) => boolean = ownerAlive,
  ) {}

  /** Loads the table, dropping owners whose process is gone; returns how many holds were dropped. */
  load(): number {
    let data: {version?: number; locks?: Lock[]} = {}
    try {
      data = JSON.parse(readFileSync(this.file, 'utf8')) as typeof data
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
        this.log.warn(`cannot read ${this.file}, starting with no locks: ${(err as Error).message}`)
    }
    this.locks.clear()
    let dropped = 0
    for (const l of Array.isArray(data.locks) ? data.locks : []) {
      if (typeof l?.path !== 'string' || !Array.isArray(l.owners)) continue
      const owners = l.owners.filter((o) => {
        const ok = this.alive(o)
        if (!ok) {
          dropped++
          this.log.info(`dropping lock on ${l.path}: owner ${o.name} (${o.uuid}, pid ${o.pid}) is gone`)
        }
        return ok
      })
      if (owners.length) this.locks.set(l.path, {path: l.path, shared: l.shared, owners})
    }
    if (dropped) this.persist()
    return dropped
  }

  /** Number of locked paths. */
  get size(): number {
    return this.locks.size
  }

  list(): Lock[] {
    this.change(() => {
      let changed = false
      for (const l of this.locks.values()) changed = this.forgetDead(l, undefined) || changed
      return changed
    })
    return [...this.locks.values()].map((l) => ({path: l.path, shared: l.shared, owners: l.owners.map((o) => ({...o}))}))
  }

  /** Takes path for owner; throws RESOURCE_BUSY on a conflict. Re-acquiring updates the owner's PID. */
  acquire(owner: LockOwner, path: string, shared: boolean): void {
    const rec: LockOwner = {...owner, start: owner.start ?? processStartTime(owner.pid)}
    this.change(() => {
      const lock = this.locks.get(path)
      let changed = lock ? this.forgetDead(lock, rec.uuid) : false
      const cur = this.locks.get(path)
      const others = cur ? cur.owners.filter((o) => o.uuid !== rec.uuid) : []
      if (cur && others.length > 0 && (!cur.shared || !shared)) {
        if (changed) this.persist() // keep the clean-up of dead holders
        throw lockBusy(path)
      }
      changed = this.updateOwner(rec) || changed
      if (!cur) {
        this.locks.set(path, {path, shared, owners: [rec]})
        return true
      }
      if (others.length === 0) {
        const was = cur.shared
        cur.shared = shared
        return changed || was !== shared
      }
      if (others.length === cur.owners.length) {
        cur.owners.push(rec)
        return true
      }
      return changed
    })
  }

  release(owner: Pick<LockOwner, 'uuid'>, path: string): void {
    this.change(() => {
      const l = this.locks.get(path)
      if (!l) return false
      const n = l.owners.length
      l.owners = l.owners.filter((o) => o.uuid !== owner.uuid)
      if (l.owners.length === 0) this.locks.delete(path)
      return l.owners.length !== n
    })
  }

  releaseOwner(owner: Pick<LockOwner, 'uuid'>): number {
    let count = 0
    this.change(() => {
      for (const [p, l] of this.locks) {
        const n = l.owners.length
        l.owners = l.owners.filter((o) => o.uuid !== owner.uuid)
        count += n - l.owners.length
        if (l.owners.length === 0) this.locks.delete(p)
      }
      return count > 0
    })
    return count
  }

  /** Refreshes the PID and name of owner on every lock it holds. */
  private updateOwner(rec: LockOwner): boolean {
    let changed = false
    for (const l of this.locks.values()) {
      l.owners = l.owners.map((o) => {
        if (o.uuid !== rec.uuid || (o.pid === rec.pid && o.name === rec.name && o.start === rec.start)) return o
        changed = true
        return {...rec}
      })
    }
    return changed
  }

  /** Drops holders of l whose process is gone (except `keep`); true when something changed. */
  private forgetDead(l: Lock, keep: string | undefined): boolean {
    const n = l.owners.length
    l.owners = l.owners.filter((o) => {
      if (o.uuid === keep || this.alive(o)) return true
      this.log.info(`dropping lock on ${l.path}: owner ${o.name} (${o.uuid}, pid ${o.pid}) is gone`)
      return false
    })
    if (l.owners.length === 0) this.locks.delete(l.path)
    return l.owners.length !== n
  }

  /** Applies a mutation; persists when it reports a change, and undoes it when persisting fails. */
  private change(fn: () => boolean): void {
    const before = this.snapshot()
    let changed: boolean
    try {
      changed = fn()
    } catch (err) {
      if (err instanceof VirError) throw err
      this.restore(before)
      throw err
    }
    if (!changed) return
    try {
      this.persist()
    } catch (err) {
      this.restore(before)
      throw errors.systemError(ErrorDomain.LOCKING, `cannot save the lock table ${this.file}: ${(err as Error).message}`)
    }
  }

  private snapshot(): Lock[] {
    return [...this.locks.values()].map((l) => ({...l, owners: l.owners.map((o) => ({...o}))}))
  }

  private restore(locks: Lock[]): void {
    this.locks = new Map(locks.map((l) => [l.path, l]))
  }

  private persist(): void {
    writeFileAtomicSync(this.file, JSON.stringify({version: 1, locks: [...this.locks.values()]}, null, 1) + '\n', 0o600)
  }
}
