/**
 * The QEMU driver's guest statistics and guest control (GuestStatsDriver): a table over the files
 * of each concern (blockstats, memstats, jobinfo, send-key, dump, agent, stats).
 */
import type {BlockInfo, BlockStats, ControlInfo, GuestStatsDriver, JobInfo, MemoryStat, StatParam} from '../stats-types.js'
import type {DomainRef, DomainStats} from '../types.js'
import * as agent from './agent.js'
import * as block from './blockstats.js'
import type {QemuContext, QemuDomain} from './context.js'
import {coreDump} from './dump.js'
import * as jobs from './jobinfo.js'
import {memoryStats} from './memstats.js'
import {injectNmi, sendKey} from './send-key.js'
import {getStats} from './stats.js'

export class QemuGuest implements GuestStatsDriver {
  constructor(
    private readonly ctx: QemuContext,
    /** The list filter of virConnectListAllDomains (flags) for bulk stats. */
    private readonly matches: (d: QemuDomain, flags: number) => boolean,
  ) {}

  private dom(uuid: string): QemuDomain {
    return this.ctx.domains.get(uuid)
  }

  blockStats(uuid: string, path: string): Promise<BlockStats> {
    return block.blockStats(this.ctx, this.dom(uuid), path)
  }

  blockStatsFlags(uuid: string, path: string, flags: number): Promise<StatParam[]> {
    return block.blockStatsFlags(this.ctx, this.dom(uuid), path, flags)
  }

  memoryStats(uuid: string): Promise<MemoryStat[]> {
    return memoryStats(this.ctx, this.dom(uuid))
  }

  blockInfo(uuid: string, path: string, flags: number): Promise<BlockInfo> {
    return block.blockInfo(this.ctx, this.dom(uuid), path, flags)
  }

  jobInfo(uuid: string): JobInfo {
    return jobs.jobInfo(this.dom(uuid))
  }

  jobStats(uuid: string, flags: number): {type: number; params: StatParam[]} {
    return jobs.jobStats(this.dom(uuid), flags)
  }

  controlInfo(uuid: string, flags: number): ControlInfo {
    return jobs.controlInfo(this.dom(uuid), flags)
  }

  sendKey(uuid: string, codeset: number, holdtime: number, keycodes: number[], flags: number): Promise<void> {
    return sendKey(this.ctx, this.dom(uuid), codeset, holdtime, keycodes, flags)
  }

  injectNmi(uuid: string, flags: number): Promise<void> {
    return injectNmi(this.ctx, this.dom(uuid), flags)
  }

  coreDump(uuid: string, to: string, format: number, flags: number): Promise<void> {
    return coreDump(this.ctx, this.dom(uuid), to, format, flags)
  }

  getHostname(uuid: string, flags: number): Promise<string> {
    return agent.getHostname(this.ctx, this.dom(uuid), flags)
  }

  getTime(uuid: string, flags: number): never {
    return agent.getTime(this.ctx, this.dom(uuid), flags)
  }

  setTime(uuid: string, _seconds: bigint, _nseconds: number, flags: number): never {
    return agent.setTime(this.ctx, this.dom(uuid), flags)
  }

  allDomainStats(refs: DomainRef[] | null, stats: number, flags: number): Promise<DomainStats[]> {
    return getStats(this.ctx, refs, (d) => this.matches(d, flags & 0xff), stats)
  }
}
