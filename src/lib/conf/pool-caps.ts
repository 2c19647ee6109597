/**
 * Storage pool capabilities XML (virConnectGetStoragePoolCapabilities): every pool type libvirt 9.0
 * knows, whether this driver runs it, and the source and volume formats of each, in libvirt's layout.
 */
import {FILE_FORMATS, DISK_VOL_FORMATS} from './volume.js'
import {POOL_TYPE_LIST} from './pool.js'

interface TypeCaps {
  pool?: {def: string; formats: readonly string[]}
  vol?: {def: string; formats: readonly string[]}
}

const FS_FORMATS = ['auto', 'ext2', 'ext3', 'ext4', 'ufs', 'iso9660', 'udf', 'gfs', 'gfs2', 'vfat', 'hfs+', 'xfs', 'ocfs2', 'vmfs']
const fileVols = {def: 'raw', formats: FILE_FORMATS}

const CAPS: Record<string, TypeCaps> = {
  dir: {vol: fileVols},
  fs: {pool: {def: 'auto', formats: FS_FORMATS}, vol: fileVols},
  netfs: {pool: {def: 'auto', formats: ['auto', 'nfs', 'glusterfs', 'cifs']}, vol: fileVols},
  logical: {pool: {def: 'lvm2', formats: ['unknown', 'lvm2']}},
  disk: {
    pool: {def: 'unknown', formats: ['unknown', 'dos', 'dvh', 'gpt', 'mac', 'bsd', 'pc98', 'sun', 'lvm2']},
    vol: {def: 'none', formats: DISK_VOL_FORMATS},
  },
  rbd: {vol: {def: 'raw', formats: []}},
  gluster: {vol: fileVols},
  vstorage: {vol: fileVols},
}

function enumXml(kind: string, name: string, o: {def: string; formats: readonly string[]}): string[] {
  return [
    `    <${kind}>`,
    `      <defaultFormat type='${o.def}'/>`,
    `      <enum name='${name}'>`,
    ...o.formats.map((f) => `        <value>${f}</value>`),
    `      </enum>`,
    `    </${kind}>`,
  ]
}

/** The capabilities document; `supported` lists the pool types this driver runs. */
export function formatPoolCapabilities(supported: ReadonlySet<string>): string {
  const lines = ['<storagepoolCapabilities>']
  for (const type of POOL_TYPE_LIST) {
    const c = CAPS[type] ?? {}
    lines.push(`  <pool type='${type}' supported='${supported.has(type) ? 'yes' : 'no'}'>`)
    if (c.pool) lines.push(...enumXml('poolOptions', 'sourceFormatType', c.pool))
    if (c.vol) lines.push(...enumXml('volOptions', 'targetFormatType', c.vol))
    lines.push('  </pool>')
  }
  lines.push('</storagepoolCapabilities>', '')
  return lines.join('\n')
}
