/**
 * Migration over the REMOTE program: the destination daemon as the source daemon of a
 * peer-to-peer migration sees it (prepare, finish), and what `vctl domain migrate` / `vctl domain
 * job` call (perform with PEER2PEER, job stats, abort).
 */
import {remote, type DomainHandle} from '../rpc/programs/remote.js'
import type {TypedParam} from '../rpc/codec.js'
import type {Connection} from './connection.js'

const P = remote.procs

/** virDomainMigrateFlags the CLI offers. */
const MigrateFlags = {
  LIVE: 1,
  PEER2PEER: 2,
  TUNNELLED: 4,
  PERSIST_DEST: 8,
  UNDEFINE_SOURCE: 16,
  PAUSED: 32,
  NON_SHARED_DISK: 64,
  OFFLINE: 1024,
  COMPRESSED: 2048,
  AUTO_CONVERGE: 8192,
} as const

/** A job's statistics (virDomainGetJobStats): its type and typed parameters. */
export interface JobStats {
  type: number
  params: TypedParam[]
}

/** virDomainMigrateToURI3 with PEER2PEER: the source daemon does the rest. */
export async function migratePeerToPeer(conn: Connection, dom: DomainHandle, destUri: string, params: TypedParam[], flags: number): Promise<void> {
  await conn.call(P.DOMAIN_MIGRATE_PERFORM3_PARAMS, {dom, dconnuri: destUri, params, cookie_in: Buffer.alloc(0), flags})
}

export async function getJobStats(conn: Connection, dom: DomainHandle, flags = 0): Promise<JobStats> {
  const r = await conn.call(P.DOMAIN_GET_JOB_STATS, {dom, flags})
  return {type: r.type, params: r.params}
}

export async function abortJob(conn: Connection, dom: DomainHandle): Promise<void> {
  await conn.call(P.DOMAIN_ABORT_JOB, {dom})
}

export const JOB_TYPE_NAMES: Record<number, string> = {0: 'None', 1: 'Bounded', 2: 'Unbounded', 3: 'Completed', 4: 'Failed', 5: 'Cancelled'}

/** The CLI's migrate options -> virDomainMigrateFlags. */
export function migrateFlags(o: {
  live?: boolean
  p2p?: boolean
  offline?: boolean
  persistent?: boolean
  undefinesource?: boolean
  suspend?: boolean
  'auto-converge'?: boolean
  compressed?: boolean
  'copy-storage-all'?: boolean
  tunnelled?: boolean
}): number {
  const bits: Array<[boolean | undefined, number]> = [
    [o.live, MigrateFlags.LIVE],
    [o.p2p, MigrateFlags.PEER2PEER],
    [o.tunnelled, MigrateFlags.TUNNELLED],
    [o.persistent, MigrateFlags.PERSIST_DEST],
    [o.undefinesource, MigrateFlags.UNDEFINE_SOURCE],
    [o.suspend, MigrateFlags.PAUSED],
    [o['copy-storage-all'], MigrateFlags.NON_SHARED_DISK],
    [o.offline, MigrateFlags.OFFLINE],
    [o.compressed, MigrateFlags.COMPRESSED],
    [o['auto-converge'], MigrateFlags.AUTO_CONVERGE],
  ]
  return bits.reduce((f, [on, bit]) => (on ? f | bit : f), 0)
}

export function migrateParams(o: {bandwidth?: number; uri?: string}): TypedParam[] {
  const out: TypedParam[] = []
  if (o.bandwidth !== undefined) out.push({field: 'bandwidth', type: 4, value: BigInt(o.bandwidth)})
  if (o.uri !== undefined) out.push({field: 'migrate_uri', type: 7, value: o.uri})
  return out
}

/** A job's statistics by field name (numbers where they fit). */
export function jobRecord(s: JobStats): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {type: JOB_TYPE_NAMES[s.type] ?? s.type}
  for (const p of s.params) out[p.field] = typeof p.value === 'bigint' ? Number(p.value) : p.value
  return out
}

const mib = (n: number): string => `${(n / 1048576).toFixed(1)} MiB`

/** One progress line: processed, remaining, rate. */
export function describeJob(s: JobStats): string | undefined {
  if (s.type !== 2) return undefined
  const r = jobRecord(s)
  const num = (k: string): number => (typeof r[k] === 'number' ? r[k] : 0)
  return `${mib(num('data_processed'))} sent, ${mib(num('data_remaining'))} remaining of ${mib(num('data_total'))} at ${mib(num('memory_bps'))}/s`
}
