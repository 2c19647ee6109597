/**
 * Migration over the REMOTE program: the destination daemon as the source daemon of a
 * peer-to-peer migration sees it (prepare, finish), and what `vctl domain migrate` / `vctl domain
 * job` call (perform with PEER2PEER, job stats, abort).
 */
import {VirError, ErrorCode, ErrorDomain} from '../errors.js'
import {remote, type DomainHandle} from '../rpc/programs/remote.js'
import type {TypedParam} from '../rpc/codec.js'
import {MigrateFlags, MigrateParam, ParamType, type JobStats, type MigrationParam, type MigrationPeer} from '../drivers/migration-types.js'
import {uuidToString} from '../uuid.js'
import {Connection} from './connection.js'
import {openStream} from '../rpc/stream-client.js'

const P = remote.procs

/** A driver-side parameter as the wire carries it (the type tag decides the value's XDR type). */
export function toWireParam(p: MigrationParam): TypedParam {
  const {field, value} = p
  switch (p.type) {
    case 1:
    case 2:
    case 5:
      return {field, type: p.type, value: Number(value)}
    case 3:
    case 4:
      return {field, type: p.type, value: typeof value === 'bigint' ? value : BigInt(Number(value))}
    case 6:
      return {field, type: 6, value: Boolean(value)}
    default:
      return {field, type: 7, value: String(value)}
  }
}

/** virDrvFeature numbers the source needs from the destination. */
const FEATURE_V3 = 6
const FEATURE_PARAMS = 13

export interface ClosablePeer extends MigrationPeer {
  close(): Promise<void>
}

/** Opens the destination of a peer-to-peer migration, with libvirt's error when it cannot be reached. */
export async function openMigrationPeer(uri: string): Promise<ClosablePeer> {
  let conn: Connection
  try {
    conn = await Connection.open(uri)
  } catch (err) {
    const detail = `Failed to connect to remote libvirt URI ${uri}: ${(err as Error).message}`
    throw new VirError(ErrorCode.OPERATION_FAILED, ErrorDomain.QEMU, `operation failed: ${detail}`, {str1: 'operation failed: %s', str2: detail})
  }
  for (const feature of [FEATURE_V3, FEATURE_PARAMS]) {
    if ((await conn.call(P.CONNECT_SUPPORTS_FEATURE, {feature})).supported !== 1) {
      await conn.close()
      const detail = 'Destination libvirt does not support peer-to-peer migration protocol'
      throw new VirError(ErrorCode.OPERATION_FAILED, ErrorDomain.QEMU, `operation failed: ${detail}`, {str1: 'operation failed: %s', str2: detail})
    }
  }
  return {
    uri,
    prepare: async (params, cookie, flags) => {
      const r = await conn.call(P.DOMAIN_MIGRATE_PREPARE3_PARAMS, {params: params.map(toWireParam), cookie_in: cookie, flags})
      return {cookie: r.cookie_out, uri: r.uri_out}
    },
    finish: async (params, cookie, flags, cancelled) => {
      const r = await conn.call(P.DOMAIN_MIGRATE_FINISH3_PARAMS, {
        params: params.map(toWireParam),
        cookie_in: cookie,
        flags,
        cancelled: cancelled ? 1 : 0,
      })
      return {dom: {name: r.dom.name, uuid: uuidToString(r.dom.uuid), id: r.dom.id}, cookie: r.cookie_out}
    },
    prepareTunnel: async (params, cookie, flags) => {
      const {stream, ret} = await openStream(conn.rpc, remote, P.DOMAIN_MIGRATE_PREPARE_TUNNEL3_PARAMS, {
        params: params.map(toWireParam),
        cookie_in: cookie,
        flags,
      })
      return {
        cookie: ret.cookie_out,
        sink: {write: (b) => stream.write(b), finish: () => stream.finish(), abort: () => void stream.abort().catch(() => undefined)},
      }
    },
    onLost: (fn) => {
      if (conn.rpc.isClosed) fn()
      else conn.rpc.once('close', fn)
    },
    close: () => conn.close(),
  }
}

/** virDomainMigrateToURI3 with PEER2PEER: the source daemon does the rest. */
export async function migratePeerToPeer(
  conn: Connection,
  dom: DomainHandle,
  destUri: string,
  params: MigrationParam[],
  flags: number,
): Promise<void> {
  await conn.call(P.DOMAIN_MIGRATE_PERFORM3_PARAMS, {dom, dconnuri: destUri, params: params.map(toWireParam), cookie_in: Buffer.alloc(0), flags})
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

export function migrateParams(o: {bandwidth?: number; uri?: string}): MigrationParam[] {
  const out: MigrationParam[] = []
  if (o.bandwidth !== undefined) out.push({field: MigrateParam.BANDWIDTH, type: ParamType.ULLONG, value: BigInt(o.bandwidth)})
  if (o.uri !== undefined) out.push({field: MigrateParam.URI, type: ParamType.STRING, value: o.uri})
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
