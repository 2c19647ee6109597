/**
 * The destination daemon as the source daemon of a peer-to-peer migration talks to it (the
 * driver's MigrationPeer): a client connection (src/lib/client) carrying PREPARE3 / PREPARE_TUNNEL3
 * (with its RPC stream) / FINISH3 with typed parameters.
 */
import {VirError, ErrorCode, ErrorDomain} from '../../errors.js'
import {remote} from '../../rpc/programs/remote.js'
import type {TypedParam} from '../../rpc/codec.js'
import {openStream} from '../../rpc/stream-client.js'
import type {MigrationParam, MigrationPeer} from '../../drivers/migration-types.js'
import {uuidToString} from '../../uuid.js'
import {Connection} from '../../client/connection.js'

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
