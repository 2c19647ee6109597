/**
 * Host memory statistics as libvirt 9.0 reports them on Linux (virNodeGetMemoryStats, which
 * cockpit-machines and virt-manager ask for): the whole host from /proc/meminfo ("total", "free",
 * "buffers", "cached", KiB), or one NUMA cell from /sys/devices/system/node/nodeN/meminfo
 * ("total", "free"). Same argument checks and errors as libvirt's.
 */
import {existsSync, readFileSync, readdirSync} from 'node:fs'
import {ErrorCode, ErrorDomain, VirError, errors} from '../errors.js'
import {checkFlags} from './host-types.js'

/** virNodeGetMemoryStats's cellNum for the whole host. */
export const ALL_CELLS = -1

export interface NodeMemoryStat {
  field: string
  /** KiB */
  value: bigint
}

/** Where the host's files are; tests point this at a fake tree. */
export interface HostMemoryPaths {
  meminfo: string
  nodeDir: string
}

const HOST: HostMemoryPaths = {meminfo: '/proc/meminfo', nodeDir: '/sys/devices/system/node'}

const FIELDS: Array<[string, string]> = [
  ['MemTotal:', 'total'],
  ['MemFree:', 'free'],
  ['Buffers:', 'buffers'],
  ['Cached:', 'cached'],
]

/** The highest NUMA node number, or -1 when the host shows no NUMA topology. */
function maxNode(paths: HostMemoryPaths): number {
  if (!existsSync(paths.nodeDir)) return -1
  let max = -1
  for (const e of readdirSync(paths.nodeDir)) {
    const m = /^node(\d+)$/.exec(e)
    if (m) max = Math.max(max, Number(m[1]))
  }
  return max
}

/** Parses meminfo lines (a cell's carry a "Node N " prefix); the first `count` known fields, in file order. */
export function parseMeminfo(text: string, count: number): NodeMemoryStat[] {
  const out: NodeMemoryStat[] = []
  for (const raw of text.split('\n')) {
    const line = raw.startsWith('Node ') ? raw.split(' ').slice(2).join(' ') : raw
    const m = /^(\S+)\s+(\d+) kB/.exec(line.trim())
    if (!m) continue
    const f = FIELDS.find(([hdr]) => hdr === m[1])
    if (!f) continue
    out.push({field: f[1], value: BigInt(m[2])})
    if (out.length >= count) break
  }
  return out
}

/**
 * virHostMemGetStats: with `nparams` 0, only how many stats there are (4 for the host, 2 for a
 * cell); otherwise exactly that many must be asked for.
 */
export function hostMemoryStats(
  cellNum: number,
  nparams: number,
  flags: number,
  paths: HostMemoryPaths = HOST,
): {params: NodeMemoryStat[]; nparams: number} {
  checkFlags(flags, 0, 'virHostMemGetStats', ErrorDomain.NONE)
  const max = maxNode(paths)
  // Without NUMA, libvirt still claims one cell: cell 0 is the whole host.
  const cell = max < 0 && cellNum === 0 ? ALL_CELLS : cellNum
  let file = paths.meminfo
  if (cell !== ALL_CELLS) {
    if (max < 0) throw errors.operationInvalid(ErrorDomain.NONE, 'NUMA not supported on this host')
    if (cell > max) {
      throw new VirError(ErrorCode.INVALID_ARG, ErrorDomain.NONE, `cellNum in virHostMemGetStats must be less than or equal to ${max}`)
    }
    file = `${paths.nodeDir}/node${cell}/meminfo`
  }
  const want = cell === ALL_CELLS ? 4 : 2
  if (nparams === 0) return {params: [], nparams: want}
  if (nparams !== want) throw new VirError(ErrorCode.INVALID_ARG, ErrorDomain.NONE, `nparams in virHostMemGetStatsLinux must be ${want}`)
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    const why = code === 'ENOENT' ? 'No such file or directory' : code === 'EACCES' ? 'Permission denied' : String(err)
    throw errors.systemError(ErrorDomain.NONE, `cannot open ${file}: ${why}`)
  }
  const params = parseMeminfo(text, want)
  if (params.length === 0) throw errors.internal(ErrorDomain.NONE, 'no available memory line found')
  return {params, nparams: params.length}
}
