/**
 * Guest statistics and guest control of a hypervisor driver (domblkstat, dommemstat, domblkinfo,
 * domjobinfo, domstats groups, send-key, inject-nmi, dump, domcontrol, domhostname, domtime):
 * the `guest` field of HypervisorDriver. Objects are addressed by UUID.
 */
import type {DomainRef, DomainStats} from './types.js'

/** One typed parameter, as DomainStats carries them. */
export type StatParam = DomainStats['params'][number]

/** virDomainBlockStatsStruct; -1 where the hypervisor does not know a value. */
export interface BlockStats {
  rd_req: bigint
  rd_bytes: bigint
  wr_req: bigint
  wr_bytes: bigint
  errs: bigint
}

export interface BlockInfo {
  allocation: bigint
  capacity: bigint
  physical: bigint
}

/** virDomainMemoryStatTags. */
export const MemoryStatTag = {
  SWAP_IN: 0,
  SWAP_OUT: 1,
  MAJOR_FAULT: 2,
  MINOR_FAULT: 3,
  UNUSED: 4,
  AVAILABLE: 5,
  ACTUAL_BALLOON: 6,
  RSS: 7,
  USABLE: 8,
  LAST_UPDATE: 9,
  DISK_CACHES: 10,
  HUGETLB_PGALLOC: 11,
  HUGETLB_PGFAIL: 12,
} as const

export interface MemoryStat {
  tag: number
  val: bigint
}

/** virDomainJobType. */
export const JobType = {NONE: 0, BOUNDED: 1, UNBOUNDED: 2, COMPLETED: 3, FAILED: 4, CANCELLED: 5} as const

/** virDomainJobInfo (times in ms, sizes in bytes). */
export interface JobInfo {
  type: number
  timeElapsed: bigint
  timeRemaining: bigint
  dataTotal: bigint
  dataProcessed: bigint
  dataRemaining: bigint
  memTotal: bigint
  memProcessed: bigint
  memRemaining: bigint
  fileTotal: bigint
  fileProcessed: bigint
  fileRemaining: bigint
}

/** virDomainGetJobStats flags. */
export const JobStatsFlags = {COMPLETED: 1, KEEP_COMPLETED: 2} as const

/** virDomainControlInfo. */
export interface ControlInfo {
  state: number
  details: number
  stateTime: bigint
}

/** virConnectGetAllDomainStats groups (virDomainStatsTypes). */
export const StatsGroup = {
  STATE: 0x1,
  CPU_TOTAL: 0x2,
  BALLOON: 0x4,
  VCPU: 0x8,
  INTERFACE: 0x10,
  BLOCK: 0x20,
  PERF: 0x40,
  IOTHREAD: 0x80,
  MEMORY: 0x100,
  DIRTYRATE: 0x200,
  VM: 0x400,
} as const

/** virConnectGetAllDomainStatsFlags beyond the list filters. */
export const StatsFlags = {NOWAIT: 0x20000000, BACKING: 0x40000000, ENFORCE_STATS: 0x80000000} as const

export interface GuestStatsDriver {
  blockStats(uuid: string, path: string): BlockStats | Promise<BlockStats>
  /** virDomainBlockStatsFlags; absent: the driver has only blockStats (libvirt's test driver). */
  blockStatsFlags?(uuid: string, path: string, flags: number): StatParam[] | Promise<StatParam[]>
  memoryStats(uuid: string, maxStats: number, flags: number): MemoryStat[] | Promise<MemoryStat[]>
  blockInfo(uuid: string, path: string, flags: number): BlockInfo | Promise<BlockInfo>
  jobInfo?(uuid: string): JobInfo
  jobStats?(uuid: string, flags: number): {type: number; params: StatParam[]}
  controlInfo(uuid: string, flags: number): ControlInfo
  sendKey(uuid: string, codeset: number, holdtime: number, keycodes: number[], flags: number): void | Promise<void>
  injectNmi(uuid: string, flags: number): void | Promise<void>
  /** virDomainCoreDumpWithFormat (virDomainCoreDump is format 0, raw). */
  coreDump(uuid: string, to: string, format: number, flags: number): void | Promise<void>
  getHostname(uuid: string, flags: number): string | Promise<string>
  getTime(uuid: string, flags: number): {seconds: bigint; nseconds: number} | Promise<{seconds: bigint; nseconds: number}>
  setTime(uuid: string, seconds: bigint, nseconds: number, flags: number): void | Promise<void>
  /** virConnectGetAllDomainStats with its `stats` groups (0: every group the driver has). */
  allDomainStats(refs: DomainRef[] | null, stats: number, flags: number): DomainStats[] | Promise<DomainStats[]>
}
