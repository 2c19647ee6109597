/**
 * Where the data and the holes of a sparse file are, from the kernel (lseek SEEK_DATA / SEEK_HOLE,
 * through koffi), as libvirt finds them for sparse downloads: no need to read the holes.
 * Undefined when libc cannot be loaded, and the caller falls back to reading.
 */
const SEEK_DATA = 3
const SEEK_HOLE = 4
const ENXIO = 6

type Lseek = (fd: number, off: bigint, whence: number) => bigint

let lseek: Lseek | null | undefined

async function load(): Promise<Lseek | null> {
  if (lseek !== undefined) return lseek
  try {
    const koffi = (await import('koffi')).default
    const libc = koffi.load('libc.so.6')
    const fn = libc.func('int64_t lseek(int fd, int64_t offset, int whence)')
    lseek = (fd, off, whence) => BigInt(fn(fd, off, whence) as number | bigint)
  } catch {
    lseek = null
  }
  return lseek
}

/** The data extent at or after `pos`: [start, end), or null when only a hole remains. Undefined: not available. */
export async function nextData(fd: number, pos: bigint): Promise<{start: bigint; end: bigint} | null | undefined> {
  const f = await load()
  if (!f) return undefined
  const koffi = (await import('koffi')).default
  const start = f(fd, pos, SEEK_DATA)
  if (start < 0n) return koffi.errno() === ENXIO ? null : undefined
  const end = f(fd, start, SEEK_HOLE)
  if (end < 0n) return undefined
  return {start, end}
}
