/**
 * The REMOTE procedures of guest statistics and guest control (domblkstat, dommemstat, domblkinfo,
 * domjobinfo, send-key, inject-nmi, dump, domcontrol, domhostname, domtime), in procedure-number order.
 * Layouts from libvirt 9.0's remote_protocol.x.
 */
import * as t from '../../codec.js'
import {proc} from '../../program.js'
import {dom, domFlags, domainHandle, s} from './types.js'

const MEMORY_STATS_MAX = 1024
const BLOCK_STATS_PARAMETERS_MAX = 16
const SEND_KEY_MAX = 16
const JOB_STATS_MAX = 64

const pathArg = t.struct({dom: domainHandle, path: s})

export const domainStatsProcs = {
  DOMAIN_CORE_DUMP: proc(53, t.struct({dom: domainHandle, to: s, flags: t.uint}), t.voidType),
  DOMAIN_BLOCK_STATS: proc(64, pathArg, t.struct({rd_req: t.hyper, rd_bytes: t.hyper, wr_req: t.hyper, wr_bytes: t.hyper, errs: t.hyper}), {
    ro: true,
  }),
  DOMAIN_MEMORY_STATS: proc(
    159,
    t.struct({dom: domainHandle, maxStats: t.uint, flags: t.uint}),
    t.struct({stats: t.array(t.struct({tag: t.int, val: t.uhyper}), MEMORY_STATS_MAX)}),
    {ro: true},
  ),
  DOMAIN_GET_JOB_INFO: proc(
    163,
    dom,
    t.struct({
      type: t.int,
      timeElapsed: t.uhyper,
      timeRemaining: t.uhyper,
      dataTotal: t.uhyper,
      dataProcessed: t.uhyper,
      dataRemaining: t.uhyper,
      memTotal: t.uhyper,
      memProcessed: t.uhyper,
      memRemaining: t.uhyper,
      fileTotal: t.uhyper,
      fileProcessed: t.uhyper,
      fileRemaining: t.uhyper,
    }),
    {ro: true},
  ),
  DOMAIN_GET_BLOCK_INFO: proc(
    194,
    t.struct({dom: domainHandle, path: s, flags: t.uint}),
    t.struct({allocation: t.uhyper, capacity: t.uhyper, physical: t.uhyper}),
    {ro: true},
  ),
  DOMAIN_INJECT_NMI: proc(210, domFlags, t.voidType),
  DOMAIN_SEND_KEY: proc(
    226,
    t.struct({dom: domainHandle, codeset: t.uint, holdtime: t.uint, keycodes: t.array(t.uint, SEND_KEY_MAX), flags: t.uint}),
    t.voidType,
  ),
  DOMAIN_GET_CONTROL_INFO: proc(229, domFlags, t.struct({state: t.uint, details: t.uint, stateTime: t.uhyper}), {ro: true}),
  DOMAIN_BLOCK_STATS_FLAGS: proc(
    243,
    t.struct({dom: domainHandle, path: s, nparams: t.int, flags: t.uint}),
    t.struct({params: t.typedParams(BLOCK_STATS_PARAMETERS_MAX), nparams: t.int}),
    {ro: true},
  ),
  DOMAIN_GET_HOSTNAME: proc(277, domFlags, t.struct({hostname: s})),
  DOMAIN_GET_JOB_STATS: proc(298, domFlags, t.struct({type: t.int, params: t.typedParams(JOB_STATS_MAX)}), {ro: true}),
  DOMAIN_SET_MEMORY_STATS_PERIOD: proc(308, t.struct({dom: domainHandle, period: t.int, flags: t.uint}), t.voidType),
  DOMAIN_CORE_DUMP_WITH_FORMAT: proc(334, t.struct({dom: domainHandle, to: s, dumpformat: t.uint, flags: t.uint}), t.voidType),
  DOMAIN_GET_TIME: proc(337, domFlags, t.struct({seconds: t.hyper, nseconds: t.uint})),
  DOMAIN_SET_TIME: proc(338, t.struct({dom: domainHandle, seconds: t.hyper, nseconds: t.uint, flags: t.uint}), t.voidType),
}
