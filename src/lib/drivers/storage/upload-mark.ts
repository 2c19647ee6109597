/**
 * The on-disk mark of a volume being uploaded, so that an upload cut short (daemon killed, client
 * gone, disk full, power lost) is known as such afterwards.
 *
 * An upload writes in place, as libvirtd's does; before its first byte a small hidden file
 * `.vctl-upload-NAME` beside the volume says "writing" (synced, with its directory: it is on disk
 * before any of the volume's new bytes can be). Each state is one fixed-size record written over
 * the previous one. When the last byte is written the mark says "written" with the kernel's boot
 * id, the client is told the upload succeeded, and two minutes later (settleDelayMs) the volume's
 * data is synced and the mark removed. So no upload waits for the volume's data to reach the disk
 * (libvirtd does not sync at all), and yet:
 * - a mark that says "writing": the upload never finished; the volume is incomplete;
 * - "written" in the same boot: every byte reached the page cache before the daemon went away, so
 *   the volume is complete (the sync is done again and the mark removed);
 * - "written" in an earlier boot: the machine went down before the sync ended; incomplete.
 * A mark names the volume's file (inode and birth time): one left behind by a volume deleted outside
 * the daemon does not apply to a new file of the same name. Marks are kept only where the volume's directory is
 * writable and holds regular files (dir and fs pools); elsewhere (block devices) there is none, as
 * in libvirt.
 */
import * as fs from 'node:fs'
import type {BigIntStats} from 'node:fs'
import * as fsp from 'node:fs/promises'
import {basename, dirname, join} from 'node:path'
import {promisify} from 'node:util'

import {PARTIAL_PREFIX} from './file-ops.js'

/** Prefix of the mark files (hidden from the pool's volumes, as the partial files). */
export const UPLOAD_MARK_PREFIX = '.vctl-upload-'

interface Mark {
  state: 'writing' | 'written'
  /** fileId of the volume. */
  file: string
  boot?: string
}

/** Which file this is: its inode, and its birth time (an inode number is reused by the next new file). */
export function fileId(st: BigIntStats): string {
  return `${st.ino}:${st.birthtimeNs}`
}

/** The volumes whose data is being synced by this process (their marks are removed after). */
const syncing = new Set<string>()
/** The volumes being uploaded by this process: their "writing" marks are not (yet) interrupted uploads. */
const active = new Map<string, number>()

export function markPath(vol: string): string {
  return join(dirname(vol), `${UPLOAD_MARK_PREFIX}${basename(vol)}`)
}

let bootId: string | undefined
function currentBoot(): string {
  if (bootId === undefined) {
    try {
      bootId = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()
    } catch {
      bootId = ''
    }
  }
  return bootId
}

const fsync = promisify(fs.fsync)
const fdatasync = promisify(fs.fdatasync)

/** Bytes of a mark's record: every state is written whole over the last, padded to this size. */
const MARK_SIZE = 256

function record(mark: Mark): Buffer {
  const json = JSON.stringify(mark)
  if (json.length > MARK_SIZE) throw new Error(`upload mark of ${json.length} bytes`)
  const b = Buffer.alloc(MARK_SIZE, ' ')
  b.write(json)
  return b
}

/**
 * Writes `mark` over the start of the volume's mark file, created when missing: one write of a
 * whole record of fixed size, so that a crash leaves the old state or the new one, never a mixture
 * (no rename: replacing a file by rename makes ext4 write the new one out at once, a disk wait in
 * the middle of the upload). Only metadata and the page cache: done at once. Returns the open file.
 */
function putMark(vol: string, mark: Mark): number {
  const path = markPath(vol)
  const {O_WRONLY, O_CREAT, O_NOFOLLOW} = fs.constants
  const fd = fs.openSync(path, O_WRONLY | O_CREAT | O_NOFOLLOW, 0o600)
  try {
    if (fs.writeSync(fd, record(mark), 0, MARK_SIZE, 0) !== MARK_SIZE) throw Object.assign(new Error('short write'), {code: 'EIO'})
    // Anything past the record (a mark written by hand) would make it unreadable.
    if (fs.fstatSync(fd).size > MARK_SIZE) fs.ftruncateSync(fd, MARK_SIZE)
  } catch (err) {
    fs.closeSync(fd)
    throw err
  }
  return fd
}

/** The mark, on disk once this resolves: the file and its directory synced, both at once. */
async function writeDurableMark(vol: string, mark: Mark): Promise<void> {
  const fd = putMark(vol, mark)
  let dir: number | undefined
  try {
    dir = fs.openSync(dirname(vol), 'r')
    // A directory that cannot be synced (some filesystems) holds the mark as well as it can.
    await Promise.all([fdatasync(fd), fsync(dir).catch(() => {})])
  } finally {
    fs.closeSync(fd)
    if (dir !== undefined) fs.closeSync(dir)
  }
}

/**
 * Marks `vol` (a regular file, inode `ino`) as being uploaded, durably, before its first byte is
 * written. False where no mark can be kept (its directory is not writable).
 */
export async function markUploading(vol: string, file: string): Promise<boolean> {
  active.set(vol, (active.get(vol) ?? 0) + 1)
  try {
    await writeDurableMark(vol, {state: 'writing', file})
  } catch {
    uploadEnded(vol)
    return false
  }
  return true
}

/** The upload marked by markUploading is over (complete or not): its mark stays as it is. */
export function uploadEnded(vol: string): void {
  const n = (active.get(vol) ?? 1) - 1
  if (n > 0) active.set(vol, n)
  else active.delete(vol)
}

/**
 * Every byte of the upload is written (in the page cache): marks it so, and later (settleDelayMs)
 * syncs the volume and removes the mark. The caller may report success as soon as this returns.
 */
export function markWritten(vol: string, file: string): void {
  fs.closeSync(putMark(vol, {state: 'written', file, boot: currentBoot()}))
  setTimeout(() => void settle(vol), settleDelayMs()).unref()
}

/**
 * How long after an upload its data is synced: two minutes, by when the kernel has written it back on
 * its own (dirty pages expire after 30 s, and the flusher runs every 5 s), so that the sync costs a
 * cache flush and not a burst of writes competing with whatever runs next (syncing a GiB at once
 * slowed the daemon's next operations). Until then the mark says "written": complete in this boot,
 * incomplete after a power loss. VCTL_UPLOAD_SETTLE_MS changes it (tests).
 */
function settleDelayMs(): number {
  return Number(process.env.VCTL_UPLOAD_SETTLE_MS ?? 120_000)
}

/** Syncs the volume's data, then removes its mark (once at a time per volume). */
export function settle(vol: string): Promise<void> {
  if (syncing.has(vol)) return Promise.resolve()
  syncing.add(vol)
  const run = async () => {
    try {
      const fh = await fsp.open(vol, 'r')
      try {
        await fh.datasync()
      } finally {
        await fh.close()
      }
      // Removed only if it still says "written" and no new upload has started meanwhile.
      if (!active.has(vol) && readMark(markPath(vol))?.state === 'written') fs.rmSync(markPath(vol), {force: true})
    } catch {
      // the volume is gone or unreadable: its mark is dealt with at the next refresh
    } finally {
      syncing.delete(vol)
    }
  }
  return run()
}

/** Removes the mark of `vol` (the volume is deleted, or its content is whole again). */
export function clearMark(vol: string): void {
  fs.rmSync(markPath(vol), {force: true})
}

function readMark(path: string): Mark | undefined {
  try {
    const m = JSON.parse(fs.readFileSync(path, 'utf8')) as Partial<Mark>
    if ((m.state === 'writing' || m.state === 'written') && typeof m.file === 'string') return {state: m.state, file: m.file, boot: m.boot}
  } catch {
    // unreadable (empty: the daemon stopped between creating and writing it, before any byte of the
    // volume was written; or made by hand): treat as absent
  }
  return undefined
}

/**
 * The names of the volumes of directory `dir` (listed in `names`; `fileOf` stats one for its fileId)
 * whose upload was cut short. Marks that no longer apply are removed; those of complete uploads not
 * yet synced are synced and removed in the background.
 */
export function interruptedUploads(dir: string, names: readonly string[], fileOf: (name: string) => string | undefined): Set<string> {
  const out = new Set<string>()
  for (const n of names) {
    if (!n.startsWith(UPLOAD_MARK_PREFIX)) continue
    const volName = n.slice(UPLOAD_MARK_PREFIX.length)
    const vol = join(dir, volName)
    const mark = readMark(join(dir, n))
    if (!mark || mark.file !== fileOf(volName)) {
      // no such volume any more, or another file now has its name
      if (!syncing.has(vol)) fs.rmSync(join(dir, n), {force: true})
      continue
    }
    if (mark.state === 'written' && mark.boot === currentBoot()) void settle(vol)
    else if (!active.has(vol)) out.add(volName)
  }
  return out
}

/** Whether a directory entry is one of this module's files (never a volume). */
export function isUploadMark(name: string): boolean {
  return name.startsWith(UPLOAD_MARK_PREFIX) || name.startsWith(PARTIAL_PREFIX)
}
