/** Host-level facts (versions, name, CPU and memory, capabilities) as people and --json read them. */
import {remote} from '../rpc/programs/remote.js'
import type {Connection} from './connection.js'

const P = remote.procs

/** The libvirt API version vctl's protocol follows. */
export const LIBRARY_VERSION = '9.0.0'

const MAJOR = 1_000_000
const MINOR = 1_000

/** libvirt encodes versions as major * 1,000,000 + minor * 1,000 + micro. */
export function formatVersion(v: bigint | number): string {
  const n = Number(v)
  return `${Math.floor(n / MAJOR)}.${Math.floor((n % MAJOR) / MINOR)}.${n % MINOR}`
}

export interface Versions {
  library: string
  type: string
  hypervisor: string
  daemon?: string
}

/** The hypervisor's type and version, and with `daemon` the daemon's library version. */
export async function versions(conn: Connection, opts: {daemon?: boolean} = {}): Promise<Versions> {
  const {type} = await conn.call(P.CONNECT_GET_TYPE, undefined)
  const {hv_ver} = await conn.call(P.CONNECT_GET_VERSION, undefined)
  const out: Versions = {library: LIBRARY_VERSION, type, hypervisor: formatVersion(hv_ver)}
  if (opts.daemon) out.daemon = formatVersion((await conn.call(P.CONNECT_GET_LIB_VERSION, undefined)).lib_ver)
  return out
}

export async function hostname(conn: Connection): Promise<string> {
  return (await conn.call(P.CONNECT_GET_HOSTNAME, undefined)).hostname
}

export async function capabilities(conn: Connection): Promise<string> {
  return (await conn.call(P.CONNECT_GET_CAPABILITIES, undefined)).capabilities
}

export interface NodeInfo {
  cpuModel: string
  cpus: number
  mhz: number
  sockets: number
  coresPerSocket: number
  threadsPerCore: number
  numaCells: number
  memoryKiB: string
}

export async function nodeInfo(conn: Connection): Promise<NodeInfo> {
  const n = await conn.call(P.NODE_GET_INFO, undefined)
  return {
    cpuModel: n.model,
    cpus: n.cpus,
    mhz: n.mhz,
    sockets: n.sockets,
    coresPerSocket: n.cores,
    threadsPerCore: n.threads,
    numaCells: n.nodes,
    memoryKiB: n.memory.toString(),
  }
}

export interface DomainCapabilitiesQuery {
  emulator?: string
  arch?: string
  machine?: string
  virtType?: string
}

/** The domain capabilities XML for one emulator / arch / machine / virt type (virsh domcapabilities). */
export async function domainCapabilities(conn: Connection, q: DomainCapabilitiesQuery = {}): Promise<string> {
  const r = await conn.call(P.CONNECT_GET_DOMAIN_CAPABILITIES, {
    emulatorbin: q.emulator ?? null,
    arch: q.arch ?? null,
    machine: q.machine ?? null,
    virttype: q.virtType ?? null,
    flags: 0,
  })
  return r.capabilities
}
