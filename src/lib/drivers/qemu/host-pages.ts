/**
 * Huge page pools and host suspend as libvirt's QEMU driver answers them on Linux: free pages per NUMA
 * cell and page size (the system page size from the cell's MemFree, huge pages from sysfs' free_hugepages),
 * growing or setting a huge page pool through nr_hugepages (read back to check), and node suspend, which
 * this daemon never performs: it answers as libvirt does on a host without power management support.
 */
import {existsSync, readFileSync, readdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {ErrorCode, ErrorDomain, VirError, errors} from '../../errors.js'
import {checkFlags} from '../host-types.js'

const D = ErrorDomain.NONE
/** VIR_NODE_ALLOC_PAGES_SET (without it, pages are added to the pool). */
export const ALLOC_PAGES_SET = 1
/** The system page size in KiB (x86). */
const SYSTEM_PAGE_KIB = 4
/** virNodeSuspendTarget names, as libvirt reports them. */
const SUSPEND_TARGETS = ['Suspend-to-RAM', 'Suspend-to-Disk', 'Hybrid-Suspend']

export interface PagesPaths {
  node: string
  hugepages: string
  meminfo: string
}

export const PAGES_PATHS: PagesPaths = {node: '/sys/devices/system/node', hugepages: '/sys/kernel/mm/hugepages', meminfo: '/proc/meminfo'}

function lastCell(paths: PagesPaths): number {
  try {
    const cells = readdirSync(paths.node)
      .map((e) => /^node(\d+)$/.exec(e)?.[1])
      .filter((x): x is string => x !== undefined)
      .map(Number)
    return cells.length ? Math.max(...cells) : 0
  } catch {
    return 0
  }
}

/** The cells [startCell, startCell + cellCount) that exist, or libvirt's error for a start beyond the last. */
function cellRange(startCell: number, cellCount: number, paths: PagesPaths): number[] {
  const last = lastCell(paths)
  if (startCell > last) throw errors.internal(D, `start cell ${startCell} out of range (0-${last})`)
  const end = Math.min(last, startCell + cellCount - 1)
  const out: number[] = []
  for (let c = startCell; c <= end; c++) out.push(c)
  return out
}

function notAvailable(size: number, cell: number): VirError {
  return errors.operationFailed(D, cell === -1 ? `page size ${size} is not available` : `page size ${size} is not available on node ${cell}`)
}

function hugeFile(paths: PagesPaths, cell: number, size: number, file: string): string {
  const dir = cell === -1 ? paths.hugepages : join(paths.node, `node${cell}`, 'hugepages')
  return join(dir, `hugepages-${size}kB`, file)
}

function memFreeKiB(paths: PagesPaths, cell: number): number {
  const file = cell === -1 ? paths.meminfo : join(paths.node, `node${cell}`, 'meminfo')
  const m = /MemFree:\s+(\d+) kB/.exec(readFileSync(file, 'utf8'))
  return m ? Number(m[1]) : 0
}

/** virHostMemGetFreePages: for each cell, for each page size, how many pages are free. */
export function hostFreePages(pages: number[], startCell: number, cellCount: number, paths = PAGES_PATHS): bigint[] {
  const counts: bigint[] = []
  for (const cell of cellRange(startCell, cellCount, paths)) {
    for (const size of pages) {
      if (size === SYSTEM_PAGE_KIB) {
        counts.push(BigInt(Math.floor(memFreeKiB(paths, cell) / SYSTEM_PAGE_KIB)))
        continue
      }
      const file = hugeFile(paths, cell, size, 'free_hugepages')
      if (!existsSync(file)) throw notAvailable(size, cell)
      counts.push(BigInt(readFileSync(file, 'utf8').trim()))
    }
  }
  if (counts.length === 0) throw errors.operationFailed(D, 'no suitable info found')
  return counts
}

/** virHostMemAllocPages: each cell's pool of each size grown by (or, with SET, set to) the count; returns the cells done. */
export function hostAllocPages(
  pageSizes: number[],
  pageCounts: bigint[],
  startCell: number,
  cellCount: number,
  flags: number,
  paths = PAGES_PATHS,
): number {
  const add = (flags & ALLOC_PAGES_SET) === 0
  let done = 0
  for (const cell of cellRange(startCell, cellCount, paths)) {
    pageSizes.forEach((size, i) => {
      if (size === SYSTEM_PAGE_KIB)
        throw new VirError(ErrorCode.OPERATION_UNSUPPORTED, D, "Operation not supported: system pages pool can't be modified")
      const file = hugeFile(paths, cell, size, 'nr_hugepages')
      if (!existsSync(file)) throw notAvailable(size, cell)
      const count = pageCounts[i] ?? 0n
      if (add && count === 0n) return
      const want = add ? BigInt(readFileSync(file, 'utf8').trim()) + count : count
      try {
        writeFileSync(file, String(want))
      } catch (err) {
        throw errors.systemError(D, `Unable to write to: ${file}: ${(err as Error).message}`)
      }
      const got = BigInt(readFileSync(file, 'utf8').trim())
      if (got !== want) throw errors.operationFailed(D, `Unable to allocate ${want} pages. Allocated only ${got}`)
    })
    done++
  }
  return done
}

/** virNodeSuspend on a host where neither systemd-logind nor pm-utils offers suspend: every target is unsupported. */
export function hostSuspend(target: number, _duration: bigint, flags: number): never {
  checkFlags(flags, 0, 'virNodeSuspend', D)
  const name = SUSPEND_TARGETS[target]
  if (name === undefined) throw errors.invalidArg(D, 'Invalid suspend target')
  throw new VirError(ErrorCode.ARGUMENT_UNSUPPORTED, D, `argument unsupported: ${name}`)
}
