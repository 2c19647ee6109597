/**
 * What the QEMU driver uses to talk to virtlockd:
 *
 *   await acquireDiskLocks(sock, {name, uuid, pid: 0}, disks)   // before starting QEMU: refuses on conflict
 *   await acquireDiskLocks(sock, {name, uuid, pid: qemuPid}, disks)  // once QEMU runs (records its PID)
 *   await releaseOwner(sock, {name, uuid, pid})                 // after QEMU exited
 *
 * Owners are matched by UUID. A lock whose owner PID is gone is dropped by virtlockd (at start and
 * when it stands in the way); PID 0 means "no process yet" and is never considered gone.
 */
import {uuidToBytes, uuidToString} from '../../uuid.js'
import {withDaemon, type RetryOptions} from '../retry.js'
import {lockProgram} from './protocol.js'

export interface DiskLockOwner {
  name: string
  uuid: string | Uint8Array
  pid: number
}

export interface DiskLock {
  path: string
  shared: boolean
}

export interface HeldLock {
  path: string
  shared: boolean
  owners: {name: string; uuid: string; pid: number}[]
}

const P = [lockProgram]

function wireOwner(o: DiskLockOwner) {
  return {name: o.name, uuid: typeof o.uuid === 'string' ? uuidToBytes(o.uuid) : Buffer.from(o.uuid), pid: o.pid}
}

/**
 * Takes every disk's lock for owner, in order. On a conflict (VirError RESOURCE_BUSY, domain
 * LOCKING: "resource busy: Lockspace resource '...' is locked") the locks taken by this call are
 * released again before the error is thrown.
 */
export function acquireDiskLocks(sockPath: string, owner: DiskLockOwner, disks: DiskLock[], opts?: RetryOptions): Promise<void> {
  const o = wireOwner(owner)
  return withDaemon(
    sockPath,
    P,
    async (c) => {
      const taken: string[] = []
      try {
        for (const disk of disks) {
          await c.call(lockProgram, lockProgram.procs.ACQUIRE, {owner: o, path: disk.path, shared: disk.shared ? 1 : 0, flags: 0})
          taken.push(disk.path)
        }
      } catch (err) {
        if (!c.isClosed) for (const path of taken) await c.call(lockProgram, lockProgram.procs.RELEASE, {owner: o, path, flags: 0}).catch(() => {})
        throw err
      }
    },
    opts,
  )
}

/** Releases one disk's lock held by owner (no error if it holds none). */
export function releaseDiskLock(sockPath: string, owner: DiskLockOwner, path: string, opts?: RetryOptions): Promise<void> {
  return withDaemon(sockPath, P, (c) => c.call(lockProgram, lockProgram.procs.RELEASE, {owner: wireOwner(owner), path, flags: 0}), opts)
}

/** Releases every lock of owner (matched by UUID). */
export function releaseOwner(sockPath: string, owner: DiskLockOwner, opts?: RetryOptions): Promise<void> {
  return withDaemon(sockPath, P, (c) => c.call(lockProgram, lockProgram.procs.RELEASE_OWNER, {owner: wireOwner(owner), flags: 0}), opts)
}

export async function listLocks(sockPath: string, opts?: RetryOptions): Promise<HeldLock[]> {
  const r = await withDaemon(sockPath, P, (c) => c.call(lockProgram, lockProgram.procs.LIST, {flags: 0}), opts)
  return r.locks.map((l) => ({
    path: l.path,
    shared: l.shared !== 0,
    owners: l.owners.map((o) => ({name: o.name, uuid: uuidToString(o.uuid), pid: o.pid})),
  }))
}
