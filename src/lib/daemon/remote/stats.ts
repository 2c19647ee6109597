/**
 * The REMOTE handlers of guest statistics and guest control (domblkstat, dommemstat, domblkinfo,
 * domjobinfo, domstats, send-key, inject-nmi, dump, domcontrol, domhostname, domtime): the
 * connection's hypervisor driver's `guest` API, or libvirt's "not supported" error naming the call.
 */
import {ErrorDomain, errors} from '../../errors.js'
import type {DomainHandle} from '../../rpc/programs/remote.js'
import type {TypedParam} from '../../rpc/codec.js'
import type {DomainStats, HypervisorDriver} from '../../drivers/types.js'
import type {GuestStatsDriver} from '../../drivers/stats-types.js'
import type {RpcConnection} from '../../rpc/server.js'
import {paramToWire} from './typed-params.js'
import {P, hv, then, toDom, u, type On} from './context.js'
import {migrationJob, migrationJobInfo, migrationJobStats} from './migration.js'

function statsToWire(s: DomainStats): {dom: DomainHandle; params: TypedParam[]} {
  return {dom: toDom(s.ref), params: s.params.map(paramToWire)}
}

/** The driver's guest API, or libvirt's error for a driver without `api`. */
function guest(conn: RpcConnection, api: string): GuestStatsDriver {
  const g = hv(conn).guest
  if (!g) throw errors.noSupport(ErrorDomain.DOMAIN, api)
  return g
}

function allStats(h: HypervisorDriver, doms: DomainHandle[], stats: number, flags: number): DomainStats[] | Promise<DomainStats[]> {
  const refs = doms.length ? doms.map((d) => ({name: d.name, uuid: u(d), id: d.id})) : null
  return h.guest ? h.guest.allDomainStats(refs, stats, flags) : h.getStats(refs, flags)
}

export function registerStats(on: On): void {
  on(P.CONNECT_GET_ALL_DOMAIN_STATS, (conn, {doms, stats, flags}) =>
    then(allStats(hv(conn), doms, stats, flags), (list) => ({retStats: list.map(statsToWire)})),
  )
  on(P.DOMAIN_BLOCK_STATS, (conn, {dom, path}) => guest(conn, 'virDomainBlockStats').blockStats(u(dom), path))
  on(P.DOMAIN_BLOCK_STATS_FLAGS, (conn, {dom, path, nparams, flags}) => {
    const g = guest(conn, 'virDomainBlockStatsFlags')
    if (!g.blockStatsFlags) throw errors.noSupport(ErrorDomain.DOMAIN, 'virDomainBlockStatsFlags')
    return then(g.blockStatsFlags(u(dom), path, flags), (list) => {
      // nparams 0 asks how many there are (virsh asks first, then fetches that many).
      if (nparams === 0) return {params: [], nparams: list.length}
      const out = list.slice(0, Math.max(0, nparams)).map(paramToWire)
      return {params: out, nparams: out.length}
    })
  })
  on(P.DOMAIN_MEMORY_STATS, (conn, {dom, maxStats, flags}) =>
    then(guest(conn, 'virDomainMemoryStats').memoryStats(u(dom), maxStats, flags), (stats) => ({stats: stats.slice(0, maxStats)})),
  )
  on(P.DOMAIN_SET_MEMORY_STATS_PERIOD, async (conn, {dom, period, flags}) => {
    const drv = hv(conn)
    if (!drv.setMemoryStatsPeriod) throw errors.noSupport(ErrorDomain.DOMAIN, 'virDomainSetMemoryStatsPeriod')
    await drv.setMemoryStatsPeriod(u(dom), period, flags)
  })
  on(P.DOMAIN_GET_BLOCK_INFO, (conn, {dom, path, flags}) => guest(conn, 'virDomainGetBlockInfo').blockInfo(u(dom), path, flags))
  on(P.DOMAIN_GET_JOB_INFO, (conn, {dom}) => {
    const m = migrationJob(conn, u(dom), 0)
    if (m) return migrationJobInfo(m)
    const g = guest(conn, 'virDomainGetJobInfo')
    if (!g.jobInfo) throw errors.noSupport(ErrorDomain.DOMAIN, 'virDomainGetJobInfo')
    return g.jobInfo(u(dom))
  })
  on(P.DOMAIN_GET_JOB_STATS, (conn, {dom, flags}) => {
    const m = migrationJob(conn, u(dom), flags)
    if (m) return migrationJobStats(m)
    const g = guest(conn, 'virDomainGetJobStats')
    if (!g.jobStats) throw errors.noSupport(ErrorDomain.DOMAIN, 'virDomainGetJobStats')
    const r = g.jobStats(u(dom), flags)
    return {type: r.type, params: r.params.map(paramToWire)}
  })
  on(P.DOMAIN_GET_CONTROL_INFO, (conn, {dom, flags}) => guest(conn, 'virDomainGetControlInfo').controlInfo(u(dom), flags))
  on(P.DOMAIN_SEND_KEY, (conn, {dom, codeset, holdtime, keycodes, flags}) =>
    guest(conn, 'virDomainSendKey').sendKey(u(dom), codeset, holdtime, keycodes, flags),
  )
  on(P.DOMAIN_INJECT_NMI, (conn, {dom, flags}) => guest(conn, 'virDomainInjectNMI').injectNmi(u(dom), flags))
  on(P.DOMAIN_CORE_DUMP, (conn, {dom, to, flags}) => guest(conn, 'virDomainCoreDump').coreDump(u(dom), to, 0, flags))
  on(P.DOMAIN_CORE_DUMP_WITH_FORMAT, (conn, {dom, to, dumpformat, flags}) =>
    guest(conn, 'virDomainCoreDumpWithFormat').coreDump(u(dom), to, dumpformat, flags),
  )
  on(P.DOMAIN_GET_HOSTNAME, (conn, {dom, flags}) => then(guest(conn, 'virDomainGetHostname').getHostname(u(dom), flags), (hostname) => ({hostname})))
  on(P.DOMAIN_GET_TIME, (conn, {dom, flags}) => guest(conn, 'virDomainGetTime').getTime(u(dom), flags))
  on(P.DOMAIN_SET_TIME, (conn, {dom, seconds, nseconds, flags}) => guest(conn, 'virDomainSetTime').setTime(u(dom), seconds, nseconds, flags))
}
