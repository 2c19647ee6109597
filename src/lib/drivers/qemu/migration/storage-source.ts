/**
 * The storage part of the source's perform phase: the disks' mirrors to the NBD server the
 * destination's cookie names (on the host of the migration URI, as libvirt connects), running and
 * ready before QEMU starts sending the memory.
 */
import {errors} from '../../../errors.js'
import {MigrateFlags as F, type MigrationParam} from '../../migration-types.js'
import {D} from '../context.js'
import type {QmpClient} from '../qmp.js'
import type {CookieNbd} from './cookie.js'
import {Mirrors} from './nbd-mirror.js'
import {abortedError, BANDWIDTH_MAX, bytesPerSecond} from './qemu-stream.js'
import type {MigrationState} from './state.js'
import {disksToCopy, migrateDisks, STORAGE_FLAGS} from './storage-disks.js'

/** The host part of QEMU's "tcp:HOST:PORT" (brackets of an IPv6 address dropped). */
function uriHost(uri: string): string {
  const m = /^tcp:(\[[^\]]+\]|[^:]+):\d+$/.exec(uri)
  if (!m) throw errors.operationFailed(D, `storage migration needs a TCP migration URI, not '${uri}'`)
  return m[1].replace(/^\[(.*)\]$/, '$1')
}

/** Starts the mirrors of the copied disks and waits for them to be ready; undefined when nothing is copied. */
export async function startStorageCopy(
  s: MigrationState,
  uuid: string,
  qmp: QmpClient,
  params: MigrationParam[],
  flags: number,
  nbd: CookieNbd | undefined,
  uri: string,
  speedMiB: bigint,
): Promise<Mirrors | undefined> {
  const dom = s.ctx.domains.get(uuid)
  const out = s.outgoing.get(uuid)
  if (!(flags & STORAGE_FLAGS) || !dom.live || !out) return undefined
  const disks = disksToCopy(dom.live, migrateDisks(params))
  if (!disks.length) return undefined
  if (!nbd?.port) throw errors.operationFailed(D, 'the destination offered no NBD server for the storage migration')
  const speed = speedMiB >= BANDWIDTH_MAX ? 0 : bytesPerSecond(speedMiB)
  const mirrors = await Mirrors.start(qmp, disks, uriHost(uri), nbd.port, (flags & F.NON_SHARED_INC) !== 0, speed)
  try {
    await mirrors.waitReady(() => {
      out.job.disk = mirrors.progress
      if (out.job.aborted) return abortedError('migration out')
      if (out.lost) return errors.operationFailed(D, 'Lost connection to destination host')
      return undefined
    })
  } catch (err) {
    await mirrors.abort()
    throw err
  }
  out.job.disk = mirrors.progress
  return mirrors
}
