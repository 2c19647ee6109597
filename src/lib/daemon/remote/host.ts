/** The REMOTE handlers of host facts (sysinfo, CPU stats, cells' free memory, CPU models, KSM parameters, baseline). */
import {ErrorDomain, VirError, errors} from '../../errors.js'
import type {HypervisorDriver} from '../../drivers/types.js'
import {P, hv, type On} from './context.js'
import type {RpcConnection} from '../../rpc/server.js'

/** REMOTE_NODE_CPU_STATS_MAX, REMOTE_NODE_MAX_CELLS, REMOTE_NODE_MEMORY_PARAMETERS_MAX, REMOTE_CONNECT_CPU_MODELS_MAX */
const CPU_STATS_MAX = 16
const MAX_CELLS = 1024
const MEMORY_PARAMETERS_MAX = 64
const CPU_MODELS_MAX = 8192

/** The driver's method, or libvirt's "not supported" error naming the public API. */
function need<K extends keyof HypervisorDriver>(conn: RpcConnection, key: K, api: string): NonNullable<HypervisorDriver[K]> {
  const drv = hv(conn)
  const fn = drv[key]
  if (typeof fn !== 'function') throw errors.noSupport(ErrorDomain.DOMAIN, api)
  return fn.bind(drv) as NonNullable<HypervisorDriver[K]>
}

export function registerHost(on: On): void {
  on(P.NODE_GET_CELLS_FREE_MEMORY, (conn, {startCell, maxcells}) => {
    if (maxcells > MAX_CELLS) throw errors.internal(ErrorDomain.RPC, 'maxCells > REMOTE_NODE_MAX_CELLS')
    if (startCell < 0) throw errors.invalidArg(ErrorDomain.DOMAIN, 'startCell in virNodeGetCellsFreeMemory must be greater than or equal to zero')
    if (maxcells <= 0) throw errors.invalidArg(ErrorDomain.DOMAIN, 'maxCells in virNodeGetCellsFreeMemory must be greater than zero')
    return {cells: need(conn, 'nodeCellsFreeMemory', 'virNodeGetCellsFreeMemory')(startCell, maxcells)}
  })
  on(P.CONNECT_COMPARE_CPU, (conn, {xml, flags}) => ({result: need(conn, 'compareCpu', 'virConnectCompareCPU')(xml, flags)}))
  on(P.CONNECT_BASELINE_CPU, (conn, {xmlCPUs, flags}) => ({cpu: need(conn, 'baselineCpu', 'virConnectBaselineCPU')(xmlCPUs, flags)}))
  on(P.CONNECT_GET_SYSINFO, (conn, {flags}) => ({sysinfo: need(conn, 'getSysinfo', 'virConnectGetSysinfo')(flags)}))
  on(P.NODE_GET_CPU_STATS, (conn, {cpuNum, nparams, flags}) => {
    if (nparams > CPU_STATS_MAX) throw errors.internal(ErrorDomain.RPC, 'nparams too large')
    if (nparams < 0) throw errors.invalidArg(ErrorDomain.DOMAIN, 'nparams in virNodeGetCPUStats must be non-negative')
    if (cpuNum < -1) throw errors.invalidArg(ErrorDomain.DOMAIN, 'cpuNum in virNodeGetCPUStats only accepts -1 as a negative value')
    return need(conn, 'nodeCpuStats', 'virNodeGetCPUStats')(cpuNum, nparams, flags)
  })
  on(P.NODE_SET_MEMORY_PARAMETERS, (conn, {params, flags}) => {
    need(conn, 'setNodeMemoryParameters', 'virNodeSetMemoryParameters')(params, flags)
  })
  on(P.NODE_GET_MEMORY_PARAMETERS, (conn, {nparams, flags}) => {
    if (nparams > MEMORY_PARAMETERS_MAX) throw errors.internal(ErrorDomain.RPC, 'nparams too large')
    return need(conn, 'nodeMemoryParameters', 'virNodeGetMemoryParameters')(nparams, flags)
  })
  on(P.CONNECT_GET_CPU_MODEL_NAMES, (conn, {arch, need_results, flags}) => {
    const models = need(conn, 'cpuModelNames', 'virConnectGetCPUModelNames')(arch, flags)
    if (models.length > CPU_MODELS_MAX) throw errors.internal(ErrorDomain.RPC, 'Too many CPU models')
    // need_results is a yes/no: the client wants the names, not just how many.
    return {models: need_results ? models : [], ret: models.length}
  })
  on(P.NODE_SUSPEND_FOR_DURATION, (conn, {target, duration, flags}) => {
    need(conn, 'nodeSuspendForDuration', 'virNodeSuspendForDuration')(target, duration, flags)
  })
  on(P.NODE_GET_FREE_PAGES, (conn, {pages, startCell, cellCount, flags}) => {
    const counts = need(conn, 'nodeFreePages', 'virNodeGetFreePages')(pages, startCell, cellCount, flags)
    if (counts.length > MAX_CELLS) throw errors.internal(ErrorDomain.RPC, `Too many NUMA cells: ${counts.length} > ${MAX_CELLS}`)
    return {counts}
  })
  on(P.NODE_ALLOC_PAGES, (conn, {pageSizes, pageCounts, startCell, cellCount, flags}) => ({
    ret: need(conn, 'nodeAllocPages', 'virNodeAllocPages')(pageSizes, pageCounts, startCell, cellCount, flags),
  }))
  on(P.CONNECT_COMPARE_HYPERVISOR_CPU, (conn, {emulator, arch, machine, virttype, xmlCPU, flags}) => ({
    result: need(conn, 'hypervisorCompareCpu', 'virConnectCompareHypervisorCPU')({emulator, arch, machine, virttype}, xmlCPU, flags),
  }))
  on(P.CONNECT_BASELINE_HYPERVISOR_CPU, (conn, {emulator, arch, machine, virttype, xmlCPUs, flags}) => {
    if (xmlCPUs.length === 0)
      throw new VirError(8, ErrorDomain.DOMAIN, 'invalid argument: nCpus in virConnectBaselineHypervisorCPU must be greater than 0')
    return {cpu: need(conn, 'hypervisorBaselineCpu', 'virConnectBaselineHypervisorCPU')({emulator, arch, machine, virttype}, xmlCPUs, flags)}
  })
}
