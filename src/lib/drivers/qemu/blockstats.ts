/**
 * Disk statistics of QEMU guests: domblkstat (QMP `query-blockstats`), domblkinfo (`query-block`
 * while running, the image file otherwise) and the `block` group of domstats. A disk is named by
 * its target (vda) or its source path, as libvirt accepts; QEMU's entries are matched to disks by
 * the frontend device's id (the disk's alias).
 */
import {statSync, openSync, readSync, closeSync} from 'node:fs'
import type {DomainDef, DomainDisk} from '../../conf/domain.js'
import {currentDef} from '../../conf/domain-list.js'
import {ErrorCode, errors, virError} from '../../errors.js'
import type {BlockInfo, BlockStats, StatParam} from '../stats-types.js'
import {placeDisks} from './argv.js'
import {D, type QemuContext, type QemuDomain} from './context.js'
import type {QmpClient} from './qmp.js'

interface QBlock {
  device?: string
  qdev?: string
  inserted?: {'node-name'?: string; file?: string; image?: {'virtual-size'?: number; 'actual-size'?: number}}
}

interface QStats {
  rd_bytes: number
  wr_bytes: number
  rd_operations: number
  wr_operations: number
  flush_operations: number
  rd_total_time_ns: number
  wr_total_time_ns: number
  flush_total_time_ns: number
  wr_highest_offset?: number
}

interface QBlockStats {
  device?: string
  qdev?: string
  'node-name'?: string
  stats: QStats
}

/** What QEMU says about one disk. */
interface DiskFigures {
  stats?: QStats
  virtualSize?: number
  actualSize?: number
}

const TIMEOUT = {timeoutMs: 10000}
const TYPED_PARAM_STRING_OKAY = 4

function findDisk(def: DomainDef, path: string): DomainDisk | undefined {
  return def.devices.disks.find((d) => d.target === path) ?? def.devices.disks.find((d) => d.source !== undefined && d.source === path)
}

const ownsQdev = (alias: string, qdev: string | undefined) => qdev === alias || (qdev?.startsWith(`/machine/peripheral/${alias}/`) ?? false)

/** QEMU's figures of each disk of the definition (by disk index). */
async function diskFigures(def: DomainDef, qmp: QmpClient): Promise<Map<number, DiskFigures>> {
  const [blocks, stats] = await Promise.all([
    qmp.execute<QBlock[]>('query-block', undefined, TIMEOUT),
    qmp.execute<QBlockStats[]>('query-blockstats', undefined, TIMEOUT),
  ])
  const out = new Map<number, DiskFigures>()
  for (const p of placeDisks(def)) {
    const b = blocks.find((x) => ownsQdev(p.alias, x.qdev))
    const node = b?.inserted?.['node-name']
    const s = stats.find((x) => ownsQdev(p.alias, x.qdev) || (node !== undefined && x['node-name'] === node))
    out.set(p.index, {stats: s?.stats, virtualSize: b?.inserted?.image?.['virtual-size'], actualSize: b?.inserted?.image?.['actual-size']})
  }
  return out
}

/** The disk a path names, or libvirt's "invalid path" error. */
function diskIndex(def: DomainDef, path: string): number {
  const disk = findDisk(def, path)
  if (!disk) throw errors.invalidArg(D, `invalid path: ${path}`)
  return def.devices.disks.indexOf(disk)
}

function sum(list: QStats[]): QStats {
  const z: QStats = {
    rd_bytes: 0,
    wr_bytes: 0,
    rd_operations: 0,
    wr_operations: 0,
    flush_operations: 0,
    rd_total_time_ns: 0,
    wr_total_time_ns: 0,
    flush_total_time_ns: 0,
  }
  for (const s of list) for (const k of Object.keys(z) as Array<keyof QStats>) z[k] = (z[k] ?? 0) + (s[k] ?? 0)
  return z
}

/** The counters of one disk, or of all of them for path "". */
async function countersOf(ctx: QemuContext, d: QemuDomain, path: string): Promise<QStats> {
  const run = ctx.requireActive(d)
  const def = currentDef(d)
  const idx = path === '' ? -1 : diskIndex(def, path)
  const figures = await diskFigures(def, ctx.requireMonitor(run))
  if (idx >= 0) {
    const s = figures.get(idx)?.stats
    if (!s) throw errors.internal(D, `cannot find statistics for device '${path}'`)
    return s
  }
  return sum([...figures.values()].flatMap((f) => (f.stats ? [f.stats] : [])))
}

export async function blockStats(ctx: QemuContext, d: QemuDomain, path: string): Promise<BlockStats> {
  const s = await countersOf(ctx, d, path)
  return {
    rd_req: BigInt(s.rd_operations),
    rd_bytes: BigInt(s.rd_bytes),
    wr_req: BigInt(s.wr_operations),
    wr_bytes: BigInt(s.wr_bytes),
    errs: -1n,
  }
}

export async function blockStatsFlags(ctx: QemuContext, d: QemuDomain, path: string, flags: number): Promise<StatParam[]> {
  // VIR_TYPED_PARAM_STRING_OKAY is the only flag (virsh always passes it).
  const extra = flags & ~TYPED_PARAM_STRING_OKAY
  if (extra) throw errors.invalidArg(D, `unsupported flags (0x${extra.toString(16)}) in function qemuDomainBlockStatsFlags`)
  const s = await countersOf(ctx, d, path)
  const ll = (field: string, v: number): StatParam => ({field, type: 'llong', value: BigInt(v)})
  return [
    ll('wr_bytes', s.wr_bytes),
    ll('wr_operations', s.wr_operations),
    ll('rd_bytes', s.rd_bytes),
    ll('rd_operations', s.rd_operations),
    ll('flush_operations', s.flush_operations),
    ll('wr_total_times', s.wr_total_time_ns),
    ll('rd_total_times', s.rd_total_time_ns),
    ll('flush_total_times', s.flush_total_time_ns),
  ]
}

/** The virtual size of an image file: qcow2's header says it, anything else is its length. */
function fileSizes(path: string): {capacity: bigint; allocation: bigint; physical: bigint} {
  const st = statSync(path)
  let capacity = BigInt(st.size)
  if (st.isFile()) {
    const fd = openSync(path, 'r')
    try {
      const head = Buffer.alloc(32)
      if (readSync(fd, head, 0, 32, 0) === 32 && head.readUInt32BE(0) === 0x514649fb) capacity = head.readBigUInt64BE(24)
    } finally {
      closeSync(fd)
    }
  }
  return {capacity, allocation: BigInt(st.blocks) * 512n, physical: BigInt(st.size)}
}

export async function blockInfo(ctx: QemuContext, d: QemuDomain, path: string, flags: number): Promise<BlockInfo> {
  if (flags) throw errors.invalidArg(D, `unsupported flags (0x${flags.toString(16)}) in function qemuDomainGetBlockInfo`)
  const def = currentDef(d)
  const disk = findDisk(def, path)
  if (!disk) throw errors.invalidArg(D, `invalid path ${path} not assigned to domain`)
  if (disk.source === undefined) throw errors.invalidArg(D, `disk '${path}' does not currently have a source assigned`)
  let sizes
  try {
    sizes = fileSizes(disk.source)
  } catch {
    throw virError(ErrorCode.SYSTEM_ERROR, D, `cannot stat file '${disk.source}': No such file or directory`)
  }
  const run = d.run
  if (!run?.qmp || run.qmp.closed) return sizes
  const f = (await diskFigures(def, run.qmp)).get(def.devices.disks.indexOf(disk))
  return {
    capacity: f?.virtualSize !== undefined ? BigInt(f.virtualSize) : sizes.capacity,
    allocation: f?.actualSize !== undefined ? BigInt(f.actualSize) : sizes.allocation,
    physical: sizes.physical,
  }
}

/** The `block` group of domstats. */
export async function blockGroup(d: QemuDomain): Promise<StatParam[]> {
  const def = currentDef(d)
  const disks = def.devices.disks
  const out: StatParam[] = [{field: 'block.count', type: 'uint', value: disks.length}]
  const qmp = d.run?.qmp && !d.run.qmp.closed ? d.run.qmp : undefined
  const figures = qmp ? await diskFigures(def, qmp).catch(() => new Map<number, DiskFigures>()) : undefined
  const u = (field: string, value: number | bigint) => out.push({field, type: 'ullong', value: BigInt(value)})
  disks.forEach((disk, i) => {
    const p = `block.${i}`
    out.push({field: `${p}.name`, type: 'string', value: disk.target})
    if (disk.source !== undefined) out.push({field: `${p}.path`, type: 'string', value: disk.source})
    const f = figures?.get(i)
    if (f?.stats) {
      out.push({field: `${p}.backingIndex`, type: 'uint', value: i + 1})
      const s = f.stats
      u(`${p}.rd.reqs`, s.rd_operations)
      u(`${p}.rd.bytes`, s.rd_bytes)
      u(`${p}.rd.times`, s.rd_total_time_ns)
      u(`${p}.wr.reqs`, s.wr_operations)
      u(`${p}.wr.bytes`, s.wr_bytes)
      u(`${p}.wr.times`, s.wr_total_time_ns)
      u(`${p}.fl.reqs`, s.flush_operations)
      u(`${p}.fl.times`, s.flush_total_time_ns)
      u(`${p}.allocation`, s.wr_highest_offset ?? 0)
      if (f.virtualSize !== undefined) u(`${p}.capacity`, f.virtualSize)
      if (f.actualSize !== undefined) u(`${p}.physical`, f.actualSize)
      return
    }
    if (disk.source === undefined) return
    try {
      const s = fileSizes(disk.source)
      u(`${p}.allocation`, s.allocation)
      u(`${p}.capacity`, s.capacity)
      u(`${p}.physical`, s.physical)
    } catch {
      // image missing: name and path only
    }
  })
  return out
}
