/**
 * Storage pool XML <-> PoolDef. The parsed document is kept in `root`; `<source>`, `<features>`,
 * target permissions and anything unknown are carried over as they are.
 */

import {ErrorDomain, errors} from '../errors.js'
import {type XmlElement, attr, child, childOrder, childrenNamed, el, parseXml, reassemble, serializeXml, textEl, textOf} from './xml.js'
import {expectRoot, parseScaledBytes, requireName, uuidOrNew} from './values.js'

export interface PoolDef {
  /** dir | fs | netfs | logical | disk | iscsi | iscsi-direct | scsi | mpath | rbd | sheepdog | gluster | zfs | vstorage. */
  type: string
  name: string
  uuid: string
  /** Sizes in bytes (0 when not given). */
  capacity: number
  allocation: number
  available: number
  targetPath?: string
  /** `<source><device path=.../>` (fs, disk pools) and `<source><format type=.../>`. */
  sourceDevices: string[]
  sourceFormat?: string
  /** The target directory's permissions as last seen (printed for active pools, as libvirt does). */
  targetPerms?: {mode: number; owner: number; group: number}
  root: XmlElement
}

/** virStoragePoolType numbers, in libvirt's order (its "missing backend for pool type N" names them). */
export const POOL_TYPE_LIST = [
  'dir',
  'fs',
  'netfs',
  'logical',
  'disk',
  'iscsi',
  'iscsi-direct',
  'scsi',
  'mpath',
  'rbd',
  'sheepdog',
  'gluster',
  'zfs',
  'vstorage',
] as const

const S = ErrorDomain.STORAGE
const POOL_TYPES: ReadonlySet<string> = new Set(POOL_TYPE_LIST)
/** Pool types whose XML must name a target path. */
const NEEDS_TARGET = new Set(['dir', 'fs', 'netfs', 'disk', 'iscsi', 'scsi', 'mpath', 'zfs', 'vstorage'])

function sizeOf(root: XmlElement, name: string): number {
  const e = child(root, name)
  if (e === undefined) return 0
  const bytes = parseScaledBytes(e, `./${name}`, 'bytes', S)
  if (bytes > BigInt(Number.MAX_SAFE_INTEGER)) throw errors.xmlError(S, `value of './${name}' is too large`)
  return Number(bytes)
}

/** Parses storage pool XML; errors are in the STORAGE domain (docName default 'pool_definition'). */
export function parsePoolXml(xml: string, opts: {docName?: string} = {}): PoolDef {
  return poolFromXml(parseXml(xml, opts.docName ?? 'pool_definition', S))
}

export function poolFromXml(root: XmlElement): PoolDef {
  expectRoot(root, 'pool', S)
  const type = attr(root, 'type')
  if (type === undefined) throw errors.xmlError(S, "Missing required attribute 'type' in element 'pool'")
  if (!POOL_TYPES.has(type)) throw errors.xmlError(S, `Invalid value for attribute 'type' in element 'pool': '${type}'.`)
  if (textOf(child(root, 'name')) === '') throw errors.xmlError(S, 'missing pool source name element')
  const name = requireName(root, S)
  if (name.includes('/')) throw errors.xmlError(S, `name ${name} cannot contain '/'`)
  const uuid = uuidOrNew(root, S)
  const targetPath = textOf(child(child(root, 'target'), 'path')) || undefined
  const source = child(root, 'source')
  const sourceDevices = childrenNamed(source, 'device')
    .map((d) => attr(d, 'path') ?? '')
    .filter((p) => p !== '')
  const sourceFormat = attr(child(source, 'format'), 'type')
  if (targetPath === undefined && NEEDS_TARGET.has(type)) throw errors.xmlError(S, 'missing storage pool target path')
  return {
    type,
    name,
    uuid,
    capacity: sizeOf(root, 'capacity'),
    allocation: sizeOf(root, 'allocation'),
    available: sizeOf(root, 'available'),
    targetPath,
    sourceDevices,
    sourceFormat,
    root,
  }
}

const POOL_ORDER = childOrder([
  'name',
  'uuid',
  'title',
  'description',
  'metadata',
  'capacity',
  'allocation',
  'available',
  'features',
  'source',
  'target',
  'refresh',
])
const TARGET_ORDER = childOrder(['path', 'permissions', 'timestamps', 'encryption'])

/** Produces pool XML (sizes in bytes, as libvirt prints them) from the typed fields merged into `def.root`. */
export function formatPoolXml(def: PoolDef): string {
  return serializeXml(poolToXml(def))
}

export function poolToXml(def: PoolDef): XmlElement {
  const o = def.root.name === 'pool' ? def.root : undefined
  const targetOrig = child(o, 'target')
  const target =
    def.targetPath === undefined && targetOrig === undefined
      ? undefined
      : reassemble(targetOrig, 'target', [], TARGET_ORDER, {
          path: def.targetPath === undefined ? undefined : textEl('path', def.targetPath),
          ...(def.targetPerms === undefined
            ? {}
            : {
                permissions: el('permissions', undefined, [
                  textEl('mode', def.targetPerms.mode.toString(8).padStart(4, '0')),
                  textEl('owner', def.targetPerms.owner),
                  textEl('group', def.targetPerms.group),
                ]),
              }),
        })
  const replace: Record<string, XmlElement | undefined> = {
    name: textEl('name', def.name),
    uuid: textEl('uuid', def.uuid),
    capacity: textEl('capacity', def.capacity, {unit: 'bytes'}),
    allocation: textEl('allocation', def.allocation, {unit: 'bytes'}),
    available: textEl('available', def.available, {unit: 'bytes'}),
    target,
  }
  // libvirt always prints <source>, an empty one as an open and a close tag on two lines.
  const src = child(o, 'source')
  if (src === undefined || src.children.every((c) => c.kind === 'text' && c.text.trim() === '')) {
    replace.source = {kind: 'element', name: 'source', attrs: src?.attrs ?? [], children: [{kind: 'text', text: '\n  '}]}
  }
  return reassemble(o, 'pool', [['type', def.type]], POOL_ORDER, replace)
}
