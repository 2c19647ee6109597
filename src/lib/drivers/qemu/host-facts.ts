/**
 * Host facts of the QEMU driver on Linux as libvirt computes them: CPU time from /proc/stat, free
 * memory per NUMA cell from /sys/devices/system/node, KSM parameters from /sys/kernel/mm/ksm, the CPU
 * model names of the host architecture's CPU map.
 */
import {readFileSync, readdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {ErrorCode, ErrorDomain, VirError, errors} from '../../errors.js'
import {checkFlags, flagsError, type AnyTypedParam, type HostTypedParam, type NodeCpuStat} from '../host-types.js'
import {meminfoKiB} from './host.js'

const D = ErrorDomain.NONE
/** VIR_TYPED_PARAM_STRING_OKAY, which virsh passes to every parameter getter. */
const TYPED_PARAM_STRING_OKAY = 4
/** USER_HZ on Linux: /proc/stat counts in 1/100 s. */
const NS_PER_TICK = 10_000_000n

export interface HostFactsPaths {
  stat: string
  node: string
  ksm: string
}

export const HOST_PATHS: HostFactsPaths = {stat: '/proc/stat', node: '/sys/devices/system/node', ksm: '/sys/kernel/mm/ksm'}

/** virHostCPUGetStats on Linux: kernel, user, idle, iowait in ns, of all CPUs (-1) or one. */
export function hostCpuStats(cpuNum: number, nparams: number, flags: number, paths = HOST_PATHS): {params: NodeCpuStat[]; nparams: number} {
  checkFlags(flags, 0, 'virHostCPUGetStats', D)
  if (nparams === 0) return {params: [], nparams: 4}
  if (nparams !== 4) throw new VirError(ErrorCode.INVALID_ARG, D, 'nparams in virHostCPUGetStatsLinux must be equal to 4')
  const want = cpuNum === -1 ? 'cpu' : `cpu${cpuNum}`
  const line = readFileSync(paths.stat, 'utf8')
    .split('\n')
    .find((l) => l.split(/\s+/)[0] === want)
  if (!line) throw new VirError(ErrorCode.INVALID_ARG, D, 'Invalid cpuNum in virHostCPUGetStatsLinux')
  const v = line
    .trim()
    .split(/\s+/)
    .slice(1)
    .map((x) => BigInt(x))
  const [user, nice, system, idle, iowait, irq, softirq] = [0, 1, 2, 3, 4, 5, 6].map((i) => v[i] ?? 0n)
  return {
    params: [
      {field: 'kernel', value: (system + irq + softirq) * NS_PER_TICK},
      {field: 'user', value: (user + nice) * NS_PER_TICK},
      {field: 'idle', value: idle * NS_PER_TICK},
      {field: 'iowait', value: iowait * NS_PER_TICK},
    ],
    nparams: 4,
  }
}

function nodes(dir: string): number[] {
  try {
    return readdirSync(dir)
      .map((e) => /^node(\d+)$/.exec(e)?.[1])
      .filter((x): x is string => x !== undefined)
      .map(Number)
      .sort((a, b) => a - b)
  } catch {
    return []
  }
}

/** virHostMemGetCellsFree: bytes free in each cell from startCell, up to maxCells, within the host's cells. */
export function hostCellsFree(startCell: number, maxCells: number, paths = HOST_PATHS): bigint[] {
  const cells = nodes(paths.node)
  const last = cells.length ? cells[cells.length - 1] : 0
  if (startCell > last) throw errors.internal(D, `start cell ${startCell} out of range (0-${last})`)
  const out: bigint[] = []
  for (let c = startCell; c <= last && out.length < maxCells; c++) {
    let kib: number | undefined
    if (cells.length) {
      try {
        const m = /MemFree:\s+(\d+) kB/.exec(readFileSync(join(paths.node, `node${c}`, 'meminfo'), 'utf8'))
        kib = m ? Number(m[1]) : 0
      } catch {
        kib = 0
      }
    } else kib = meminfoKiB('MemFree') ?? 0
    out.push(BigInt(kib) * 1024n)
  }
  return out
}

/** KSM's files behind the node memory parameters, their types, and which can be set. */
const KSM: Array<[string, string, 2 | 4, boolean]> = [
  ['shm_pages_to_scan', 'pages_to_scan', 2, true],
  ['shm_sleep_millisecs', 'sleep_millisecs', 2, true],
  ['shm_pages_shared', 'pages_shared', 4, false],
  ['shm_pages_sharing', 'pages_sharing', 4, false],
  ['shm_pages_unshared', 'pages_unshared', 4, false],
  ['shm_pages_volatile', 'pages_volatile', 4, false],
  ['shm_full_scans', 'full_scans', 4, false],
  ['shm_merge_across_nodes', 'merge_across_nodes', 2, true],
]

/** virHostMemGetParameters: with nparams 0, how many there are; else the first nparams present on this kernel. */
export function hostMemoryParameters(nparams: number, flags: number, paths = HOST_PATHS): {params: HostTypedParam[]; nparams: number} {
  if ((flags & ~TYPED_PARAM_STRING_OKAY) !== 0) throw flagsError(D, flags & ~TYPED_PARAM_STRING_OKAY, 'virHostMemGetParameters')
  if (nparams === 0) return {params: [], nparams: KSM.length}
  const params: HostTypedParam[] = []
  for (const [field, file, type] of KSM) {
    if (params.length >= nparams) break
    let text: string
    try {
      text = readFileSync(join(paths.ksm, file), 'utf8').trim()
    } catch {
      continue
    }
    params.push(type === 2 ? {field, type, value: Number(text)} : {field, type, value: BigInt(text)})
  }
  return {params, nparams: params.length}
}

/** virHostMemSetParameters: only the tunable UINT parameters, each written to its KSM file. */
export function setHostMemoryParameters(params: AnyTypedParam[], flags: number, paths = HOST_PATHS): void {
  checkFlags(flags, 0, 'virHostMemSetParameters', D)
  for (const p of params) {
    const k = KSM.find(([field, , , settable]) => settable && field === p.field)
    if (!k) throw new VirError(ErrorCode.ARGUMENT_UNSUPPORTED, D, `argument unsupported: parameter '${p.field}' not supported`)
    if (p.type !== 2) throw errors.invalidArg(D, `invalid type for parameter '${p.field}', expected 'unsigned int'`)
  }
  for (const p of params) {
    const k = KSM.find(([field]) => field === p.field)
    if (!k) continue
    try {
      writeFileSync(join(paths.ksm, k[1]), String(p.value))
    } catch (err) {
      throw errors.systemError(D, `Unable to write to '${join(paths.ksm, k[1])}': ${(err as Error).message}`)
    }
  }
}
