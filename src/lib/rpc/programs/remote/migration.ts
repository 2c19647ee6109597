/**
 * The REMOTE procedures of migration (protocol version 3 with typed parameters) and of the jobs a
 * migration runs as (job info and stats, abort, speed and downtime limits), in procedure-number order.
 */
import * as t from '../../codec.js'
import {proc} from '../../program.js'
import {dom, domFlags, domainHandle} from './types.js'

/** REMOTE_MIGRATE_COOKIE_MAX, REMOTE_DOMAIN_MIGRATE_PARAM_LIST_MAX. */
const COOKIE_MAX = 4194304
const PARAM_MAX = 64

const params = t.typedParams(PARAM_MAX)
const cookie = t.opaque(COOKIE_MAX)
const cookieOut = t.struct({cookie_out: cookie})
const u64 = t.uhyper

export const migrationProcs = {
  DOMAIN_ABORT_JOB: proc(164, dom, t.voidType),
  DOMAIN_MIGRATE_SET_MAX_DOWNTIME: proc(166, t.struct({dom: domainHandle, downtime: u64, flags: t.uint}), t.voidType),
  DOMAIN_MIGRATE_SET_MAX_SPEED: proc(207, t.struct({dom: domainHandle, bandwidth: u64, flags: t.uint}), t.voidType),
  DOMAIN_MIGRATE_GET_MAX_SPEED: proc(242, domFlags, t.struct({bandwidth: u64})),
  DOMAIN_MIGRATE_BEGIN3_PARAMS: proc(302, t.struct({dom: domainHandle, params, flags: t.uint}), t.struct({cookie_out: cookie, xml: t.nonnullString})),
  DOMAIN_MIGRATE_PREPARE3_PARAMS: proc(
    303,
    t.struct({params, cookie_in: cookie, flags: t.uint}),
    t.struct({cookie_out: cookie, uri_out: t.optString}),
  ),
  DOMAIN_MIGRATE_PREPARE_TUNNEL3_PARAMS: proc(304, t.struct({params, cookie_in: cookie, flags: t.uint}), cookieOut),
  DOMAIN_MIGRATE_PERFORM3_PARAMS: proc(
    305,
    t.struct({dom: domainHandle, dconnuri: t.optString, params, cookie_in: cookie, flags: t.uint}),
    cookieOut,
  ),
  DOMAIN_MIGRATE_FINISH3_PARAMS: proc(
    306,
    t.struct({params, cookie_in: cookie, flags: t.uint, cancelled: t.int}),
    t.struct({dom: domainHandle, cookie_out: cookie}),
  ),
  DOMAIN_MIGRATE_CONFIRM3_PARAMS: proc(307, t.struct({dom: domainHandle, params, cookie_in: cookie, flags: t.uint, cancelled: t.int}), t.voidType),
  DOMAIN_MIGRATE_START_POST_COPY: proc(364, domFlags, t.voidType),
  DOMAIN_MIGRATE_GET_MAX_DOWNTIME: proc(387, domFlags, t.struct({downtime: u64}), {ro: true}),
}
