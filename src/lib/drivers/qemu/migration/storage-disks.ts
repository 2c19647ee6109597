/**
 * Storage migration (`--copy-storage-all` / `--copy-storage-inc`): which disks are copied, as
 * libvirt chooses them (the `migrate_disks` parameter, else every non-shared, writable disk with a
 * source), the checks of the begin phase, and the disks' virtual sizes the source's cookie carries.
 */
import type {DomainDef, DomainDisk} from '../../../conf/domain.js'
import {child} from '../../../conf/xml.js'
import {ErrorCode, errors, virError, type VirError} from '../../../errors.js'
import {MigrateFlags as F, MigrateParam, type MigrationParam} from '../../migration-types.js'
import {placeDisks} from '../argv.js'
import {D} from '../context.js'
import type {QmpClient} from '../qmp.js'
import type {CookieNbd} from './cookie.js'

export const STORAGE_FLAGS = F.NON_SHARED_DISK | F.NON_SHARED_INC

/** A disk a storage migration copies: its definition, device alias and the NBD export name (libvirt's drive alias). */
export interface CopyDisk {
  disk: DomainDisk
  alias: string
  exportName: string
}

export const operationUnsupported = (detail: string): VirError => virError(ErrorCode.OPERATION_UNSUPPORTED, D, 'Operation not supported', detail)

/** The `migrate_disks` parameters (the parameter may be given once per disk). */
export function migrateDisks(params: MigrationParam[]): string[] {
  return params.filter((p) => p.field === MigrateParam.MIGRATE_DISKS && typeof p.value === 'string').map((p) => p.value as string)
}

/** libvirt's rule: the listed disks, else every disk that is not shared, not read-only and has a source. */
export function copiesDisk(d: DomainDisk, wanted: string[]): boolean {
  if (wanted.length) return wanted.includes(d.target)
  return child(d.xml, 'shareable') === undefined && !d.readonly && d.device !== 'cdrom' && d.source !== undefined
}

export function disksToCopy(def: DomainDef, wanted: string[]): CopyDisk[] {
  return placeDisks(def)
    .filter((p) => copiesDisk(p.disk, wanted))
    .map((p) => ({disk: p.disk, alias: p.alias, exportName: `drive-${p.alias}`}))
}

/** The storage checks of the begin phase (source). */
export function checkStorageFlags(def: DomainDef, params: MigrationParam[], flags: number): void {
  const wanted = migrateDisks(params)
  if (!(flags & STORAGE_FLAGS)) {
    if (wanted.length)
      throw operationUnsupported(
        "use of 'VIR_MIGRATE_PARAM_MIGRATE_DISKS' requires use of 'VIR_MIGRATE_NON_SHARED_DISK' or 'VIR_MIGRATE_NON_SHARED_INC' flag",
      )
    return
  }
  if (flags & F.TUNNELLED) throw operationUnsupported('migration of non-shared storage is not supported with tunnelled migration and this QEMU')
  for (const t of wanted) {
    if (!def.devices.disks.some((d) => d.target === t)) throw errors.invalidArg(D, `disk target ${t} not found`)
  }
}

interface BlockInfo {
  qdev?: string
  inserted?: {'node-name'?: string; image?: {'virtual-size'?: number}}
}

/** Where a disk frontend's block backend is in query-block (by its qdev path or id). */
export function ownsBlock(b: BlockInfo, alias: string): boolean {
  return b.qdev === alias || b.qdev === `/machine/peripheral/${alias}` || (b.qdev?.startsWith(`/machine/peripheral/${alias}/`) ?? false)
}

/** The format node and virtual size of each disk to copy, from the running QEMU. */
export async function blockNodes(qmp: QmpClient, disks: CopyDisk[]): Promise<Map<string, {node: string; size: bigint}>> {
  const blocks = await qmp.execute<BlockInfo[]>('query-block')
  const out = new Map<string, {node: string; size: bigint}>()
  for (const d of disks) {
    const b = blocks.find((x) => ownsBlock(x, d.alias))
    const node = b?.inserted?.['node-name']
    if (!node) throw errors.internal(D, `unable to find block node of disk '${d.disk.target}'`)
    out.set(d.disk.target, {node, size: BigInt(b.inserted?.image?.['virtual-size'] ?? 0)})
  }
  return out
}

/** The `<nbd>` of the source's begin cookie: the disks it will copy, with their virtual sizes. */
export async function beginNbd(qmp: QmpClient | undefined, def: DomainDef, params: MigrationParam[], flags: number): Promise<CookieNbd | undefined> {
  if (!(flags & STORAGE_FLAGS) || !qmp) return undefined
  const disks = disksToCopy(def, migrateDisks(params))
  if (!disks.length) return undefined
  const nodes = await blockNodes(qmp, disks)
  return {disks: disks.map((d) => ({target: d.disk.target, capacity: nodes.get(d.disk.target)?.size ?? 0n}))}
}
