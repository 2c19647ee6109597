/** Guest statistics and guest control for the CLI: domstats by group, send-key, dump. */
import type {Connection} from './connection.js'
import type {DomainHandle} from '../rpc/programs/remote.js'
import {remote} from '../rpc/programs/remote.js'
import type {DomainStatsRecord} from './domains.js'

const P = remote.procs

/** virConnectGetAllDomainStats groups by the names virsh domstats uses for them. */
export const STATS_GROUPS = {
  state: 0x1,
  'cpu-total': 0x2,
  balloon: 0x4,
  vcpu: 0x8,
  interface: 0x10,
  block: 0x20,
  perf: 0x40,
  iothread: 0x80,
  memory: 0x100,
  dirtyrate: 0x200,
  vm: 0x400,
} as const
export type StatsGroupName = keyof typeof STATS_GROUPS

/** Statistics of the given domains (all when none), only of `groups` (all the driver has when none). */
export async function domainStatsByGroup(conn: Connection, doms: DomainHandle[], groups: StatsGroupName[]): Promise<DomainStatsRecord[]> {
  const stats = groups.reduce((m, g) => m | STATS_GROUPS[g], 0)
  const {retStats} = await conn.call(P.CONNECT_GET_ALL_DOMAIN_STATS, {doms, stats, flags: 0})
  return retStats.map((r) => ({
    name: r.dom.name,
    stats: Object.fromEntries(r.params.map((p) => [p.field, typeof p.value === 'bigint' ? p.value.toString() : p.value])),
  }))
}

/** Presses keys together (Linux codes, KEY_* names resolved by the caller), held `holdMs` (0: QEMU's default). */
export async function sendKeys(conn: Connection, dom: DomainHandle, keycodes: number[], holdMs = 0, codeset = 0): Promise<void> {
  await conn.call(P.DOMAIN_SEND_KEY, {dom, codeset, holdtime: holdMs, keycodes, flags: 0})
}

/** virDomainCoreDumpFormat by name. */
export const DUMP_FORMATS = ['raw', 'kdump-zlib', 'kdump-lzo', 'kdump-snappy', 'win-dmp'] as const
export type DumpFormat = (typeof DUMP_FORMATS)[number]

export interface DumpOptions {
  memoryOnly?: boolean
  live?: boolean
  crash?: boolean
  reset?: boolean
  format?: DumpFormat
}

/** Dumps the guest to a file of the daemon's host (absolute path). */
export async function dumpDomain(conn: Connection, dom: DomainHandle, to: string, opts: DumpOptions = {}): Promise<void> {
  const flags = (opts.crash ? 1 : 0) | (opts.live ? 2 : 0) | (opts.reset ? 8 : 0) | (opts.memoryOnly ? 16 : 0)
  await conn.call(P.DOMAIN_CORE_DUMP_WITH_FORMAT, {dom, to, dumpformat: DUMP_FORMATS.indexOf(opts.format ?? 'raw'), flags})
}
