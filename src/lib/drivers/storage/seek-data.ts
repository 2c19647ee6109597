/**
 * Where the data and the holes of a sparse file are, from the kernel (lseek SEEK_DATA / SEEK_HOLE,
 * through koffi), as libvirt finds them for sparse downloads: no need to read the holes.
 * Undefined when libc cannot be loaded, and the caller falls back to reading. Also the reverse:
 * punching a hole where a sparse upload sends one.
 */
import {libc} from '../../os/libc.js'

const SEEK_DATA = 3
const SEEK_HOLE = 4
const ENXIO = 6

type Lseek = (fd: number, off: bigint, whence: number) => bigint

let lseek: Lseek | null | undefined

function load(): Lseek | null {
  if (lseek !== undefined) return lseek
  try {
    const fn = libc().lib.func('int64_t lseek(int fd, int64_t offset, int whence)')
    lseek = (fd, off, whence) => BigInt(fn(fd, off, whence) as number | bigint)
  } catch {
    lseek = null
  }
  return lseek
}

/** The data extent at or after `pos`: [start, end), or null when only a hole remains. Undefined: not available. */
export function nextData(fd: number, pos: bigint): {start: bigint; end: bigint} | null | undefined {
  const f = load()
  if (!f) return undefined
  const start = f(fd, pos, SEEK_DATA)
  if (start < 0n) return libc().koffi.errno() === ENXIO ? null : undefined
  const end = f(fd, start, SEEK_HOLE)
  if (end < 0n) return undefined
  return {start, end}
}

type Fallocate = (fd: number, mode: number, off: bigint, len: bigint) => number
let fallocate: Fallocate | null | undefined
const FALLOC_FL_KEEP_SIZE = 1
const FALLOC_FL_PUNCH_HOLE = 2

/**
 * Makes [off, off+len) of a regular file read as zeros without writing them (fallocate
 * PUNCH_HOLE | KEEP_SIZE), as a sparse upload's holes. False where the filesystem or libc cannot.
 */
export function punchHole(fd: number, off: bigint, len: bigint): boolean {
  if (fallocate === undefined) {
    try {
      const fn = libc().lib.func('int fallocate(int fd, int mode, int64_t offset, int64_t len)')
      fallocate = (f, m, o, l) => fn(f, m, o, l) as number
    } catch {
      fallocate = null
    }
  }
  return fallocate !== null && len > 0n && fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len) === 0
}
