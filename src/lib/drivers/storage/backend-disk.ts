/**
 * The `disk` pool: a block device whose partitions are the volumes (parted does the work). build
 * writes the partition table; a volume is a new partition, 1 MiB-aligned after the last one, named
 * after its device node (loop0p1, sdb1) as libvirt names them.
 */
import * as fs from 'node:fs'
import * as fsp from 'node:fs/promises'
import {basename, join} from 'node:path'

import {ErrorDomain, errors} from '../../errors.js'
import type {PoolDef} from '../../conf/pool.js'
import {DISK_VOL_FORMATS, type VolDef} from '../../conf/volume.js'
import {PoolBuildFlags, WipeAlgorithm} from '../storage-vol-types.js'
import type {PoolBackend, RefreshResult, Vol} from './backend.js'
import {checkBuildFlags} from './backend-dir.js'
import {sysErr, wipeFile} from './file-ops.js'
import {permsOf, timestampsOf} from './probe.js'
import {poolBuilt, probeDevice, requireDevice, runCmd, unsupported} from './sys.js'

const S = ErrorDomain.STORAGE
const MiB = 1n << 20n

interface Part {
  num: number
  start: bigint
  end: bigint
  size: bigint
}

/** Partition device name of partition `n` of `device`: loop0 -> loop0p1, sdb -> sdb1. */
export function partName(device: string, n: number): string {
  const base = basename(device)
  return /\d$/.test(base) ? `${base}p${n}` : `${base}${n}`
}

/** Parses `parted -s -m DEV unit B print`: the disk size and its partitions. */
export function parseParted(out: string): {size: bigint; label: string; parts: Part[]} {
  const lines = out.split('\n').map((l) => l.trim().replace(/;$/, ''))
  const disk = lines.find((l) => l.startsWith('/'))?.split(':') ?? []
  const parts: Part[] = []
  for (const l of lines) {
    const m = /^(\d+):(\d+)B:(\d+)B:(\d+)B/.exec(l)
    if (m) parts.push({num: Number(m[1]), start: BigInt(m[2]), end: BigInt(m[3]), size: BigInt(m[4])})
  }
  return {size: BigInt((disk[1] ?? '0B').replace(/B$/, '') || '0'), label: disk[5] ?? 'unknown', parts}
}

export class DiskBackend implements PoolBackend {
  readonly type = 'disk'
  readonly volFormats: readonly string[] = DISK_VOL_FORMATS
  readonly defaultVolFormat = 'none'

  private device(def: PoolDef): Promise<string> {
    return requireDevice(def.sourceDevices[0], true)
  }

  private label(def: PoolDef): string {
    const f = def.sourceFormat ?? 'dos'
    return f === 'dos' || f === 'unknown' ? 'msdos' : f
  }

  private async table(device: string): Promise<{size: bigint; label: string; parts: Part[]}> {
    const {stdout} = await runCmd('parted', ['-s', '-m', device, 'unit', 'B', 'print'], [1])
    return parseParted(stdout)
  }

  /** Partition nodes live in /dev whatever the pool's target (libvirt's target is usually /dev too). */
  private devDir(_def: PoolDef): string {
    return '/dev'
  }

  /** Makes sure the kernel knows the partitions and their nodes exist (devtmpfs makes them; mknod when it did not). */
  private async syncNodes(device: string): Promise<void> {
    await runCmd('partx', ['-u', device], [1])
    const base = basename(device)
    let names: string[]
    try {
      names = fs.readdirSync(`/sys/class/block/${base}`).filter((n) => n.startsWith(base))
    } catch {
      return
    }
    for (const n of names) {
      if (fs.existsSync(`/dev/${n}`)) continue
      const [maj, min] = fs.readFileSync(`/sys/class/block/${base}/${n}/dev`, 'utf8').trim().split(':')
      await runCmd('mknod', [`/dev/${n}`, 'b', maj, min])
    }
  }

  async build(def: PoolDef, flags: number): Promise<void> {
    checkBuildFlags(flags)
    const device = await this.device(def)
    const existing = await probeDevice(device, 'PTTYPE')
    if (existing !== undefined && !(flags & PoolBuildFlags.OVERWRITE)) {
      throw poolBuilt(`Format of device '${device}' does not match the expected format '${def.sourceFormat ?? 'dos'}', forced overwrite is necessary`)
    }
    await runCmd('parted', ['-s', device, 'mklabel', this.label(def)])
    await this.syncNodes(device)
  }

  async start(def: PoolDef): Promise<void> {
    const device = await this.device(def)
    if ((await probeDevice(device, 'PTTYPE')) === undefined)
      throw errors.operationInvalid(S, `unable to start pool: device '${device}' has no partition table`)
    await this.syncNodes(device)
  }

  async stop(): Promise<void> {}

  async delete(def: PoolDef, flags: number): Promise<void> {
    const device = await this.device(def)
    // libvirt erases the partition table (and with ZEROED more); the label's first MiB goes.
    const fh = await fsp.open(device, 'r+')
    try {
      await fh.write(Buffer.alloc(Number(MiB)), 0, Number(MiB), 0)
    } finally {
      await fh.close()
    }
    if (flags & 1) await wipeFile(device, WipeAlgorithm.ZERO)
    await runCmd('partx', ['-d', device], [1])
  }

  async refresh(def: PoolDef): Promise<RefreshResult> {
    const device = await this.device(def)
    const t = await this.table(device)
    const vols: Vol[] = []
    let used = 0n
    for (const p of t.parts) {
      const name = partName(device, p.num)
      const path = join(this.devDir(def), name)
      used += p.size
      let st
      try {
        st = await fsp.stat(path, {bigint: true})
      } catch {
        st = undefined
      }
      vols.push({
        name,
        key: path,
        path,
        def: {
          name,
          type: 'block',
          key: path,
          capacity: p.size,
          allocation: p.size,
          physical: p.size,
          targetPath: path,
          format: 'none',
          perms: st ? permsOf(st) : undefined,
          timestamps: st ? timestampsOf(st) : undefined,
        },
      })
    }
    return {vols, capacity: t.size, allocation: used, available: t.size > used ? t.size - used : 0n}
  }

  async createVol(def: PoolDef, vol: VolDef): Promise<string> {
    if (vol.format !== undefined && !this.volFormats.includes(vol.format)) throw errors.internal(S, `unknown volume format type ${vol.format}`)
    const device = await this.device(def)
    const t = await this.table(device)
    const lastEnd = t.parts.reduce((m, p) => (p.end > m ? p.end : m), 0n)
    const start = ((lastEnd + 1n + MiB - 1n) / MiB) * MiB || MiB
    const cap = vol.capacity ?? 0n
    const end = start + cap - 1n
    // GPT keeps its backup table in the last 33 sectors; msdos needs nothing at the end.
    if (cap <= 0n || end >= t.size - (t.label === 'gpt' ? 33n * 512n : 0n)) throw errors.internal(S, 'no large enough free extent')
    await runCmd('parted', ['-s', device, 'unit', 'B', 'mkpart', 'primary', `${start}B`, `${end}B`])
    await this.syncNodes(device)
    const after = await this.table(device)
    const made = after.parts.find((p) => p.start === start)
    if (!made) throw errors.internal(S, `partition at ${start} not found after creating it`)
    return join(this.devDir(def), partName(device, made.num))
  }

  cloneVol(): Promise<string> {
    return Promise.reject(unsupported('cloning volumes of disk pools'))
  }

  async deleteVol(def: PoolDef, vol: Vol): Promise<void> {
    const device = await this.device(def)
    const m = /(\d+)$/.exec(vol.name)
    if (!m) throw errors.internal(S, `cannot parse partition number of '${vol.name}'`)
    await runCmd('parted', ['-s', device, 'rm', m[1]])
    await runCmd('partx', ['-d', '--nr', m[1], device], [1])
    await fsp.rm(vol.path, {force: true}).catch((err: unknown) => {
      throw sysErr(`cannot remove '${vol.path}'`, err)
    })
  }

  async wipeVol(_def: PoolDef, vol: Vol, algorithm: number): Promise<void> {
    await wipeFile(vol.path, algorithm)
  }

  resizeVol(): Promise<void> {
    return Promise.reject(errors.noSupport(S, 'storage pool does not support changing of volume capacity'))
  }
}
