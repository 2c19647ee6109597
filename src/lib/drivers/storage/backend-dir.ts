/**
 * The `dir` pool: a directory whose files (and subdirectories) are the volumes. Also the base of the
 * `fs` pool, which mounts a filesystem on the directory first.
 */
import * as fs from 'node:fs'
import * as fsp from 'node:fs/promises'
import {join} from 'node:path'
import {setImmediate as nextTurn} from 'node:timers/promises'

import {ErrorDomain, errors} from '../../errors.js'
import type {PoolDef} from '../../conf/pool.js'
import {FILE_FORMATS, checkVolName, type VolDef} from '../../conf/volume.js'
import {VolCreateFlags, VolResizeFlags} from '../storage-vol-types.js'
import type {PoolBackend, RefreshResult, Vol} from './backend.js'
import {cloneFileVolume, createFileVolume, resizeFile, sysErr, wipeFile} from './file-ops.js'
import {refreshProbe, type ProbeMemo} from './probe.js'
import {unsupported} from './sys.js'
import {clearMark, fileId, interruptedUploads, isUploadMark} from './upload-mark.js'

const S = ErrorDomain.STORAGE
/** Files probed at once during a refresh. */
const PROBE_PARALLEL = 64

export function targetOf(def: PoolDef): string {
  if (def.targetPath === undefined) throw errors.xmlError(S, 'missing storage pool target path')
  return def.targetPath
}

/** The last refresh's probe of each file, by directory and name (see refreshProbe). */
const memos = new Map<string, Map<string, ProbeMemo>>()

/** Probes every entry of `dir` as a volume. */
export async function scanDir(dir: string): Promise<Vol[]> {
  let names: string[]
  try {
    names = await fsp.readdir(dir)
  } catch (err) {
    throw sysErr(`cannot open directory '${dir}'`, err)
  }
  const fileOf = (n: string) => {
    try {
      return fileId(fs.statSync(join(dir, n), {bigint: true}))
    } catch {
      return undefined
    }
  }
  const interrupted = interruptedUploads(dir, names, fileOf)
  names = names.filter((n) => !isUploadMark(n)).sort()
  const vols: Vol[] = []
  const last = memos.get(dir)
  const next = new Map<string, ProbeMemo>()
  for (let i = 0; i < names.length; i += PROBE_PARALLEL) {
    // Files unchanged since the last refresh need no I/O but a stat: without a turn of the event
    // loop between batches, a large pool would hold every client's calls until the whole refresh ends.
    if (i > 0) await nextTurn()
    const batch = names.slice(i, i + PROBE_PARALLEL)
    const probed = await Promise.all(
      batch.map(async (n) => {
        const r = await refreshProbe(join(dir, n), last?.get(n))
        if (r.memo) next.set(n, r.memo)
        return r.probed
      }),
    )
    probed.forEach((p, j) => {
      if (p === undefined) return
      const path = join(dir, batch[j])
      vols.push({
        name: batch[j],
        key: path,
        path,
        ...(interrupted.has(batch[j]) ? {interrupted: true} : {}),
        def: {
          name: batch[j],
          type: p.type,
          key: path,
          capacity: p.capacity,
          allocation: p.allocation,
          physical: p.physical,
          targetPath: path,
          format: p.format,
          perms: p.perms,
          timestamps: p.timestamps,
          backing: p.backing,
        },
      })
    })
  }
  memos.set(dir, next)
  return vols
}

/** Size figures of the filesystem holding `dir`, as libvirt reports them (statvfs; blocks reserved for root count as available). */
export async function fsSizes(dir: string): Promise<{capacity: bigint; allocation: bigint; available: bigint}> {
  const s = await fsp.statfs(dir, {bigint: true})
  const capacity = s.blocks * s.bsize
  return {capacity, allocation: capacity - s.bfree * s.bsize, available: s.bfree * s.bsize}
}

export function checkBuildFlags(flags: number): void {
  if ((flags & 4) !== 0 && (flags & 8) !== 0) {
    throw errors.operationInvalid(S, 'Overwrite and no overwrite flags are mutually exclusive')
  }
}

export class DirBackend implements PoolBackend {
  readonly type: string = 'dir'
  readonly volFormats: readonly string[] = FILE_FORMATS
  readonly defaultVolFormat = 'raw'

  async build(def: PoolDef, flags: number): Promise<void> {
    checkBuildFlags(flags)
    const dir = targetOf(def)
    try {
      // libvirt's default pool directory mode (0711 unless the XML gives one), whatever the daemon's umask.
      const made = await fsp.mkdir(dir, {recursive: true})
      if (made !== undefined) await fsp.chmod(dir, def.targetPerms?.mode ?? 0o711)
    } catch (err) {
      throw sysErr(`cannot create path '${dir}'`, err)
    }
  }

  async start(def: PoolDef): Promise<void> {
    const dir = targetOf(def)
    let st
    try {
      st = await fsp.stat(dir)
    } catch (err) {
      throw sysErr(`cannot open directory '${dir}'`, err)
    }
    if (!st.isDirectory()) throw sysErr(`cannot open directory '${dir}'`, {code: 'ENOTDIR'})
  }

  async stop(_def: PoolDef): Promise<void> {}

  async delete(def: PoolDef): Promise<void> {
    const dir = targetOf(def)
    try {
      await fsp.rmdir(dir)
    } catch (err) {
      throw sysErr(`failed to remove pool '${dir}'`, err)
    }
  }

  async refresh(def: PoolDef): Promise<RefreshResult> {
    const dir = targetOf(def)
    await this.start(def)
    const vols = await scanDir(dir)
    return {vols, ...(await fsSizes(dir))}
  }

  private pathFor(def: PoolDef, vol: VolDef): string {
    checkVolName(vol.name)
    return `${targetOf(def)}/${vol.name}`
  }

  private async checkFree(path: string): Promise<void> {
    try {
      await fsp.lstat(path)
    } catch {
      return
    }
    throw errors.operationInvalid(S, `volume target path '${path}' already exists`)
  }

  private checkFormat(vol: VolDef): void {
    const f = vol.format ?? this.defaultVolFormat
    if (!this.volFormats.includes(f)) throw errors.internal(S, `unknown volume format type ${f}`)
  }

  async createVol(def: PoolDef, vol: VolDef, flags: number): Promise<string> {
    const path = this.pathFor(def, vol)
    this.checkFormat(vol)
    await this.checkFree(path)
    await createFileVolume(path, vol, (flags & VolCreateFlags.PREALLOC_METADATA) !== 0)
    return path
  }

  async cloneVol(def: PoolDef, vol: VolDef, src: Vol): Promise<string> {
    const path = this.pathFor(def, vol)
    this.checkFormat(vol)
    await this.checkFree(path)
    await cloneFileVolume(src.path, src.def.format ?? 'raw', path, vol, src.def.capacity ?? 0n)
    return path
  }

  async deleteVol(_def: PoolDef, vol: Vol): Promise<void> {
    try {
      if (vol.def.type === 'dir') await fsp.rmdir(vol.path)
      else await fsp.unlink(vol.path)
      clearMark(vol.path)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw sysErr(`cannot unlink file '${vol.path}'`, err)
    }
  }

  async wipeVol(_def: PoolDef, vol: Vol, algorithm: number): Promise<void> {
    if (vol.def.type === 'dir') throw unsupported(`cannot wipe directory volume '${vol.name}'`)
    await wipeFile(vol.path, algorithm)
  }

  async resizeVol(_def: PoolDef, vol: Vol, capacity: bigint, flags: number): Promise<void> {
    await resizeFile(vol.path, vol.def.format ?? 'raw', capacity, (flags & VolResizeFlags.ALLOCATE) !== 0, (flags & VolResizeFlags.SHRINK) !== 0)
  }
}
