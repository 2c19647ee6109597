/**
 * Size-capped log files with numbered backups (virtlogd's `max_size` / `max_backups`).
 *
 * The live file is PATH; when an append would take it past maxSize, the data is split (at the
 * last newline that still fits, so lines stay whole unless one line alone exceeds maxSize), the
 * live file is rolled over and writing continues in a fresh PATH. Rolling over renames
 * PATH.(N-2) -> PATH.(N-1), ..., PATH.0 -> PATH.1, PATH -> PATH.0; whatever was PATH.(N-1) is
 * dropped. With max_backups = 0 the live file is simply started afresh. max_size = 0 disables
 * the cap.
 *
 * All I/O is synchronous: log traffic is small, and it keeps the order of appends and the
 * hand-over between daemon processes simple (no write is ever pending in the background).
 */
import {closeSync, fstatSync, mkdirSync, openSync, readSync, renameSync, statSync, unlinkSync, writeSync, ftruncateSync} from 'node:fs'
import {dirname} from 'node:path'

const NL = 0x0a

function ignoreMissing(fn: () => void): void {
  try {
    fn()
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
}

export interface RotatingOptions {
  maxSize: number
  maxBackups: number
  mode?: number
}

export class RotatingFile {
  readonly path: string
  private readonly maxSize: number
  private readonly maxBackups: number
  private readonly mode: number
  private fd: number
  private _size = 0
  private _inode = 0n

  constructor(path: string, opts: RotatingOptions) {
    this.path = path
    this.maxSize = opts.maxSize
    this.maxBackups = opts.maxBackups
    this.mode = opts.mode ?? 0o600
    mkdirSync(dirname(path), {recursive: true})
    this.fd = this.openLive()
  }

  /** Bytes in the live file. */
  get size(): number {
    return this._size
  }

  /** Inode of the live file. */
  get inode(): bigint {
    return this._inode
  }

  private openLive(): number {
    const fd = openSync(this.path, 'a', this.mode)
    const st = fstatSync(fd, {bigint: true})
    this._size = Number(st.size)
    this._inode = st.ino
    return fd
  }

  /** Empties the live file (backups are kept). */
  truncate(): void {
    ftruncateSync(this.fd, 0)
    this._size = 0
  }

  /** Appends, rolling over as often as needed. */
  append(data: Buffer): void {
    let buf = data
    while (buf.length > 0) {
      const room = this.maxSize > 0 ? this.maxSize - this._size : Infinity
      if (buf.length <= room) {
        this.write(buf)
        return
      }
      // Does not fit: keep lines whole where we can.
      let cut = room > 0 ? buf.lastIndexOf(NL, room - 1) + 1 : 0
      if (cut === 0 && this._size === 0) cut = room // one line longer than max_size: hard split
      if (cut > 0) this.write(buf.subarray(0, cut))
      this.rollover()
      buf = buf.subarray(cut)
    }
  }

  private write(buf: Buffer): void {
    let off = 0
    while (off < buf.length) off += writeSync(this.fd, buf, off, buf.length - off)
    this._size += buf.length
  }

  /** Rotates now: the live file becomes PATH.0 and a fresh PATH is started. */
  rollover(): void {
    closeSync(this.fd)
    this.fd = -1
    try {
      if (this.maxBackups > 0) {
        ignoreMissing(() => unlinkSync(`${this.path}.${this.maxBackups - 1}`))
        for (let i = this.maxBackups - 2; i >= 0; i--) {
          ignoreMissing(() => renameSync(`${this.path}.${i}`, `${this.path}.${i + 1}`))
        }
        ignoreMissing(() => renameSync(this.path, `${this.path}.0`))
      } else ignoreMissing(() => unlinkSync(this.path))
    } finally {
      this.fd = this.openLive()
    }
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd)
    this.fd = -1
  }
}

/** The files of a rotating log that exist, oldest first (PATH.(N-1) ... PATH.0, PATH), with their inodes. */
export function logFiles(path: string, maxBackups: number): {path: string; inode: bigint; size: number}[] {
  const out: {path: string; inode: bigint; size: number}[] = []
  // Backups beyond max_backups may exist if the setting was lowered; they are older still.
  const names: string[] = []
  for (let i = Math.max(maxBackups, 0) + 16; i >= 0; i--) names.push(`${path}.${i}`)
  names.push(path)
  for (const p of names) {
    try {
      const st = statSync(p, {bigint: true})
      if (st.isFile()) out.push({path: p, inode: st.ino, size: Number(st.size)})
    } catch {
      // not there
    }
  }
  return out
}

/** End position of the live file: its inode and size (0, 0 when it does not exist). */
export function logPosition(path: string): {inode: bigint; offset: bigint} {
  try {
    const st = statSync(path, {bigint: true})
    return {inode: st.ino, offset: st.size}
  } catch {
    return {inode: 0n, offset: 0n}
  }
}

/**
 * Reads up to maxlen bytes from position (inode, offset), continuing into newer files as each one
 * ends. inode 0 means the live file. A position whose file was dropped by rotation reads from the
 * start of the oldest file still kept.
 */
export function readLog(path: string, maxBackups: number, inode: bigint, offset: bigint, maxlen: number): Buffer {
  const files = logFiles(path, maxBackups)
  if (files.length === 0 || maxlen <= 0) return Buffer.alloc(0)
  let idx: number
  let off: number
  if (inode === 0n) {
    idx = files.length - 1
    off = Number(offset)
  } else {
    idx = files.findIndex((f) => f.inode === inode)
    off = Number(offset)
    if (idx < 0) {
      idx = 0
      off = 0
    }
  }
  const chunks: Buffer[] = []
  let left = maxlen
  for (; idx < files.length && left > 0; idx++, off = 0) {
    let fd: number
    try {
      fd = openSync(files[idx].path, 'r')
    } catch {
      continue
    }
    try {
      while (left > 0) {
        const b = Buffer.allocUnsafe(Math.min(left, 65536))
        const n = readSync(fd, b, 0, b.length, off)
        if (n === 0) break
        chunks.push(b.subarray(0, n))
        off += n
        left -= n
      }
    } finally {
      closeSync(fd)
    }
  }
  return Buffer.concat(chunks)
}

/** Drops a trailing incomplete UTF-8 sequence, so a cut never yields a replacement character. */
export function utf8Whole(buf: Buffer): Buffer {
  let i = buf.length - 1
  let cont = 0
  while (i >= 0 && cont < 3 && (buf[i] & 0xc0) === 0x80) {
    i--
    cont++
  }
  if (i < 0) return buf
  const lead = buf[i]
  const need = lead >= 0xf0 ? 3 : lead >= 0xe0 ? 2 : lead >= 0xc0 ? 1 : 0
  return need > cont ? buf.subarray(0, i) : buf
}
