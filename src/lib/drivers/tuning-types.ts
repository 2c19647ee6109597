/**
 * A hypervisor driver's memory, vCPU, tuning and metadata API (setmem, setvcpus, vcpuinfo, vcpupin,
 * emulatorpin, schedinfo, blkiotune, memtune, numatune, desc, metadata), as libvirt's driver table
 * has it. CPU sets travel as sorted lists of host CPU numbers; the daemon converts them to and from
 * libvirt's cpumap bytes.
 */
import type {DomainRef} from './types.js'

/** virDomainModificationImpact. */
export const Affect = {CURRENT: 0, LIVE: 1, CONFIG: 2} as const
/** virDomainMemoryModFlags: MAXIMUM besides the Affect bits. */
export const MEM_MAXIMUM = 4
/** virDomainVcpuFlags besides the Affect bits. */
export const VcpuFlag = {MAXIMUM: 4, GUEST: 8, HOTPLUGGABLE: 16} as const
/** VIR_TYPED_PARAM_STRING_OKAY: the caller takes string parameters. */
export const TYPED_PARAM_STRING_OKAY = 4
/** virDomainMetadataType. */
export const MetadataType = {DESCRIPTION: 0, TITLE: 1, ELEMENT: 2} as const

export type TunableType = 'int' | 'uint' | 'llong' | 'ullong' | 'double' | 'boolean' | 'string'
/** One typed parameter (virTypedParameter) of a tuning call. */
export interface TunableParam {
  field: string
  type: TunableType
  value: number | bigint | string | boolean
}

/** virVcpuInfo; state 1 is VIR_VCPU_RUNNING. */
export interface VcpuInfo {
  number: number
  state: number
  cpuTimeNs: bigint
  /** Host CPU it last ran on (-1 unknown). */
  cpu: number
}

/** Events the tuning calls emit on the driver's emitter under 'domain-tuning'. */
export type TuningEventMsg =
  {kind: 'tunable'; dom: DomainRef; params: TunableParam[]} | {kind: 'metadata-change'; dom: DomainRef; type: number; nsuri: string | null}
export const TUNING_EVENT = 'domain-tuning'

type R<T> = T | Promise<T>

export interface TuningApi {
  /** virDomainSetMemoryFlags (MEM_MAXIMUM for setmaxmem); kib in KiB. */
  setMemoryFlags(uuid: string, kib: bigint, flags: number): R<void>
  setVcpusFlags(uuid: string, nvcpus: number, flags: number): R<void>
  getVcpusFlags(uuid: string, flags: number): R<number>
  /** virDomainGetVcpus: each vCPU's info and affinity (host CPU lists). */
  getVcpus(uuid: string): R<{info: VcpuInfo[]; affinity: number[][]}>
  pinVcpuFlags(uuid: string, vcpu: number, cpus: number[], flags: number): R<void>
  /** virDomainGetVcpuPinInfo: one host CPU list per vCPU. */
  getVcpuPinInfo(uuid: string, flags: number): R<number[][]>
  pinEmulator(uuid: string, cpus: number[], flags: number): R<void>
  /** The emulator's affinity, null when there is none to report. */
  getEmulatorPinInfo(uuid: string, flags: number): R<number[] | null>
  /** virNodeGetCPUMap: how many CPUs the host has and which are online. */
  nodeCpuMap(): {present: number; online: number[]}
  getSchedulerType(uuid: string): R<{type: string; nparams: number}>
  getSchedulerParameters(uuid: string, flags: number): R<TunableParam[]>
  setSchedulerParameters(uuid: string, params: TunableParam[], flags: number): R<void>
  getMemoryParameters(uuid: string, flags: number): R<TunableParam[]>
  setMemoryParameters(uuid: string, params: TunableParam[], flags: number): R<void>
  getBlkioParameters(uuid: string, flags: number): R<TunableParam[]>
  setBlkioParameters(uuid: string, params: TunableParam[], flags: number): R<void>
  getNumaParameters(uuid: string, flags: number): R<TunableParam[]>
  setNumaParameters(uuid: string, params: TunableParam[], flags: number): R<void>
  setMetadata(uuid: string, type: number, metadata: string | null, key: string | null, uri: string | null, flags: number): R<void>
  getMetadata(uuid: string, type: number, uri: string | null, flags: number): string
}

export interface TuningDriver {
  /** Memory, vCPUs, tuning and metadata, where the driver has them. */
  readonly tuning?: TuningApi
}
