/**
 * What a pool refresh learns about one volume file: its format (raw, qcow2 with its backing file,
 * iso, or whatever `qemu-img info --output=json` recognises), capacity, allocation as libvirt counts
 * it (st_blocks * 512, so holes in sparse files are not counted), permissions and timestamps.
 *
 * raw, qcow2 and iso are told apart by their headers, read here directly (a refresh of a thousand
 * volumes must not start a thousand processes); any other known image magic is handed to qemu-img.
 */
import {execFile} from 'node:child_process'
import * as fs from 'node:fs'
import * as fsp from 'node:fs/promises'
import type {BigIntStats} from 'node:fs'
import {dirname, resolve} from 'node:path'
import {promisify} from 'node:util'

import type {VolBacking, VolPerms, VolTimestamps} from '../../conf/volume.js'

const run = promisify(execFile)

export interface Probed {
  type: 'file' | 'dir' | 'block'
  format: string
  capacity: bigint
  allocation: bigint
  physical: bigint
  perms?: VolPerms
  timestamps?: VolTimestamps
  backing?: VolBacking
}

const QCOW_MAGIC = 0x514649fb
const EXT_BACKING_FORMAT = 0xe2792aca
const HEADER_READ = 65536
const SMALL_READ = 4096

/** Image magics qemu-img knows and we leave to it (offset, bytes). */
const OTHER_MAGICS: Array<[number, Buffer]> = [
  [0, Buffer.from('KDMV')], // vmdk
  [0, Buffer.from('# Disk DescriptorFile')], // vmdk descriptor
  [0, Buffer.from('conectix')], // vpc
  [0, Buffer.from('vhdxfile')], // vhdx
  [0, Buffer.from('QED\0')], // qed
  [0x40, Buffer.from([0x7f, 0x10, 0xda, 0xbe])], // vdi
  [0, Buffer.from('XenIxIa')], // bochs
]

function ts(sec: bigint, ns: bigint): string {
  return `${sec}.${(ns % 1_000_000_000n).toString().padStart(9, '0')}`
}

export function timestampsOf(st: BigIntStats): VolTimestamps {
  const t = (ns: bigint) => ts(ns / 1_000_000_000n, ns)
  return {atime: t(st.atimeNs), mtime: t(st.mtimeNs), ctime: t(st.ctimeNs)}
}

export function permsOf(st: BigIntStats): VolPerms {
  return {mode: Number(st.mode & 0o7777n), owner: Number(st.uid), group: Number(st.gid)}
}

interface Qcow2Header {
  capacity: bigint
  /** False when the backing name or the extensions run past the bytes given (read more). */
  complete: boolean
  backingPath?: string
  backingFormat?: string
}

/** Reads a qcow2 (v2/v3) header: virtual size, backing file name and the backing-format extension. */
export function parseQcow2(buf: Buffer): Qcow2Header | undefined {
  if (buf.length < 72 || buf.readUInt32BE(0) !== QCOW_MAGIC) return undefined
  const version = buf.readUInt32BE(4)
  if (version < 2) return undefined
  const out: Qcow2Header = {capacity: buf.readBigUInt64BE(24), complete: true}
  const boff = Number(buf.readBigUInt64BE(8))
  const blen = buf.readUInt32BE(16)
  if (boff > 0 && blen > 0) {
    if (boff + blen <= buf.length) out.backingPath = buf.subarray(boff, boff + blen).toString('utf8')
    else out.complete = false
  }
  let off = version >= 3 && buf.length >= 104 ? buf.readUInt32BE(100) : 72
  for (;;) {
    if (off + 8 > buf.length) {
      out.complete = false
      break
    }
    const type = buf.readUInt32BE(off)
    const len = buf.readUInt32BE(off + 4)
    if (type === 0) break
    if (type === EXT_BACKING_FORMAT && off + 8 + len <= buf.length) out.backingFormat = buf.subarray(off + 8, off + 8 + len).toString('utf8')
    off += 8 + Math.ceil(len / 8) * 8
  }
  return out
}

function hasMagic(buf: Buffer): boolean {
  return OTHER_MAGICS.some(([at, m]) => buf.length >= at + m.length && buf.subarray(at, at + m.length).equals(m))
}

interface QemuImgInfo {
  format?: string
  'virtual-size'?: number
  'backing-filename'?: string
  'full-backing-filename'?: string
  'backing-filename-format'?: string
}

/** `qemu-img info --output=json` of one file (shared lock, so images in use can be probed). */
export async function qemuImgInfo(path: string): Promise<QemuImgInfo> {
  const {stdout} = await run('qemu-img', ['info', '-U', '--output=json', path], {maxBuffer: 1 << 20})
  return JSON.parse(stdout) as QemuImgInfo
}

async function blockSize(path: string): Promise<bigint> {
  const fh = await fsp.open(path, 'r')
  try {
    // A block device's size is where reading stops; the kernel reports it in sysfs as 512-byte sectors.
    const real = await fsp.realpath(path)
    const name = real.replace(/^\/dev\//, '')
    const sectors = await fsp.readFile(`/sys/class/block/${name}/size`, 'utf8').catch(() => '0')
    return BigInt(sectors.trim() || '0') * 512n
  } finally {
    await fh.close()
  }
}

/** The first bytes of most files, read into one buffer (probes run synchronously, one at a time). */
const small = Buffer.allocUnsafe(SMALL_READ)
const isoMagic = Buffer.allocUnsafe(5)

interface Head {
  /** The first bytes (a view of a shared buffer: use it before the next probe). */
  buf: Buffer
  qcow2?: Qcow2Header
  iso: boolean
}

/**
 * Reads what tells a file's format, with one open: its first 4 KiB, more when a qcow2 header runs
 * past them, and the five bytes of an iso's volume descriptor at 0x8001. Undefined when unreadable.
 */
function readHead(path: string, size: number): Head | undefined {
  let fd: number
  try {
    fd = fs.openSync(path, 'r')
  } catch {
    return undefined
  }
  try {
    let buf = small.subarray(0, fs.readSync(fd, small, 0, Math.min(size, SMALL_READ), 0))
    let qcow2 = parseQcow2(buf)
    // qcow2 header extensions and the backing file name may lie beyond the first 4 KiB (rarely).
    if (qcow2 !== undefined && !qcow2.complete && buf.length === SMALL_READ) {
      const big = Buffer.allocUnsafe(Math.min(size, HEADER_READ))
      buf = big.subarray(0, fs.readSync(fd, big, 0, big.length, 0))
      qcow2 = parseQcow2(buf)
    }
    const iso = qcow2 === undefined && size > 0x8006 && fs.readSync(fd, isoMagic, 0, 5, 0x8001) === 5 && isoMagic.toString('latin1') === 'CD001'
    return {buf, qcow2, iso}
  } catch {
    return undefined
  } finally {
    fs.closeSync(fd)
  }
}

/**
 * Probes one path of a pool. Returns undefined for things that are not volumes (sockets, fifos,
 * vanished files). The header reads are synchronous, as libvirt's: a refresh of a thousand files
 * costs a few milliseconds this way, against a thread-pool round trip per call otherwise.
 */
export async function probeVolume(path: string, opts: {light?: boolean; stat?: fs.Stats} = {}): Promise<Probed | undefined> {
  let st: BigIntStats | fs.Stats
  try {
    // A refresh (light) skips what only dumpxml shows: permissions and timestamps (read again then),
    // and needs no nanoseconds: plain numbers are cheaper to get.
    st = opts.light ? (opts.stat ?? fs.statSync(path)) : fs.statSync(path, {bigint: true})
  } catch {
    return undefined
  }
  const size = BigInt(st.size)
  const base = {
    perms: typeof st.size === 'bigint' ? permsOf(st as BigIntStats) : undefined,
    timestamps: typeof st.size === 'bigint' ? timestampsOf(st as BigIntStats) : undefined,
    allocation: BigInt(st.blocks) * 512n,
    physical: size,
  }
  if (st.isDirectory()) return {...base, type: 'dir', format: 'dir', capacity: size}
  if (st.isBlockDevice()) {
    const bsize = await blockSize(path)
    return {...base, type: 'block', format: 'none', capacity: bsize, allocation: bsize, physical: bsize}
  }
  if (!st.isFile()) return undefined
  const head = readHead(path, Number(st.size))
  if (head === undefined) return undefined
  const q = head.qcow2
  if (q !== undefined) {
    const backing = q.backingPath === undefined ? undefined : backingOf(resolve(dirname(path), q.backingPath), q.backingFormat ?? 'raw')
    return {...base, type: 'file', format: 'qcow2', capacity: q.capacity, backing}
  }
  if (head.iso) return {...base, type: 'file', format: 'iso', capacity: size}
  if (hasMagic(head.buf)) {
    try {
      const info = await qemuImgInfo(path)
      const bpath = info['full-backing-filename'] ?? info['backing-filename']
      const backing = bpath === undefined ? undefined : backingOf(resolve(dirname(path), bpath), info['backing-filename-format'] ?? 'raw')
      return {...base, type: 'file', format: info.format ?? 'raw', capacity: BigInt(info['virtual-size'] ?? Number(st.size)), backing}
    } catch {
      // qemu-img could not read it: report the file as raw, as libvirt does for unknown content.
    }
  }
  return {...base, type: 'file', format: 'raw', capacity: size}
}

/** A refresh's probe of one file, and the stat it was made with (see refreshProbe). */
export interface ProbeMemo {
  key: string
  probed: Probed
}

/** A file changed this recently may change again within the same timestamp tick: probed again next time. */
const RACY_MS = 2000

/**
 * probeVolume(path, {light: true}) for a pool refresh, reusing `last` (the previous refresh's memo of
 * the same path) when the file's device, inode, mode, size, allocation and modification and change
 * times are all the same: any write to the file moves its times, so its header is unchanged. Returns
 * the probe and the memo for the next refresh (none for a file changed within RACY_MS).
 */
export async function refreshProbe(path: string, last: ProbeMemo | undefined): Promise<{probed?: Probed; memo?: ProbeMemo}> {
  let st: fs.Stats
  try {
    st = fs.statSync(path)
  } catch {
    return {}
  }
  const key = `${st.dev}:${st.ino}:${st.mode}:${st.size}:${st.blocks}:${st.mtimeMs}:${st.ctimeMs}`
  if (last?.key === key) return {probed: last.probed, memo: last}
  const probed = await probeVolume(path, {light: true, stat: st})
  return {probed, memo: probed && Date.now() - st.ctimeMs > RACY_MS ? {key, probed} : undefined}
}

function backingOf(path: string, format: string): VolBacking {
  try {
    const st = fs.statSync(path, {bigint: true})
    return {path, format, perms: permsOf(st), timestamps: timestampsOf(st)}
  } catch {
    return {path, format}
  }
}
