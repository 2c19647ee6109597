/**
 * QEMU's migration stream to and from a file descriptor, as save/restore use it (and live
 * migration may): a guest started with `-incoming defer` receives a stream with
 * `migrate-incoming fd:NAME`; a running guest sends its state with `migrate fd:NAME`. The
 * descriptor goes to QEMU over the monitor (`getfd`); QEMU shares its file offset, so the caller
 * positions it first (after a save image's header). Completion is seen by polling
 * `query-migrate`, which needs no migration capability set beforehand.
 */
import {errors} from '../../errors.js'
import {D} from './context.js'
import type {QmpClient} from './qmp.js'

/** What a guest that will receive a stream is started with (CPUs stopped, as always: -S). */
export const INCOMING_DEFER_ARGV: readonly string[] = ['-incoming', 'defer']

/** The name descriptors have in QEMU between `getfd` and the migration (libvirt's). */
const FDNAME = 'migrate'

/** libvirt's unlimited bandwidth for saving to a file (QEMU's default is 32 MiB/s). */
const UNLIMITED_BPS = 2 ** 53 - 1

interface MigrateInfo {
  status?: string
  'error-desc'?: string
}

/** Polls query-migrate until the migration completed; rejects with QEMU's reason when it failed. */
export async function waitMigration(qmp: QmpClient, what: string, timeoutMs = 600000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let delay = 5
  for (;;) {
    const info = await qmp.execute<MigrateInfo>('query-migrate')
    const status = info.status ?? 'none'
    if (status === 'completed') return
    if (status === 'failed' || status === 'cancelled') {
      const why = info['error-desc'] ?? status
      throw errors.operationFailed(D, `${what}: ${why}`)
    }
    if (Date.now() > deadline) throw errors.operationFailed(D, `${what}: timed out after ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, delay))
    delay = Math.min(delay * 2, 50)
  }
}

/** Sends the guest's state to `fd` (from its current offset) and waits until QEMU wrote all of it. */
export async function migrateToFd(qmp: QmpClient, fd: number): Promise<void> {
  await qmp.execute('migrate-set-parameters', {'max-bandwidth': UNLIMITED_BPS})
  await qmp.executeWithFds('getfd', {fdname: FDNAME}, [fd])
  await qmp.execute('migrate', {uri: `fd:${FDNAME}`})
  await waitMigration(qmp, 'migration job')
}

/** Loads the guest's state from `fd` into a QEMU started with INCOMING_DEFER_ARGV; waits until loaded. */
export async function migrateIncomingFromFd(qmp: QmpClient, fd: number): Promise<void> {
  await qmp.executeWithFds('getfd', {fdname: FDNAME}, [fd])
  await qmp.execute('migrate-incoming', {uri: `fd:${FDNAME}`})
  await waitMigration(qmp, 'incoming migration')
}
