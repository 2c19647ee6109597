/**
 * virtlockd and hotplug: a disk plugged into a running guest is locked before QEMU opens it, as
 * libvirt's lock manager does (virDomainLockImageAttach), with the owner the guest's boot disks
 * have (name, uuid, QEMU's pid); a disk another guest holds refuses the attach with virtlockd's
 * error and nothing changed. The lock goes with the disk when it is unplugged, and with all the
 * others when the guest stops (the run's locks are released by owner). Locks are taken whenever
 * virtlockd answers, as at start; a guest started without virtlockd that gets one of its disks
 * locked this way records virtlockd in its status so the lock is released at stop.
 */
import type {DomainDef, DomainDisk} from '../../conf/domain.js'
import type {QemuContext, QemuDomain, Run} from './context.js'
import {diskLocks} from './logd-lockd.js'

function locksOf(def: DomainDef, disk: DomainDisk) {
  return diskLocks({...def, devices: {...def.devices, disks: [disk]}})
}

/**
 * Takes the lock of a disk about to be plugged into `d`'s running guest. Returns what undoes it
 * (for a plug that fails afterwards), or undefined when no lock was taken.
 */
export async function lockPluggedDisk(
  ctx: QemuContext,
  d: QemuDomain,
  run: Run,
  def: DomainDef,
  disk: DomainDisk,
): Promise<(() => Promise<void>) | undefined> {
  const locks = locksOf(def, disk).filter((l) => !def.devices.disks.some((o) => o !== disk && o.source === l.path))
  if (locks.length === 0) return undefined
  const sock = run.lockd?.socket ?? (await ctx.helpers.useVirtlockd())
  if (sock === undefined) return undefined
  const ident = {name: d.name, uuid: d.uuid}
  await ctx.helpers.acquireLocks(sock, ident, run.pid, locks)
  const hadLockd = run.lockd !== undefined
  run.lockd ??= {socket: sock}
  return async () => {
    for (const l of locks) await ctx.helpers.releaseDiskLock({socket: sock}, ident, run.pid, l.path)
    if (!hadLockd) run.lockd = undefined
  }
}

/** Releases the lock of a disk unplugged from `d`'s running guest (`def` is the live definition without it). */
export async function unlockUnpluggedDisk(ctx: QemuContext, d: QemuDomain, run: Run, def: DomainDef, disk: DomainDisk): Promise<void> {
  if (!run.lockd) return
  for (const l of locksOf(def, disk)) {
    // Another disk of the guest on the same file keeps the lock.
    if (def.devices.disks.some((o) => o !== disk && o.source === l.path)) continue
    await ctx.helpers.releaseDiskLock(run.lockd, {name: d.name, uuid: d.uuid}, run.pid, l.path)
  }
}
