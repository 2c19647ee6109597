/**
 * Atomic file replacement: readers see either the old content or the new, never a partial file,
 * and the new content survives a crash once the call returns.
 *
 * Steps: create the parent directory if needed, write a uniquely named temporary file in the same
 * directory (so the rename stays within one filesystem), set its mode exactly (not subject to the
 * umask), fsync it, rename it over the target, then fsync the directory so the rename is durable.
 * On failure the temporary file is removed and the target is left untouched.
 */

import {randomBytes} from 'node:crypto'
import * as fs from 'node:fs'
import * as fsp from 'node:fs/promises'
import {basename, dirname, join} from 'node:path'

function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`)
}

/** Errors from fsync on a directory that only mean "not supported here". */
function ignorableDirSyncError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code
  return code === 'EINVAL' || code === 'EISDIR' || code === 'EPERM' || code === 'EACCES' || code === 'ENOTSUP'
}

/** Writes `data` to a fresh, synced temporary file beside `path` (creating the directory); returns its name. */
async function writeSyncedTemp(path: string, data: string | Uint8Array, mode: number): Promise<string> {
  await fsp.mkdir(dirname(path), {recursive: true})
  const tmp = tempPathFor(path)
  try {
    const fh = await fsp.open(tmp, 'wx', mode)
    try {
      await fh.writeFile(data)
      await fh.chmod(mode)
      await fh.sync()
    } finally {
      await fh.close()
    }
  } catch (err) {
    await fsp.rm(tmp, {force: true}).catch(() => {})
    throw err
  }
  return tmp
}

async function syncDir(dir: string): Promise<void> {
  try {
    const dh = await fsp.open(dir, 'r')
    try {
      await dh.sync()
    } finally {
      await dh.close()
    }
  } catch (err) {
    if (!ignorableDirSyncError(err)) throw err
  }
}

export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  const tmp = await writeSyncedTemp(path, data, mode)
  try {
    await fsp.rename(tmp, path)
  } catch (err) {
    await fsp.rm(tmp, {force: true}).catch(() => {})
    throw err
  }
  await syncDir(dirname(path))
}

/**
 * Creates `path` with `data` unless it exists, atomically: the complete, synced file is hard-linked
 * into place, and link() fails if the name is taken, so an existing file (even one created
 * concurrently) is never replaced nor seen half-written. Returns whether it wrote the file.
 */
export async function writeFileIfAbsent(path: string, data: string | Uint8Array, mode = 0o644): Promise<boolean> {
  const tmp = await writeSyncedTemp(path, data, mode)
  try {
    await fsp.link(tmp, path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw err
  } finally {
    await fsp.rm(tmp, {force: true})
  }
  await syncDir(dirname(path))
  return true
}

/** Synchronous variant with the same contract, for exit paths where no event loop turn is left. */
export function writeFileAtomicSync(path: string, data: string | Uint8Array, mode = 0o644): void {
  const dir = dirname(path)
  fs.mkdirSync(dir, {recursive: true})
  const tmp = tempPathFor(path)
  let renamed = false
  try {
    const fd = fs.openSync(tmp, 'wx', mode)
    try {
      fs.writeFileSync(fd, data)
      fs.fchmodSync(fd, mode)
      fs.fsyncSync(fd)
    } finally {
      fs.closeSync(fd)
    }
    fs.renameSync(tmp, path)
    renamed = true
  } finally {
    if (!renamed) {
      try {
        fs.rmSync(tmp, {force: true})
      } catch {
        // best effort
      }
    }
  }
  try {
    const dfd = fs.openSync(dir, 'r')
    try {
      fs.fsyncSync(dfd)
    } finally {
      fs.closeSync(dfd)
    }
  } catch (err) {
    if (!ignorableDirSyncError(err)) throw err
  }
}

/** The temporary files tempPathFor() makes: `.NAME.PID.RANDOM.tmp`. */
const TEMP_NAME = /^\.(.+)\.(\d+)\.([0-9a-f]{12})\.tmp$/

function processAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Removes the temporary files that atomic writes left in `dir` when their writer died mid-write
 * (kill -9, power loss): only names of the temp pattern, only files, only when the PID in the name
 * is not a live process. With `depth` > 0 it also looks that many levels of subdirectories down
 * (not following symlinks). A missing directory is fine. Returns the paths removed.
 */
export function removeStaleTempFiles(dir: string, depth = 0): string[] {
  let entries: fs.Dirent[]
  try {
    entries = fs.readdirSync(dir, {withFileTypes: true})
  } catch {
    return []
  }
  const removed: string[] = []
  for (const e of entries) {
    const path = join(dir, e.name)
    if (e.isDirectory()) {
      if (depth > 0) removed.push(...removeStaleTempFiles(path, depth - 1))
      continue
    }
    const m = TEMP_NAME.exec(e.name)
    if (!m || !e.isFile() || processAlive(Number(m[2]))) continue
    try {
      fs.unlinkSync(path)
      removed.push(path)
    } catch {
      // gone already, or not ours to remove
    }
  }
  return removed
}
