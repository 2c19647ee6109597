/**
 * The client side of a guest's memory, vCPUs, pinning and metadata: setmem, setvcpus, vcpuinfo,
 * vcpupin, desc and metadata for the CLI, in terms of the REMOTE procedures.
 */
import {remote, type DomainHandle} from '../rpc/programs/remote.js'
import {ErrorCode, ErrorDomain, VirError} from '../errors.js'
import type {Connection} from './connection.js'

const P = remote.procs

/** virDomainModificationImpact from --live / --config (neither: current). */
export function affectFlags(o: {live?: boolean; config?: boolean}): number {
  return (o.live ? 1 : 0) | (o.config ? 2 : 0)
}

export async function setMemory(conn: Connection, dom: DomainHandle, kib: bigint, flags: number, maximum = false): Promise<void> {
  await conn.call(P.DOMAIN_SET_MEMORY_FLAGS, {dom, memory: kib, flags: flags | (maximum ? 4 : 0)})
}

export async function setVcpus(conn: Connection, dom: DomainHandle, count: number, flags: number, maximum = false): Promise<void> {
  await conn.call(P.DOMAIN_SET_VCPUS_FLAGS, {dom, nvcpus: count, flags: flags | (maximum ? 4 : 0)})
}

/** Host CPU numbers set in a cpumap. */
function cpusOf(map: Buffer, offset: number, maplen: number): number[] {
  const out: number[] = []
  for (let i = 0; i < maplen * 8; i++) if (map[offset + (i >> 3)] & (1 << (i & 7))) out.push(i)
  return out
}

/** "0-2,5" from a list of CPU numbers. */
export function cpuList(cpus: number[]): string {
  const out: string[] = []
  for (let i = 0; i < cpus.length;) {
    let j = i
    while (j + 1 < cpus.length && cpus[j + 1] === cpus[j] + 1) j++
    out.push(i === j ? String(cpus[i]) : `${cpus[i]}-${cpus[j]}`)
    i = j + 1
  }
  return out.join(',')
}

/** Parses "0-2,^1,5" as libvirt's cpulists, against the host's CPU count. */
export function parseCpuList(text: string, maxcpu: number): number[] {
  const bad = () => new VirError(ErrorCode.INVALID_ARG, ErrorDomain.NONE, `Invalid cpulist '${text}'`)
  const set = new Set<number>()
  for (const part of text.split(',')) {
    const neg = part.startsWith('^')
    const m = /^(\d+)(?:-(\d+))?$/.exec(neg ? part.slice(1) : part)
    if (!m) throw bad()
    const a = Number(m[1])
    const b = m[2] === undefined ? a : Number(m[2])
    if (b < a) throw bad()
    for (let i = a; i <= b; i++) {
      if (i >= maxcpu) throw new VirError(ErrorCode.INVALID_ARG, ErrorDomain.NONE, `CPU ${i} in cpulist '${text}' exceed the maxcpu ${maxcpu}`)
      if (neg) set.delete(i)
      else set.add(i)
    }
  }
  if (set.size === 0) throw bad()
  return [...set].sort((x, y) => x - y)
}

export async function hostCpuCount(conn: Connection): Promise<number> {
  return (await conn.call(P.NODE_GET_CPU_MAP, {need_map: 0, need_online: 0, flags: 0})).ret
}

export interface VcpuDetails {
  vcpu: number
  /** Host CPU it last ran on, null when not running. */
  cpu: number | null
  state: string
  cpuTimeNs: bigint | null
  affinity: string
}

/** Each vCPU's placement (running guest), or only its pinning (shut-off guest), as virsh vcpuinfo shows. */
export async function vcpuInfo(conn: Connection, dom: DomainHandle): Promise<VcpuDetails[]> {
  const maxcpu = await hostCpuCount(conn)
  const maplen = Math.ceil(maxcpu / 8)
  const max = (await conn.call(P.DOMAIN_GET_VCPUS_FLAGS, {dom, flags: 4})).num
  try {
    const r = await conn.call(P.DOMAIN_GET_VCPUS, {dom, maxinfo: max, maplen})
    return r.info.map((v, i) => ({
      vcpu: v.number,
      cpu: v.cpu,
      state: v.state === 1 ? 'running' : v.state === 2 ? 'blocked' : 'offline',
      cpuTimeNs: v.cpu_time,
      affinity: cpuList(cpusOf(r.cpumaps, i * maplen, maplen)),
    }))
  } catch (err) {
    if (!(err instanceof VirError) || err.code !== ErrorCode.OPERATION_INVALID) throw err
  }
  const pins = await conn.call(P.DOMAIN_GET_VCPU_PIN_INFO, {dom, ncpumaps: max, maplen, flags: 2})
  return Array.from({length: pins.num}, (_, i) => ({
    vcpu: i,
    cpu: null,
    state: 'N/A',
    cpuTimeNs: null,
    affinity: cpuList(cpusOf(pins.cpumaps, i * maplen, maplen)),
  }))
}

export async function pinVcpu(conn: Connection, dom: DomainHandle, vcpu: number, cpulist: string, flags: number): Promise<void> {
  const maxcpu = await hostCpuCount(conn)
  const cpus = parseCpuList(cpulist, maxcpu)
  const map = Buffer.alloc(Math.ceil(maxcpu / 8))
  for (const c of cpus) map[c >> 3] |= 1 << (c & 7)
  await conn.call(P.DOMAIN_PIN_VCPU_FLAGS, {dom, vcpu, cpumap: map, flags})
}

/** virDomainMetadataType. */
export const Metadata = {DESCRIPTION: 0, TITLE: 1, ELEMENT: 2} as const

/** The metadata asked for, or null when the domain has none of it (unless `strict`: then libvirt's error). */
export async function getMetadata(
  conn: Connection,
  dom: DomainHandle,
  type: number,
  uri: string | null,
  flags: number,
  strict = false,
): Promise<string | null> {
  try {
    return (await conn.call(P.DOMAIN_GET_METADATA, {dom, type, uri, flags})).metadata
  } catch (err) {
    if (!strict && err instanceof VirError && err.code === ErrorCode.NO_DOMAIN_METADATA) return null
    throw err
  }
}

export async function setMetadata(
  conn: Connection,
  dom: DomainHandle,
  type: number,
  value: string | null,
  key: string | null,
  uri: string | null,
  flags: number,
): Promise<void> {
  await conn.call(P.DOMAIN_SET_METADATA, {dom, type, metadata: value, key, uri, flags})
}
