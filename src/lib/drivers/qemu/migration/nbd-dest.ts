/**
 * The destination of a storage migration: the disks the source's cookie lists are created when
 * missing, as libvirt does it, through the storage driver (a volume of the active pool whose target
 * is the disk's directory, or of the volume disk's pool; libvirt's error when there is none; never
 * for `--copy-storage-inc`, whose backing chain must already be there), and once QEMU waits for the
 * incoming stream, its NBD server listens on a port of the migration range and exports each copied
 * disk writable under libvirt's name (`drive-<alias>`), until finish stops it. The volumes created
 * go again, through the storage driver, when the migration fails.
 */
import {existsSync} from 'node:fs'
import type {DomainDef, DomainDisk} from '../../../conf/domain.js'
import {attr, child} from '../../../conf/xml.js'
import {ErrorDomain, errors} from '../../../errors.js'
import {MigrateFlags as F, type MigrationParam} from '../../migration-types.js'
import {VolCreateFlags, type StorageVolumes} from '../../storage-vol-types.js'
import {D} from '../context.js'
import type {QmpClient} from '../qmp.js'
import type {CookieNbd} from './cookie.js'
import {blockNodes, copiesDisk, disksToCopy, migrateDisks, operationUnsupported, STORAGE_FLAGS} from './storage-disks.js'

/** What prepare set up for a storage migration (undone by finish, or when the migration fails). */
export interface IncomingStorage {
  /** Paths of the volumes created here for the migration: deleted again when it fails. */
  created: string[]
  port?: number
  /** The storage driver that created them. */
  volumes?: StorageVolumes
}

const escapeXml = (v: string): string =>
  v.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/'/g, '&apos;').replace(/"/g, '&quot;')

/** The volume libvirt asks its storage driver for: name, the source's virtual size, the disk's format (qcow2 as v3). */
function volumeXml(name: string, capacity: bigint, format: string, compat: boolean): string {
  const c = compat ? `    <compat>1.1</compat>\n` : ''
  return `<volume>\n  <name>${escapeXml(name)}</name>\n  <capacity>${capacity}</capacity>\n  <target>\n    <format type='${format}'/>\n${c}  </target>\n</volume>\n`
}

/** Where the storage driver is to create a missing disk: pool (by target directory or name) and volume name; undefined: nothing to create. */
function placeOf(disk: DomainDisk): {pool: {dir: string} | {name: string}; name: string; compat: boolean} | undefined {
  if (disk.type === 'file') {
    if (disk.source === undefined) return undefined
    const slash = disk.source.lastIndexOf('/')
    if (slash < 0) throw errors.invalidArg(D, `malformed disk path: ${disk.source}`)
    return {pool: {dir: disk.source.slice(0, slash)}, name: disk.source.slice(slash + 1), compat: disk.driverType === 'qcow2'}
  }
  if (disk.type === 'volume') {
    const src = child(disk.xml, 'source')
    return {pool: {name: attr(src, 'pool') ?? ''}, name: attr(src, 'volume') ?? '', compat: false}
  }
  if (disk.type === 'network') return undefined
  throw errors.internal(D, `cannot precreate storage for disk type '${disk.type}'`)
}

/** Before QEMU starts: creates the missing disks of the copy as volumes of the storage driver. */
export async function precreateStorage(
  volumes: StorageVolumes | undefined,
  def: DomainDef,
  nbd: CookieNbd | undefined,
  params: MigrationParam[],
  flags: number,
): Promise<IncomingStorage> {
  const st: IncomingStorage = {created: [], volumes}
  if (!nbd || !(flags & STORAGE_FLAGS)) return st
  const wanted = migrateDisks(params)
  try {
    for (const want of nbd.disks) {
      const disk = def.devices.disks.find((d) => d.target === want.target)
      if (!disk) throw errors.internal(D, `unable to find disk by target: ${want.target}`)
      const path = disk.type === 'volume' ? undefined : disk.source
      if (!copiesDisk(disk, wanted) || (path !== undefined && existsSync(path))) continue
      if (flags & F.NON_SHARED_INC) {
        throw operationUnsupported('pre-creation of storage targets for incremental storage migration is not supported')
      }
      const place = placeOf(disk)
      if (!place) continue
      if (!volumes) throw errors.noSupport(ErrorDomain.STORAGE, 'no storage driver to create the volumes of a storage migration')
      const format = disk.driverType ?? 'raw'
      const prealloc = format === 'qcow2' ? VolCreateFlags.PREALLOC_METADATA : 0
      const made = await volumes.precreateVolume(place.pool, place.name, volumeXml(place.name, want.capacity, format, place.compat), prealloc)
      if (made !== undefined) st.created.push(made)
    }
  } catch (err) {
    await removeCreated(st)
    throw err
  }
  return st
}

/** The migration failed: the volumes it created go (through the storage driver, so that its pools forget them too). */
export async function removeCreated(st: IncomingStorage | undefined): Promise<void> {
  if (!st) return
  const paths = st.created
  st.created = []
  for (const p of paths) await st.volumes?.deleteVolumeByPath(p).catch(() => false)
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
