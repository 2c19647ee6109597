/**
 * The host's NUMA topology, page sizes and caches as libvirt's capabilities show them, from sysfs:
 * /sys/devices/system/node (cells, their memory, huge pages, distances), /sys/devices/system/cpu
 * (socket, die, core, siblings of each CPU; L3 caches) and /sys/kernel/mm/hugepages.
 */
import {readFileSync, readdirSync} from 'node:fs'
import {join} from 'node:path'

export interface HostCellCpu {
  id: number
  socketId: number
  dieId: number
  coreId: number
  siblings: string
}

export interface HostCell {
  id: number
  memoryKiB: number
  /** [size KiB, count] for each page size, the base page first. */
  pages: Array<[number, number]>
  distances: Array<[number, number]>
  cpus: HostCellCpu[]
}

export interface HostCache {
  id: number
  level: number
  type: string
  size: number
  unit: string
  cpus: string
}

export interface HostTopology {
  pageSizesKiB: number[]
  cells: HostCell[]
  caches: HostCache[]
}

export interface SysPaths {
  node: string
  cpu: string
  hugepages: string
}

const SYS: SysPaths = {node: '/sys/devices/system/node', cpu: '/sys/devices/system/cpu', hugepages: '/sys/kernel/mm/hugepages'}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim()
  } catch {
    return undefined
  }
}

function list(dir: string, re: RegExp): number[] {
  try {
    return readdirSync(dir)
      .map((e) => re.exec(e)?.[1])
      .filter((x): x is string => x !== undefined)
      .map(Number)
      .sort((a, b) => a - b)
  } catch {
    return []
  }
}

/** Parses a kernel CPU list ("0-3,8"). */
export function parseCpuList(text: string): number[] {
  const out: number[] = []
  for (const part of text.split(',').filter(Boolean)) {
    const [a, b] = part.split('-').map(Number)
    for (let i = a; i <= (b ?? a); i++) out.push(i)
  }
  return out
}

/** Formats a CPU list as libvirt does ("0-1", "0,2"). */
export function formatCpuList(cpus: number[]): string {
  const out: string[] = []
  let i = 0
  while (i < cpus.length) {
    let j = i
    while (j + 1 < cpus.length && cpus[j + 1] === cpus[j] + 1) j++
    out.push(j > i ? `${cpus[i]}-${cpus[j]}` : `${cpus[i]}`)
    i = j + 1
  }
  return out.join(',')
}

function cellCpu(paths: SysPaths, id: number): HostCellCpu {
  const t = (f: string) => read(join(paths.cpu, `cpu${id}`, 'topology', f))
  const siblings = t('thread_siblings_list')
  return {
    id,
    socketId: Number(t('physical_package_id') ?? 0),
    dieId: Number(t('die_id') ?? 0),
    coreId: Number(t('core_id') ?? id),
    siblings: siblings ? formatCpuList(parseCpuList(siblings)) : String(id),
  }
}

function meminfoField(text: string | undefined, field: string): number | undefined {
  const m = text ? new RegExp(`${field}:\\s+(\\d+) kB`).exec(text) : null
  return m ? Number(m[1]) : undefined
}

function hugeCount(dir: string, sizeKiB: number): number {
  return Number(read(join(dir, `hugepages-${sizeKiB}kB`, 'nr_hugepages')) ?? 0)
}

function caches(paths: SysPaths, cpuIds: number[]): HostCache[] {
  const out = new Map<string, HostCache>()
  for (const cpu of cpuIds) {
    const base = join(paths.cpu, `cpu${cpu}`, 'cache')
    for (const idx of list(base, /^index(\d+)$/)) {
      const f = (name: string) => read(join(base, `index${idx}`, name))
      const level = Number(f('level') ?? 0)
      // libvirt reports the caches from level 3 up.
      if (level < 3) continue
      const type = ({Unified: 'both', Data: 'data', Instruction: 'code'} as Record<string, string | undefined>)[f('type') ?? '']
      const sizeText = f('size') ?? ''
      const m = /^(\d+)([KMG]?)$/.exec(sizeText)
      if (!type || !m) continue
      let size = Number(m[1]) * ({'': 1 / 1024, K: 1, M: 1024, G: 1024 * 1024} as Record<string, number>)[m[2]]
      let unit = 'KiB'
      for (const u of ['MiB', 'GiB']) {
        if (size >= 1024 && size % 1024 === 0) {
          size /= 1024
          unit = u
        }
      }
      const id = Number(f('id') ?? 0)
      const key = `${level}/${type}/${id}`
      if (!out.has(key)) out.set(key, {id, level, type, size, unit, cpus: formatCpuList(parseCpuList(f('shared_cpu_list') ?? String(cpu)))})
    }
  }
  return [...out.values()]
}

/** Reads the host topology; `cpuIds` is used when sysfs shows no NUMA nodes. */
export function readHostTopology(cpuIds: number[], totalKiB: number, paths: SysPaths = SYS): HostTopology {
  const huge = list(paths.hugepages, /^hugepages-(\d+)kB$/)
  const pageSizesKiB = [4, ...huge]
  const nodes = list(paths.node, /^node(\d+)$/)
  const cells: HostCell[] = []
  for (const id of nodes.length ? nodes : [0]) {
    const dir = join(paths.node, `node${id}`)
    const meminfo = nodes.length ? read(join(dir, 'meminfo')) : undefined
    const memoryKiB = meminfoField(meminfo, 'MemTotal') ?? totalKiB
    const cpus = nodes.length ? parseCpuList(read(join(dir, 'cpulist')) ?? '') : cpuIds
    const hugeDir = nodes.length ? join(dir, 'hugepages') : paths.hugepages
    const hugePages = huge.map((size): [number, number] => [size, hugeCount(hugeDir, size)])
    const hugeKiB = hugePages.reduce((acc, [size, n]) => acc + size * n, 0)
    const dist = (read(join(dir, 'distance')) ?? '10').split(/\s+/).map(Number)
    cells.push({
      id,
      memoryKiB,
      pages: [[4, Math.floor((memoryKiB - hugeKiB) / 4)], ...hugePages],
      distances: (nodes.length ? nodes : [0]).map((n, i): [number, number] => [n, dist[i] ?? 10]),
      cpus: cpus.map((c) => cellCpu(paths, c)),
    })
  }
  return {pageSizesKiB, cells, caches: caches(paths, cpuIds)}
}
