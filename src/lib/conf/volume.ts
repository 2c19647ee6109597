/**
 * Storage volume XML <-> VolDef, as libvirt's virStorageVolDef: what a client sends to create a volume
 * (name, capacity, allocation, target format and permissions, backing store) and what dumpxml prints.
 */

import {ErrorDomain, errors} from '../errors.js'
import {type XmlElement, attr, child, el, parseXml, serializeXml, textEl, textOf} from './xml.js'
import {expectRoot, parseScaledBytes} from './values.js'

const S = ErrorDomain.STORAGE

/** virStorageVolType names. */
export const VOL_TYPES = ['file', 'block', 'dir', 'network', 'netdir', 'ploop'] as const

/** Formats of file volumes (virStorageFileFormat) a dir / fs pool accepts, in libvirt's order. */
export const FILE_FORMATS = [
  'none',
  'raw',
  'dir',
  'bochs',
  'cloop',
  'dmg',
  'iso',
  'vpc',
  'vdi',
  'fat',
  'vhd',
  'ploop',
  'cow',
  'qcow',
  'qcow2',
  'qed',
  'vmdk',
] as const
/** Partition types of a disk pool's volumes (virStorageVolFormatDisk). */
export const DISK_VOL_FORMATS = ['none', 'linux', 'fat16', 'fat32', 'linux-swap', 'linux-lvm', 'linux-raid', 'extended'] as const

export interface VolPerms {
  mode?: number
  owner?: number
  group?: number
}

export interface VolTimestamps {
  atime: string
  mtime: string
  ctime: string
}

export interface VolBacking {
  path: string
  format?: string
  perms?: VolPerms
  timestamps?: VolTimestamps
}

export interface VolDef {
  name: string
  /** file | block | dir | ... (set by the pool backend when formatting). */
  type?: string
  key?: string
  /** Bytes; undefined when the XML gave none (vol-create-from copies the source's). */
  capacity?: bigint
  allocation?: bigint
  physical?: bigint
  targetPath?: string
  format?: string
  perms?: VolPerms
  timestamps?: VolTimestamps
  backing?: VolBacking
}

function scaled(root: XmlElement, name: string): bigint | undefined {
  const e = child(root, name)
  if (e === undefined) return undefined
  try {
    return parseScaledBytes(e, `./${name}`, 'bytes', S)
  } catch (err) {
    if ((err as {code?: number}).code === 27) throw errors.xmlError(S, `malformed ${name} element`)
    throw err
  }
}

function parsePerms(e: XmlElement | undefined): VolPerms | undefined {
  if (e === undefined) return undefined
  const out: VolPerms = {}
  const mode = textOf(child(e, 'mode'))
  if (mode) {
    if (!/^[0-7]{1,4}$/.test(mode)) throw errors.xmlError(S, 'malformed octal mode')
    out.mode = parseInt(mode, 8)
  }
  for (const k of ['owner', 'group'] as const) {
    const t = textOf(child(e, k))
    if (!t) continue
    if (!/^-?[0-9]+$/.test(t)) throw errors.xmlError(S, `malformed ${k} element`)
    out[k] = Number(t)
  }
  return out
}

/** Parses volume XML. `optCapacity`: a missing capacity is allowed (vol-create-from). */
export function parseVolXml(xml: string, opts: {optCapacity?: boolean; docName?: string} = {}): VolDef {
  const root = parseXml(xml, opts.docName ?? 'volume_definition', S)
  expectRoot(root, 'volume', S)
  const name = textOf(child(root, 'name'))
  if (!name) throw errors.xmlError(S, 'missing volume name element')
  const type = attr(root, 'type')
  if (type !== undefined && !(VOL_TYPES as readonly string[]).includes(type)) throw errors.xmlError(S, `unknown volume type '${type}'`)
  const capacity = scaled(root, 'capacity')
  if (capacity === undefined && !opts.optCapacity) throw errors.xmlError(S, 'missing capacity element')
  const allocation = scaled(root, 'allocation') ?? capacity
  const target = child(root, 'target')
  const format = attr(child(target, 'format'), 'type')
  const bs = child(root, 'backingStore')
  let backing: VolBacking | undefined
  if (bs !== undefined) {
    const path = textOf(child(bs, 'path'))
    if (!path) throw errors.xmlError(S, 'missing volume backing store path')
    backing = {path, format: attr(child(bs, 'format'), 'type')}
  }
  return {
    name,
    type,
    capacity,
    allocation,
    targetPath: textOf(child(target, 'path')) || undefined,
    format,
    perms: parsePerms(child(target, 'permissions')),
    backing,
  }
}

function permsEl(p: VolPerms | undefined): XmlElement | undefined {
  if (p === undefined) return undefined
  return el('permissions', undefined, [
    p.mode === undefined ? undefined : textEl('mode', p.mode.toString(8).padStart(4, '0')),
    textEl('owner', p.owner ?? -1),
    textEl('group', p.group ?? -1),
  ])
}

function timesEl(t: VolTimestamps | undefined): XmlElement | undefined {
  if (t === undefined) return undefined
  return el('timestamps', undefined, [textEl('atime', t.atime), textEl('mtime', t.mtime), textEl('ctime', t.ctime), textEl('btime', 0)])
}

/** Formats a volume as libvirt's dumpxml prints it (sizes in bytes). */
export function formatVolXml(v: VolDef): string {
  const fmt = v.format === undefined ? undefined : el('format', {type: v.format})
  const target = el('target', undefined, [
    v.targetPath === undefined ? undefined : textEl('path', v.targetPath),
    fmt,
    permsEl(v.perms),
    timesEl(v.timestamps),
  ])
  const b = v.backing
  const backing =
    b === undefined
      ? undefined
      : el('backingStore', undefined, [
          textEl('path', b.path),
          b.format === undefined ? undefined : el('format', {type: b.format}),
          permsEl(b.perms),
          timesEl(b.timestamps),
        ])
  const root = el('volume', {type: v.type ?? 'file'}, [
    textEl('name', v.name),
    v.key === undefined ? undefined : textEl('key', v.key),
    v.type === 'block' ? el('source') : undefined,
    textEl('capacity', String(v.capacity ?? 0n), {unit: 'bytes'}),
    textEl('allocation', String(v.allocation ?? 0n), {unit: 'bytes'}),
    v.physical === undefined ? undefined : textEl('physical', String(v.physical), {unit: 'bytes'}),
    target,
    backing,
  ])
  return serializeXml(root)
}

/** Checks a volume name as libvirt's dir / fs backends do before creating a file for it. */
export function checkVolName(name: string): void {
  if (name.includes('/')) throw errors.operationInvalid(S, `volume name '${name}' cannot contain '/'`)
}
