/**
 * Disks of a running guest through QMP, as libvirt's QEMU driver does it: a storage node and a
 * format node (`blockdev-add`) and the frontend (`device_add`) to plug a disk; `device_del`, then
 * `blockdev-del` of both nodes once QEMU reports DEVICE_DELETED to unplug it; and for a cdrom or
 * floppy, media changes through the tray (`blockdev-open-tray`, `-remove-medium`, `-insert-medium`,
 * `-close-tray`).
 */
import {accessSync, constants} from 'node:fs'
import type {DomainDisk} from '../../conf/domain.js'
import {ErrorCode, ErrorDomain, VirError, errors} from '../../errors.js'
import {QmpError, type QmpClient} from './qmp.js'

interface NamedNode {
  'node-name': string
}

/** libvirt's error when a disk's source cannot be opened (reported by its storage code). */
export function checkSource(path: string): void {
  try {
    accessSync(path, constants.F_OK)
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    const text = e.code === 'ENOENT' ? 'No such file or directory' : e.code === 'EACCES' ? 'Permission denied' : e.message
    throw new VirError(ErrorCode.SYSTEM_ERROR, ErrorDomain.STORAGE, `Cannot access storage file '${path}': ${text}`, {
      str1: '%s',
      str2: `Cannot access storage file '${path}': ${text}`,
    })
  }
}

/** The next unused `libvirt-N-` prefix (libvirt counts node names up for the life of the process). */
async function nextNodeIndex(qmp: QmpClient): Promise<number> {
  const nodes = await qmp.execute<NamedNode[]>('query-named-block-nodes', {flat: true})
  let max = 0
  for (const n of nodes) {
    const m = /^libvirt-(\d+)-/.exec(n['node-name'])
    if (m) max = Math.max(max, Number(m[1]))
  }
  return max + 1
}

/** Adds the storage and format nodes of a disk's source; returns the format node's name. */
async function addNodes(qmp: QmpClient, d: DomainDisk, readOnly: boolean): Promise<string> {
  const n = await nextNodeIndex(qmp)
  const storage = `libvirt-${n}-storage`
  const format = `libvirt-${n}-format`
  await qmp.execute('blockdev-add', {
    driver: d.type === 'block' ? 'host_device' : 'file',
    filename: d.source,
    'node-name': storage,
    'auto-read-only': true,
    discard: 'unmap',
  })
  try {
    await qmp.execute('blockdev-add', {'node-name': format, 'read-only': readOnly, driver: d.driverType ?? 'raw', file: storage})
  } catch (err) {
    await qmp.execute('blockdev-del', {'node-name': storage}).catch(() => undefined)
    throw err
  }
  return format
}

/** Removes a format node and the storage node under it (libvirt-N-format, libvirt-N-storage). */
export async function delNodes(qmp: QmpClient, format: string | undefined): Promise<void> {
  if (!format) return
  await qmp.execute('blockdev-del', {'node-name': format}).catch(() => undefined)
  const m = /^libvirt-(\d+)-format$/.exec(format)
  if (m) await qmp.execute('blockdev-del', {'node-name': `libvirt-${m[1]}-storage`}).catch(() => undefined)
}

interface BlockInfo {
  qdev?: string
  inserted?: {'node-name'?: string}
}

/** The format node behind a disk frontend (undefined when its drive is empty). */
export async function formatNodeOf(qmp: QmpClient, alias: string): Promise<string | undefined> {
  const blocks = await qmp.execute<BlockInfo[]>('query-block')
  const b = blocks.find((x) => x.qdev === alias || x.qdev?.startsWith(`/machine/peripheral/${alias}/`) || x.qdev === `/machine/peripheral/${alias}`)
  return b?.inserted?.['node-name']
}

/**
 * Plugs a disk (its address already assigned in `def`) into the running guest: the SCSI controllers
 * it needs first (`controllers`, device_add arguments), then its nodes and frontend. A failure
 * removes what this call added, except controllers (libvirt keeps a controller it plugged too).
 */
export async function plugDisk(
  qmp: QmpClient,
  d: DomainDisk,
  controllers: Record<string, unknown>[],
  frontend: (format: string | undefined) => Record<string, unknown>,
): Promise<void> {
  for (const c of controllers) await deviceAdd(qmp, c)
  const format = d.source !== undefined ? await addNodes(qmp, d, d.readonly || d.device === 'cdrom') : undefined
  try {
    await deviceAdd(qmp, frontend(format))
  } catch (err) {
    await delNodes(qmp, format)
    throw err
  }
}

/** device_add, a refusal reported as libvirt reports any failed QEMU command (an internal error). */
export async function deviceAdd(qmp: QmpClient, args: Record<string, unknown>): Promise<void> {
  try {
    await qmp.execute('device_add', args)
  } catch (err) {
    if (err instanceof QmpError) throw errors.internal(ErrorDomain.QEMU, `unable to execute QEMU command '${err.command}': ${err.desc}`)
    throw err
  }
}

/** Swaps (or with no source, ejects) the medium of a removable drive. */
export async function changeMedium(qmp: QmpClient, alias: string, d: DomainDisk): Promise<void> {
  const old = await formatNodeOf(qmp, alias)
  await qmp.execute('blockdev-open-tray', {id: alias, force: true})
  await qmp.execute('blockdev-remove-medium', {id: alias})
  if (d.source !== undefined) {
    const format = await addNodes(qmp, d, d.readonly || d.device === 'cdrom')
    try {
      await qmp.execute('blockdev-insert-medium', {id: alias, 'node-name': format})
    } catch (err) {
      await delNodes(qmp, format)
      throw err
    }
    await qmp.execute('blockdev-close-tray', {id: alias})
  }
  await delNodes(qmp, old)
}

/** The format node of `source` that no drive uses any more (a disk whose frontend QEMU removed while nobody watched). */
export async function orphanFormatNode(qmp: QmpClient, source: string | undefined): Promise<string | undefined> {
  if (source === undefined) return undefined
  const used = new Set((await qmp.execute<BlockInfo[]>('query-block')).map((b) => b.inserted?.['node-name']))
  const nodes = await qmp.execute<Array<NamedNode & {file?: string}>>('query-named-block-nodes', {flat: true})
  return nodes.find((n) => /^libvirt-\d+-format$/.test(n['node-name']) && n.file === source && !used.has(n['node-name']))?.['node-name']
}
