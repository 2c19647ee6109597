/**
 * The destination of a storage migration: the disk images the source's cookie lists are created
 * when missing (same format, the source's virtual size; never for `--copy-storage-inc`, whose
 * backing chain must already be there), and once QEMU waits for the incoming stream, its NBD server
 * listens on a port of the migration range and exports each copied disk writable under libvirt's
 * name (`drive-<alias>`), until finish stops it.
 */
import {execFile} from 'node:child_process'
import {existsSync, rmSync} from 'node:fs'
import type {DomainDef} from '../../../conf/domain.js'
import {errors} from '../../../errors.js'
import {MigrateFlags as F, type MigrationParam} from '../../migration-types.js'
import {D} from '../context.js'
import type {QmpClient} from '../qmp.js'
import {qemuImgFor} from '../snapshot-qemu.js'
import type {CookieNbd} from './cookie.js'
import {blockNodes, copiesDisk, disksToCopy, migrateDisks, operationUnsupported, STORAGE_FLAGS} from './storage-disks.js'

/** What prepare set up for a storage migration (undone by finish, or when the migration fails). */
export interface IncomingStorage {
  /** Images created here for the migration: removed again when it fails. */
  created: string[]
  port?: number
}

function qemuImgCreate(qemuImg: string, format: string, path: string, size: bigint): Promise<void> {
  // As libvirt's storage driver creates the volume: qcow2 v3 (compat 1.1) with its metadata preallocated.
  const opts = format === 'qcow2' ? ['-o', 'compat=1.1,preallocation=metadata'] : []
  const args = ['create', '-f', format, ...opts, path, size.toString()]
  return new Promise((resolve, reject) => {
    execFile(qemuImg, args, {timeout: 60000}, (err, _out, stderr) => {
      if (!err) return resolve()
      reject(errors.internal(D, `Child process (${qemuImg} ${args.join(' ')}) unexpected exit status ${err.code ?? '?'}: ${stderr.trim()}`))
    })
  })
}

/** Before QEMU starts: creates the images of the copied disks that do not exist yet. */
export async function precreateStorage(
  emulator: string,
  def: DomainDef,
  nbd: CookieNbd | undefined,
  params: MigrationParam[],
  flags: number,
): Promise<IncomingStorage> {
  const st: IncomingStorage = {created: []}
  if (!nbd || !(flags & STORAGE_FLAGS)) return st
  const wanted = migrateDisks(params)
  try {
    for (const want of nbd.disks) {
      const disk = def.devices.disks.find((d) => d.target === want.target)
      if (!disk) throw errors.internal(D, `unable to find disk target '${want.target}' for non-shared-storage migration`)
      if (!copiesDisk(disk, wanted) || disk.source === undefined || existsSync(disk.source)) continue
      if (flags & F.NON_SHARED_INC) {
        throw operationUnsupported(
          `pre-creation of storage target '${disk.source}' for incremental storage migration of disk '${want.target}' is not supported`,
        )
      }
      if (disk.type !== 'file') throw errors.internal(D, `cannot precreate storage for disk type '${disk.type}'`)
      if (!disk.source.includes('/')) throw errors.invalidArg(D, `malformed disk path: ${disk.source}`)
      await qemuImgCreate(qemuImgFor(emulator), disk.driverType ?? 'raw', disk.source, want.capacity)
      st.created.push(disk.source)
    }
  } catch (err) {
    removeCreated(st)
    throw err
  }
  return st
}

export function removeCreated(st: IncomingStorage | undefined): void {
  for (const p of st?.created ?? []) rmSync(p, {force: true})
  if (st) st.created = []
}

/** With QEMU waiting for the stream: nbd-server-start on `host:port` and a writable export per copied disk. */
export async function startNbdServer(qmp: QmpClient, def: DomainDef, params: MigrationParam[], host: string, port: number): Promise<void> {
  const disks = disksToCopy(def, migrateDisks(params))
  for (const d of disks) {
    if (d.disk.readonly || d.disk.source === undefined) throw operationUnsupported(`Cannot migrate empty or read-only disk ${d.disk.target}`)
  }
  if (!disks.length) return
  const nodes = await blockNodes(qmp, disks)
  await qmp.execute('nbd-server-start', {addr: {type: 'inet', data: {host, port: String(port)}}})
  for (const d of disks) {
    const node = nodes.get(d.disk.target)?.node ?? ''
    await qmp.execute('block-export-add', {type: 'nbd', id: `libvirt-nbd-${node}`, 'node-name': node, name: d.exportName, writable: true})
  }
}

/** Finish: the copy is over (the exports go with the server). */
export async function stopNbdServer(qmp: QmpClient): Promise<void> {
  await qmp.execute('nbd-server-stop').catch(() => undefined)
}
