/**
 * Host facts a hypervisor driver may answer (libvirt's connectGetSysinfo, nodeGetCPUStats,
 * nodeGetCellsFreeMemory, connectGetCPUModelNames, nodeGet/SetMemoryParameters, CPU baseline and
 * comparison). Each is optional: a driver without it answers libvirt's "not supported" error.
 */
import {ErrorCode, VirError} from '../errors.js'

/** One typed parameter (virTypedParameter), for the node memory parameters. */
export type HostTypedParam = {field: string; type: 2; value: number} | {field: string; type: 4; value: bigint}

/** A typed parameter as a client sent it (any virTypedParameterType). */
export interface AnyTypedParam {
  field: string
  type: number
  value: number | bigint | string | boolean
}

export interface NodeCpuStat {
  field: string
  value: bigint
}

/** Which hypervisor the hypervisor CPU APIs ask about (each null: the driver's default). */
export interface HypervisorCpuArgs {
  emulator: string | null
  arch: string | null
  machine: string | null
  virttype: string | null
}

export interface HostFactsDriver {
  getSysinfo?(flags: number): string
  /** virNodeGetCPUStats: with nparams 0, only how many there are. */
  nodeCpuStats?(cpuNum: number, nparams: number, flags: number): {params: NodeCpuStat[]; nparams: number}
  /** Free memory of each cell from startCell, at most maxCells, in bytes. */
  nodeCellsFreeMemory?(startCell: number, maxCells: number): bigint[]
  cpuModelNames?(arch: string, flags: number): string[]
  nodeMemoryParameters?(nparams: number, flags: number): {params: HostTypedParam[]; nparams: number}
  setNodeMemoryParameters?(params: AnyTypedParam[], flags: number): void
  baselineCpu?(xmlCpus: string[], flags: number): string
  compareCpu?(xml: string, flags: number): number
  /** The hypervisor-aware variants (virConnectBaselineHypervisorCPU, virConnectCompareHypervisorCPU). */
  hypervisorBaselineCpu?(hv: HypervisorCpuArgs, xmlCpus: string[], flags: number): string
  hypervisorCompareCpu?(hv: HypervisorCpuArgs, xml: string, flags: number): number
}

/** libvirt's virCheckFlags error: VIR_ERR_INVALID_ARG, no "invalid argument" prefix, str1 the function, str2 "flags". */
export function flagsError(domain: number, flags: number, fn: string): VirError {
  return new VirError(ErrorCode.INVALID_ARG, domain, `unsupported flags (0x${(flags >>> 0).toString(16)}) in function ${fn}`, {
    str1: fn,
    str2: 'flags',
  })
}

/** Throws libvirt's virCheckFlags error for any bit of `flags` outside `allowed`. */
export function checkFlags(flags: number, allowed: number, fn: string, domain: number): void {
  const bad = (flags & ~allowed) >>> 0
  if (bad) throw flagsError(domain, bad, fn)
}
