/**
 * Facts about the host the QEMU driver reports: node info (CPUs, topology, memory), the host
 * UUID, free memory, read from /proc and /sys.
 */
import {createHash} from 'node:crypto'
import * as fs from 'node:fs'
import os from 'node:os'
import type {NodeInfo} from '../types.js'
import {readHostCpu, type HostCpu} from './host-cpu.js'
import {readHostTopology, type HostTopology} from './host-topology.js'

export interface HostFacts {
  node: NodeInfo
  vendor?: string
  hostUuid: string
  memoryKiB: number
  cpuIds: number[]
  cpu: HostCpu
  topology: HostTopology
}

function readText(path: string): string | undefined {
  try {
    return fs.readFileSync(path, 'utf8')
  } catch {
    return undefined
  }
}

/** A stable host UUID: SMBIOS when readable, else derived from /etc/machine-id. */
export function hostUuid(): string {
  const smbios = readText('/sys/class/dmi/id/product_uuid')?.trim().toLowerCase()
  if (smbios && /^[0-9a-f-]{36}$/.test(smbios)) return smbios
  let id = readText('/etc/machine-id')?.trim().toLowerCase() ?? ''
  if (!/^[0-9a-f]{32}$/.test(id)) id = createHash('sha256').update(os.hostname()).digest('hex').slice(0, 32)
  return `${id.slice(0, 8)}-${id.slice(8, 12)}-${id.slice(12, 16)}-${id.slice(16, 20)}-${id.slice(20, 32)}`
}

export function meminfoKiB(field: string): number | undefined {
  const text = readText('/proc/meminfo')
  if (!text) return undefined
  const m = new RegExp(`^${field}:\\s+(\\d+)\\s*kB`, 'm').exec(text)
  return m ? Number(m[1]) : undefined
}

/** nodeinfo as libvirt computes it: model = arch, CPUs and topology from /proc/cpuinfo, memory from /proc/meminfo. */
export function readHostFacts(): HostFacts {
  const cpuinfo = readText('/proc/cpuinfo') ?? ''
  const cpus = os.cpus()
  const ncpus = Math.max(1, cpus.length)
  const blocks = cpuinfo.split(/\n\s*\n/).filter((b) => /^processor\s*:/m.test(b))
  const field = (b: string, name: string): string | undefined => new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm').exec(b)?.[1]?.trim()
  const sockets = new Set<string>()
  const cores = new Set<string>()
  const cpuIds: number[] = []
  let mhz = 0
  let vendor: string | undefined
  for (const b of blocks) {
    const pid = field(b, 'physical id') ?? '0'
    sockets.add(pid)
    cores.add(`${pid}/${field(b, 'core id') ?? field(b, 'processor')}`)
    const p = Number(field(b, 'processor'))
    if (Number.isInteger(p)) cpuIds.push(p)
    if (!mhz) mhz = Math.floor(Number(field(b, 'cpu MHz') ?? 0))
    vendor ??= field(b, 'vendor_id')
  }
  if (!mhz && cpus[0]) mhz = cpus[0].speed
  let nSockets = Math.max(1, sockets.size)
  let nCores = Math.max(1, Math.floor(cores.size / nSockets))
  let nThreads = Math.max(1, Math.floor(ncpus / (nSockets * nCores)))
  if (nSockets * nCores * nThreads !== ncpus) {
    nSockets = 1
    nCores = ncpus
    nThreads = 1
  }
  const ids = cpuIds.length ? cpuIds : Array.from({length: ncpus}, (_, i) => i)
  const topology = readHostTopology(ids, meminfoKiB('MemTotal') ?? Math.floor(os.totalmem() / 1024))
  // libvirt's node memory is the NUMA cells' memory when the host shows cells.
  const memoryKiB = topology.cells.reduce((acc, c) => acc + c.memoryKiB, 0)
  return {
    node: {
      model: os.arch() === 'x64' ? 'x86_64' : os.arch(),
      memoryKiB: BigInt(memoryKiB),
      cpus: ncpus,
      mhz,
      nodes: Math.max(1, topology.cells.length),
      sockets: nSockets,
      cores: nCores,
      threads: nThreads,
    },
    vendor: vendor === 'GenuineIntel' ? 'Intel' : vendor === 'AuthenticAMD' ? 'AMD' : vendor,
    hostUuid: hostUuid(),
    memoryKiB,
    cpuIds: ids,
    cpu: readHostCpu(cpuinfo),
    topology,
  }
}

/** Free host memory in bytes: the NUMA cells' MemFree summed, as libvirt's virNodeGetFreeMemory (/proc/meminfo without cells). */
export function nodeFreeMemoryBytes(nodeDir = '/sys/devices/system/node'): bigint {
  let total = 0n
  let cells = 0
  try {
    for (const e of fs.readdirSync(nodeDir)) {
      if (!/^node\d+$/.test(e)) continue
      const m = /MemFree:\s+(\d+) kB/.exec(readText(`${nodeDir}/${e}/meminfo`) ?? '')
      if (!m) continue
      total += BigInt(m[1]) * 1024n
      cells++
    }
  } catch {
    // no NUMA information
  }
  if (cells > 0) return total
  const kib = meminfoKiB('MemFree')
  return kib === undefined ? BigInt(os.freemem()) : BigInt(kib) * 1024n
}
