/**
 * Reading domains as vctl's commands present them: plain data (for --json) built from RPC calls.
 */
import {remote, type DomainHandle} from '../rpc/programs/remote.js'
import {ErrorCode, VirError} from '../errors.js'
import {uuidToString} from '../uuid.js'
import type {Connection} from './connection.js'
import {DomainXmlFlags, ListDomainsFlags} from './flags.js'
import {reasonName, stateName} from './domain-names.js'

const P = remote.procs

export {stateName, reasonName} from './domain-names.js'

export interface DomainRef {
  name: string
  uuid: string
  id: number | null
}

export interface DomainSummary extends DomainRef {
  state: string
  reason: string
}

export function handleInfo(d: DomainHandle): DomainRef {
  return {name: d.name, uuid: uuidToString(d.uuid), id: d.id >= 0 ? d.id : null}
}

/** Resolves a domain by ID, UUID or name; fails as virsh does when there is none. */
export async function findDomain(conn: Connection, ident: string): Promise<DomainHandle> {
  try {
    return await conn.lookupDomain(ident)
  } catch (err) {
    if (err instanceof VirError && err.code === ErrorCode.NO_DOMAIN) {
      throw new VirError(err.code, err.domain, `failed to get domain '${ident}'`)
    }
    throw err
  }
}

/** Orders names as virsh does (vshStrcasecmp), without the ICU set-up a localeCompare costs. */
function caseInsensitive(a: string, b: string): number {
  const x = a.toLowerCase()
  const y = b.toLowerCase()
  return x < y ? -1 : x > y ? 1 : 0
}

/** Lists domains sorted as virsh does: running ones by ID, then the rest by name. */
export async function listDomains(conn: Connection, all: boolean): Promise<DomainSummary[]> {
  const flags = all ? ListDomainsFlags.ACTIVE | ListDomainsFlags.INACTIVE : ListDomainsFlags.ACTIVE
  const {domains} = await conn.call(P.CONNECT_LIST_ALL_DOMAINS, {need_results: 1, flags})
  const out = await Promise.all(
    domains.map(async (d) => {
      const s = await conn.call(P.DOMAIN_GET_STATE, {dom: d, flags: 0})
      return {...handleInfo(d), state: stateName(s.state), reason: reasonName(s.state, s.reason)}
    }),
  )
  out.sort((a, b) => {
    if (a.id !== null && b.id !== null) return a.id - b.id
    if (a.id !== null) return -1
    if (b.id !== null) return 1
    return caseInsensitive(a.name, b.name)
  })
  return out
}

export interface DomainDetails extends DomainSummary {
  osType: string
  cpus: number
  cpuTimeNs: string
  maxMemoryKiB: string
  usedMemoryKiB: string
  persistent: boolean
  autostart: boolean
  managedSave: boolean
}

export async function domainInfo(conn: Connection, dom: DomainHandle): Promise<DomainDetails> {
  const [os, info, st, persistent, autostart, managed] = await Promise.all([
    conn.call(P.DOMAIN_GET_OS_TYPE, {dom}),
    conn.call(P.DOMAIN_GET_INFO, {dom}),
    conn.call(P.DOMAIN_GET_STATE, {dom, flags: 0}),
    conn.call(P.DOMAIN_IS_PERSISTENT, {dom}),
    conn.call(P.DOMAIN_GET_AUTOSTART, {dom}),
    conn.call(P.DOMAIN_HAS_MANAGED_SAVE_IMAGE, {dom, flags: 0}),
  ])
  return {
    ...handleInfo(dom),
    osType: os.type,
    state: stateName(st.state),
    reason: reasonName(st.state, st.reason),
    cpus: info.nrVirtCpu,
    cpuTimeNs: info.cpuTime.toString(),
    maxMemoryKiB: info.maxMem.toString(),
    usedMemoryKiB: info.memory.toString(),
    persistent: persistent.persistent === 1,
    autostart: autostart.autostart === 1,
    managedSave: managed.result === 1,
  }
}

export async function domainState(conn: Connection, dom: DomainHandle): Promise<{name: string; state: string; reason: string}> {
  const s = await conn.call(P.DOMAIN_GET_STATE, {dom, flags: 0})
  return {name: dom.name, state: stateName(s.state), reason: reasonName(s.state, s.reason)}
}

/** The domain's XML: the live definition, or with `inactive` the one used at next boot. */
export async function domainXml(conn: Connection, dom: DomainHandle, opts: {inactive?: boolean; secure?: boolean} = {}): Promise<string> {
  const flags = (opts.inactive ? DomainXmlFlags.INACTIVE : 0) | (opts.secure ? DomainXmlFlags.SECURE : 0)
  return (await conn.call(P.DOMAIN_GET_XML_DESC, {dom, flags})).xml
}

export interface DomainStatsRecord {
  name: string
  stats: Record<string, string | number | boolean>
}

/** All statistics of the given domains (every domain when the list is empty), like virsh domstats. */
export async function domainStats(conn: Connection, doms: DomainHandle[]): Promise<DomainStatsRecord[]> {
  const {retStats} = await conn.call(P.CONNECT_GET_ALL_DOMAIN_STATS, {doms, stats: 0, flags: 0})
  return retStats.map((r) => ({
    name: r.dom.name,
    stats: Object.fromEntries(r.params.map((p) => [p.field, typeof p.value === 'bigint' ? p.value.toString() : p.value])),
  }))
}
