/**
 * Domain operations as vctl's commands present them: plain data (for --json) built from RPC calls.
 */
import {remote, type DomainHandle} from '../rpc/programs/remote.js'
import {uuidToString} from '../uuid.js'
import type {Connection} from './connection.js'

const P = remote.procs

export const STATE_NAMES = ['no state', 'running', 'idle', 'paused', 'in shutdown', 'shut off', 'crashed', 'pmsuspended']

const REASONS: Record<number, string[]> = {
  0: ['unknown'],
  1: [
    'unknown',
    'booted',
    'migrated',
    'restored',
    'from snapshot',
    'unpaused',
    'migration canceled',
    'save canceled',
    'event wakeup',
    'crashed',
    'post-copy',
    'post-copy failed',
  ],
  2: ['unknown'],
  3: [
    'unknown',
    'user',
    'migrating',
    'saving',
    'dumping',
    'I/O error',
    'watchdog',
    'from snapshot',
    'shutting down',
    'creating snapshot',
    'crashed',
    'starting up',
    'post-copy',
    'post-copy failed',
  ],
  4: ['unknown', 'user'],
  5: ['unknown', 'shutdown', 'destroyed', 'crashed', 'migrated', 'saved', 'failed', 'from snapshot', 'daemon'],
  6: ['unknown', 'panicked'],
  7: ['unknown'],
}

export function stateName(state: number): string {
  return STATE_NAMES[state] ?? 'no state'
}

export function reasonName(state: number, reason: number): string {
  return REASONS[state]?.[reason] ?? 'unknown'
}

export interface DomainSummary {
  id: number | null
  name: string
  uuid: string
  state: string
  reason: string
}

export function handleInfo(d: DomainHandle): {name: string; uuid: string; id: number | null} {
  return {name: d.name, uuid: uuidToString(d.uuid), id: d.id >= 0 ? d.id : null}
}

/** Lists domains sorted as virsh does: running ones by ID, then the rest by name. */
export async function listDomains(conn: Connection, all: boolean): Promise<DomainSummary[]> {
  const {domains} = await conn.call(P.CONNECT_LIST_ALL_DOMAINS, {need_results: 1, flags: all ? 3 : 1})
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
    return a.name.localeCompare(b.name)
  })
  return out
}

export interface DomainDetails {
  id: number | null
  name: string
  uuid: string
  osType: string
  state: string
  reason: string
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

export const EVENT_NAMES = ['Defined', 'Undefined', 'Started', 'Suspended', 'Resumed', 'Stopped', 'Shutdown', 'PMSuspended', 'Crashed']
const EVENT_DETAILS: string[][] = [
  ['Added', 'Updated', 'Renamed', 'Snapshot'],
  ['Removed', 'Renamed'],
  ['Booted', 'Migrated', 'Restored', 'Snapshot', 'Event wakeup'],
  ['Paused', 'Migrated', 'I/O Error', 'Watchdog', 'Restored', 'Snapshot', 'API error', 'Post-copy', 'Post-copy Error'],
  ['Unpaused', 'Migrated', 'Snapshot', 'Post-copy', 'Post-copy Error'],
  ['Shutdown', 'Destroyed', 'Crashed', 'Migrated', 'Saved', 'Failed', 'Snapshot'],
  ['Finished', 'Finished after guest request', 'Finished after host request'],
  ['Memory', 'Disk'],
  ['Panicked', 'Crashloaded'],
]

export function eventText(event: number, detail: number): {event: string; detail: string} {
  return {event: EVENT_NAMES[event] ?? `unknown(${event})`, detail: EVENT_DETAILS[event]?.[detail] ?? `unknown(${detail})`}
}
