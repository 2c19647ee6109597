/**
 * File volume operations of the dir and fs pools: create (raw files with libvirt's preallocation,
 * qcow2 and other formats through qemu-img, optionally backed by another image), clone, wipe and
 * resize.
 *
 * A new volume is first written under a hidden partial name in the pool's directory and only then
 * linked to its real name, so a daemon killed half-way leaves no file that a refresh would report as
 * a complete volume (the partial files are removed when the driver starts).
 */
import {execFile} from 'node:child_process'
import * as fs from 'node:fs'
import * as fsp from 'node:fs/promises'
import {basename, dirname, join} from 'node:path'
import {promisify} from 'node:util'
import {randomBytes} from 'node:crypto'

import {ErrorDomain, errors, type VirError} from '../../errors.js'
import type {VolDef} from '../../conf/volume.js'
import {WipeAlgorithm} from '../storage-vol-types.js'

const run = promisify(execFile)
const S = ErrorDomain.STORAGE

/** Prefix of the files a volume is built in before it gets its name. */
export const PARTIAL_PREFIX = '.vctl-partial-'

export function partialPath(target: string): string {
  return join(dirname(target), `${PARTIAL_PREFIX}${randomBytes(6).toString('hex')}-${basename(target)}`)
}

/** libvirt's system-error text: "<what>: <strerror>". */
export function sysErr(what: string, err: unknown): VirError {
  const e = err as NodeJS.ErrnoException
  const reason: Record<string, string> = {
    EFBIG: 'File too large',
    ENOSPC: 'No space left on device',
    ENOENT: 'No such file or directory',
    EEXIST: 'File exists',
    ENOTDIR: 'Not a directory',
    ENOTEMPTY: 'Directory not empty',
    EACCES: 'Permission denied',
    EBUSY: 'Device or resource busy',
    EINVAL: 'Invalid argument',
  }
  return errors.systemError(S, `${what}: ${(e.code && reason[e.code]) ?? e.message}`)
}

async function cmd(bin: string, args: string[]): Promise<void> {
  try {
    await run(bin, args, {maxBuffer: 1 << 20})
  } catch (err) {
    const e = err as {stderr?: string; code?: number | string}
    if (e.code === 'ENOENT') throw errors.systemError(S, `Cannot find '${bin}' in path: No such file or directory`)
    throw errors.internal(S, `Child process (${[bin, ...args].join(' ')}) unexpected exit status ${String(e.code)}: ${(e.stderr ?? '').trim()}`)
  }
}

/** Formats qemu-img creates; anything else (iso, dir, ...) is refused for new volumes. */
const QEMU_IMG_FORMATS = new Set(['qcow2', 'qcow', 'qed', 'vmdk', 'vdi', 'vpc', 'vhdx', 'cow', 'bochs', 'cloop', 'dmg'])

/** Sets the final mode (libvirt's default 0600) and moves the partial file to its name; fails if the name was taken meanwhile. */
async function publish(tmp: string, target: string, mode: number): Promise<void> {
  try {
    await fsp.chmod(tmp, mode)
    const fh = await fsp.open(tmp, 'r')
    await fh.sync().finally(() => fh.close())
    await fsp.link(tmp, target)
  } catch (err) {
    throw (err as NodeJS.ErrnoException).code === 'EEXIST'
      ? errors.operationInvalid(S, `volume target path '${target}' already exists`)
      : sysErr(`cannot create volume '${target}'`, err)
  } finally {
    await fsp.rm(tmp, {force: true})
  }
}

async function fallocate(path: string, length: bigint): Promise<void> {
  if (length <= 0n) return
  await cmd('fallocate', ['-l', String(length), path])
}

async function createRaw(tmp: string, target: string, capacity: bigint, allocation: bigint): Promise<void> {
  const fh = await fsp.open(tmp, 'wx', 0o600)
  try {
    try {
      await fh.truncate(Number(capacity))
    } catch (err) {
      throw sysErr(`cannot extend file '${target}'`, err)
    }
  } finally {
    await fh.close()
  }
  await fallocate(tmp, allocation < capacity ? allocation : capacity)
}

/** Creates a new file volume at `target` from its definition (format, capacity, allocation, backing store). */
export async function createFileVolume(target: string, def: VolDef, prealloc: boolean): Promise<void> {
  const format = def.format ?? 'raw'
  const capacity = def.capacity ?? 0n
  if (capacity > BigInt(Number.MAX_SAFE_INTEGER)) throw sysErr(`cannot extend file '${target}'`, {code: 'EFBIG'})
  const tmp = partialPath(target)
  try {
    if (format === 'raw' || format === 'none') {
      if (def.backing) throw errors.configUnsupported(S, 'backing storage not supported for raw volumes')
      await createRaw(tmp, target, capacity, def.allocation ?? capacity)
    } else if (format === 'dir') {
      await fsp.mkdir(target, {mode: def.perms?.mode ?? 0o755})
      return
    } else if (QEMU_IMG_FORMATS.has(format)) {
      const opts = [format === 'qcow2' ? 'compat=1.1' : '', prealloc && format === 'qcow2' ? 'preallocation=metadata' : ''].filter(Boolean)
      const args = ['create', '-f', format, ...(opts.length ? ['-o', opts.join(',')] : [])]
      if (def.backing) args.push('-b', def.backing.path, '-F', def.backing.format ?? 'raw')
      args.push(tmp, String(capacity))
      await cmd('qemu-img', args)
    } else {
      throw errors.operationFailed(S, `creation of volumes of format '${format}' is not supported`)
    }
    await publish(tmp, target, def.perms?.mode ?? 0o600)
  } catch (err) {
    await fsp.rm(tmp, {force: true})
    throw err
  }
}

/** Copies `src` (format `srcFormat`) into a new volume at `target` in `def`'s format, then grows it to def's capacity. */
export async function cloneFileVolume(src: string, srcFormat: string, target: string, def: VolDef, srcCapacity: bigint): Promise<void> {
  const format = def.format ?? srcFormat
  const tmp = partialPath(target)
  try {
    await cmd('qemu-img', ['convert', '-U', '-f', srcFormat === 'none' ? 'raw' : srcFormat, '-O', format === 'none' ? 'raw' : format, src, tmp])
    const capacity = def.capacity ?? srcCapacity
    if (capacity > srcCapacity) await cmd('qemu-img', ['resize', '-f', format === 'none' ? 'raw' : format, tmp, String(capacity)])
    if ((format === 'raw' || format === 'none') && (def.allocation ?? capacity) >= capacity) await fallocate(tmp, capacity)
    await publish(tmp, target, def.perms?.mode ?? 0o600)
  } catch (err) {
    await fsp.rm(tmp, {force: true})
    throw err
  }
}

/** Overwrites a file volume with zeros (in place, keeping its size), or runs scrub for the other algorithms. */
export async function wipeFile(path: string, algorithm: number): Promise<void> {
  if (algorithm === WipeAlgorithm.TRIM) throw errors.noSupport(S, "'trim' algorithm not supported")
  if (algorithm !== WipeAlgorithm.ZERO) {
    const names = ['zero', 'nnsa', 'dod', 'bsi', 'gutmann', 'schneier', 'pfitzner7', 'pfitzner33', 'random']
    await cmd('scrub', ['-f', '-p', names[algorithm] ?? 'random', path])
    return
  }
  const fh = await fsp.open(path, 'r+')
  try {
    const {size} = await fh.stat()
    const chunk = Buffer.alloc(1 << 20)
    for (let off = 0; off < size; off += chunk.length) {
      const n = Math.min(chunk.length, size - off)
      await fh.write(chunk, 0, n, off)
    }
    await fh.sync()
  } catch (err) {
    throw sysErr(`Failed to write to '${path}'`, err)
  } finally {
    await fh.close()
  }
}

/** Resizes a file volume: raw by truncation (and fallocate with `allocate`), image formats through qemu-img. */
export async function resizeFile(path: string, format: string, capacity: bigint, allocate: boolean, shrink: boolean): Promise<void> {
  if (format === 'raw' || format === 'none') {
    try {
      await fsp.truncate(path, Number(capacity))
    } catch (err) {
      throw sysErr(`Failed to truncate volume with path '${path}' to ${capacity} bytes`, err)
    }
    if (allocate) await fallocate(path, capacity)
    return
  }
  await cmd('qemu-img', ['resize', ...(shrink ? ['--shrink'] : []), '-f', format, path, String(capacity)])
}

/** Removes files left by volume creations a crash interrupted. */
export function removePartials(dir: string): void {
  let names: string[]
  try {
    names = fs.readdirSync(dir)
  } catch {
    return
  }
  for (const n of names) if (n.startsWith(PARTIAL_PREFIX)) fs.rmSync(join(dir, n), {force: true, recursive: true})
}
