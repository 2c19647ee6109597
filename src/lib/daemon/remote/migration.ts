/**
 * The REMOTE handlers of migration and migration jobs: procedure -> the hypervisor's
 * MigrationDriver. A peer-to-peer perform opens the client connection to the destination here
 * (the driver gets it as a MigrationPeer) and closes it when the migration is over.
 */
import {ErrorCode, ErrorDomain, VirError} from '../../errors.js'
import type {RpcConnection} from '../../rpc/server.js'
import type {EventEmitter} from 'node:events'
import {
  MIGRATION_ITERATION_EVENT,
  MigrateFlags,
  type JobStats,
  type MigrationDriver,
  type MigrationIterationMsg,
} from '../../drivers/migration-types.js'
import {openMigrationPeer, toWireParam} from './migration-peer.js'
import {P, hv, st, toDom, u, type On} from './context.js'
import {openServerStream} from '../../rpc/stream.js'
import {remote} from '../../rpc/programs/remote.js'

/** VIR_DOMAIN_EVENT_ID_MIGRATION_ITERATION. */
const DOMAIN_EVENT_ID_MIGRATION_ITERATION = 20

/** Delivers the hypervisor's migration iteration events to this connection's callbacks; returns the function that stops. */
export function subscribeMigrationEvents(conn: RpcConnection, source: EventEmitter): () => void {
  const listener = (m: MigrationIterationMsg) => {
    for (const [id, cb] of st(conn).callbacks) {
      if (cb.kind !== 'domain' || cb.eventID !== DOMAIN_EVENT_ID_MIGRATION_ITERATION || (cb.uuid && cb.uuid !== m.dom.uuid)) continue
      conn.sendEvent(remote, remote.events.DOMAIN_EVENT_CALLBACK_MIGRATION_ITERATION, {callbackID: id, dom: toDom(m.dom), iteration: m.iteration})
    }
  }
  source.on(MIGRATION_ITERATION_EVENT, listener)
  return () => source.off(MIGRATION_ITERATION_EVENT, listener)
}

function migDrv(conn: RpcConnection): MigrationDriver {
  const m = hv(conn).migration
  if (!m) {
    throw new VirError(ErrorCode.NO_SUPPORT, ErrorDomain.NONE, 'this function is not supported by the connection driver: migration', {
      str1: 'this function is not supported by the connection driver: %s',
      str2: 'migration',
    })
  }
  return m
}

const wireStats = (s: JobStats) => ({type: s.type, params: s.params.map(toWireParam)})

function num(s: JobStats, field: string): bigint {
  const v = s.params.find((p) => p.field === field)?.value
  return typeof v === 'bigint' ? v : typeof v === 'number' ? BigInt(v) : 0n
}

/**
 * The migration job of a domain, for domjobinfo / domjobstats (whose handlers are in stats.ts, with
 * the other jobs): undefined when the driver has no migration or no such job.
 */
export function migrationJob(conn: RpcConnection, uuid: string, flags: number): JobStats | undefined {
  const s = hv(conn).migration?.getJobStats(uuid, flags)
  return s && s.type !== 0 ? s : undefined
}

export const migrationJobStats = wireStats

/** A migration job as the old virDomainGetJobInfo struct. */
export function migrationJobInfo(s: JobStats) {
  return {
    type: s.type,
    timeElapsed: num(s, 'time_elapsed'),
    timeRemaining: num(s, 'time_remaining'),
    dataTotal: num(s, 'data_total'),
    dataProcessed: num(s, 'data_processed'),
    dataRemaining: num(s, 'data_remaining'),
    memTotal: num(s, 'memory_total'),
    memProcessed: num(s, 'memory_processed'),
    memRemaining: num(s, 'memory_remaining'),
    fileTotal: num(s, 'disk_total'),
    fileProcessed: num(s, 'disk_processed'),
    fileRemaining: num(s, 'disk_remaining'),
  }
}

export function registerMigration(on: On): void {
  on(P.DOMAIN_ABORT_JOB, (conn, {dom}) => migDrv(conn).abortJob(u(dom)))
  on(P.DOMAIN_MIGRATE_SET_MAX_DOWNTIME, (conn, {dom, downtime, flags}) => migDrv(conn).setMaxDowntime(u(dom), downtime, flags))
  on(P.DOMAIN_MIGRATE_SET_MAX_SPEED, (conn, {dom, bandwidth, flags}) => migDrv(conn).setMaxSpeed(u(dom), bandwidth, flags))
  on(P.DOMAIN_MIGRATE_GET_MAX_SPEED, (conn, {dom, flags}) => ({bandwidth: migDrv(conn).getMaxSpeed(u(dom), flags)}))
  on(P.DOMAIN_MIGRATE_BEGIN3_PARAMS, async (conn, {dom, params, flags}) => {
    const r = await migDrv(conn).begin(u(dom), params, flags)
    return {cookie_out: r.cookie, xml: r.xml}
  })
  on(P.DOMAIN_MIGRATE_PREPARE3_PARAMS, async (conn, {params, cookie_in, flags}) => {
    const local = conn.socket.localAddress
    const r = await migDrv(conn).prepare(params, cookie_in, flags, {
      localAddress: typeof local === 'string' && local !== '' ? local : undefined,
      onClose: (fn) => conn.onClose(fn),
    })
    return {cookie_out: r.cookie, uri_out: r.uri}
  })
  on(P.DOMAIN_MIGRATE_PREPARE_TUNNEL3_PARAMS, async (conn, {params, cookie_in, flags}) => {
    const call = conn.currentCall
    const r = await migDrv(conn).prepareTunnel(params, cookie_in, flags, {onClose: (fn) => conn.onClose(fn)})
    const st = openServerStream(conn, {}, call)
    st.setConsumer({
      chunk: (c) => (Buffer.isBuffer(c) ? r.sink.write(c) : undefined),
      finish: () => r.sink.finish(),
      abort: () => r.sink.abort(),
    })
    return {cookie_out: r.cookie}
  })
  on(P.DOMAIN_MIGRATE_PERFORM3_PARAMS, async (conn, {dom, dconnuri, params, cookie_in, flags}) => {
    const drv = migDrv(conn)
    if (!(flags & MigrateFlags.PEER2PEER)) return {cookie_out: await drv.perform(u(dom), params, cookie_in, flags)}
    if (!dconnuri)
      throw new VirError(ErrorCode.INVALID_ARG, ErrorDomain.QEMU, 'invalid argument: dconnuri must not be NULL', {
        str1: 'invalid argument: %s',
        str2: 'dconnuri must not be NULL',
      })
    const peer = await openMigrationPeer(dconnuri)
    try {
      return {cookie_out: await drv.perform(u(dom), params, cookie_in, flags, peer)}
    } finally {
      await peer.close().catch(() => undefined)
    }
  })
  on(P.DOMAIN_MIGRATE_FINISH3_PARAMS, async (conn, {params, cookie_in, flags, cancelled}) => {
    const r = await migDrv(conn).finish(params, cookie_in, flags, cancelled !== 0)
    return {dom: toDom(r.dom), cookie_out: r.cookie}
  })
  on(P.DOMAIN_MIGRATE_CONFIRM3_PARAMS, (conn, {dom, params, cookie_in, flags, cancelled}) =>
    migDrv(conn).confirm(u(dom), params, cookie_in, flags, cancelled !== 0),
  )
  on(P.DOMAIN_MIGRATE_START_POST_COPY, (conn, {dom, flags}) => migDrv(conn).startPostCopy(u(dom), flags))
  on(P.DOMAIN_MIGRATE_GET_MAX_DOWNTIME, async (conn, {dom, flags}) => ({downtime: await migDrv(conn).getMaxDowntime(u(dom), flags)}))
}
