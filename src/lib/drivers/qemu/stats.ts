/**
 * What the QEMU driver reports about a guest's resources: virDomainGetInfo and the bulk stats of
 * virConnectGetAllDomainStats, group by group as libvirt's QEMU driver names them (state, cpu-total
 * from /proc, balloon, vcpu from QMP and /proc, interface from the taps' counters, block from
 * QMP, dirtyrate). Only the groups asked for are gathered; 0 asks for all.
 */
import * as fs from 'node:fs'
import {currentDef} from '../../conf/domain-list.js'
import {StatsGroup, type StatParam} from '../stats-types.js'
import type {DomainInfo, DomainRef, DomainStats} from '../types.js'
import {blockGroup} from './blockstats.js'
import type {QemuContext, QemuDomain} from './context.js'
import {interfaceStats} from './iface-info.js'
import {balloonGroup} from './memstats.js'
import {targetDev} from './net-interface.js'
import {clockTicks, cpuTimeNs, readProcStat} from './process.js'

const TIMEOUT = {timeoutMs: 5000}
/** Every group the QEMU driver knows (perf, iothread, memory and vm are empty for vctl's guests). */
const ALL = 0x7ff

export function getInfo(ctx: QemuContext, uuid: string): DomainInfo {
  const d = ctx.domains.get(uuid)
  const def = currentDef(d)
  return {
    state: d.state,
    maxMemKiB: BigInt(def.memoryKiB),
    memoryKiB: BigInt(d.run?.balloonKiB ?? def.currentMemoryKiB),
    nrVirtCpu: def.currentVcpus,
    cpuTimeNs: d.run ? cpuTimeNs(d.run.pid) : 0n,
  }
}

/** Stats of `refs`, or of every domain `matches` accepts; `groups` 0 means all. */
export async function getStats(ctx: QemuContext, refs: DomainRef[] | null, matches: (d: QemuDomain) => boolean, groups = 0): Promise<DomainStats[]> {
  const list = refs ? refs.map((r) => ctx.domains.get(r.uuid)) : ctx.domains.filter(matches)
  const want = groups === 0 ? ALL : groups
  return Promise.all(list.map(async (d) => ({ref: ctx.ref(d), params: await statsOf(d, want)})))
}

const nsPerTick = (ticks: number, tck: bigint) => (BigInt(ticks) * 1_000_000_000n) / tck

function cpuGroup(d: QemuDomain): StatParam[] {
  const st = d.run ? readProcStat(d.run.pid) : undefined
  if (!st) return []
  const tck = BigInt(clockTicks())
  return [
    {field: 'cpu.time', type: 'ullong', value: nsPerTick(st.utime + st.stime, tck)},
    {field: 'cpu.user', type: 'ullong', value: nsPerTick(st.utime, tck)},
    {field: 'cpu.system', type: 'ullong', value: nsPerTick(st.stime, tck)},
    {field: 'cpu.cache.monitor.count', type: 'uint', value: 0},
    {field: 'cpu.haltpoll.success.time', type: 'ullong', value: 0n},
    {field: 'cpu.haltpoll.fail.time', type: 'ullong', value: 0n},
  ]
}

function threadFigures(pid: number, tid: number, tck: bigint): {time: bigint; delay: bigint} {
  let time = 0n
  let delay = 0n
  try {
    const text = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ')
    time = nsPerTick(Number(f[11]) + Number(f[12]), tck)
    delay = BigInt(fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[1] ?? '0')
  } catch {
    // thread gone
  }
  return {time, delay}
}

async function vcpuGroup(d: QemuDomain): Promise<StatParam[]> {
  const def = currentDef(d)
  const out: StatParam[] = [
    {field: 'vcpu.current', type: 'uint', value: def.currentVcpus},
    {field: 'vcpu.maximum', type: 'uint', value: def.vcpus},
  ]
  const run = d.run
  if (!run?.qmp || run.qmp.closed) return out
  let vcpus: Array<{'cpu-index': number; 'thread-id': number}> = []
  try {
    vcpus = await run.qmp.execute<typeof vcpus>('query-cpus-fast', undefined, TIMEOUT)
  } catch {
    vcpus = []
  }
  const tck = BigInt(clockTicks())
  for (const v of vcpus) {
    const {time, delay} = threadFigures(run.pid, v['thread-id'], tck)
    const p = `vcpu.${v['cpu-index']}`
    out.push(
      {field: `${p}.state`, type: 'int', value: 1},
      {field: `${p}.time`, type: 'ullong', value: time},
      {field: `${p}.wait`, type: 'ullong', value: 0n},
      {field: `${p}.delay`, type: 'ullong', value: delay},
    )
  }
  return out
}

function netGroup(d: QemuDomain): StatParam[] {
  const def = d.live
  if (!d.run || !def) return []
  const out: StatParam[] = [{field: 'net.count', type: 'uint', value: def.devices.interfaces.length}]
  def.devices.interfaces.forEach((i, n) => {
    const dev = targetDev(i)
    if (!dev) return
    let s
    try {
      s = interfaceStats(d, dev)
    } catch {
      return
    }
    const p = `net.${n}`
    out.push({field: `${p}.name`, type: 'string', value: dev})
    const pairs: Array<[string, bigint]> = [
      ['rx.bytes', s.rx_bytes],
      ['rx.pkts', s.rx_packets],
      ['rx.errs', s.rx_errs],
      ['rx.drop', s.rx_drop],
      ['tx.bytes', s.tx_bytes],
      ['tx.pkts', s.tx_packets],
      ['tx.errs', s.tx_errs],
      ['tx.drop', s.tx_drop],
    ]
    for (const [k, v] of pairs) out.push({field: `${p}.${k}`, type: 'ullong', value: v})
  })
  return out
}

const DIRTY_STATUS: Record<string, number> = {unstarted: 0, measuring: 1, measured: 2}

async function dirtyrateGroup(d: QemuDomain): Promise<StatParam[]> {
  const run = d.run
  if (!run?.qmp || run.qmp.closed) return []
  let q: {status?: string; 'start-time'?: number; 'calc-time'?: number; mode?: string; 'dirty-rate'?: number} = {}
  try {
    q = await run.qmp.execute<typeof q>('query-dirty-rate', undefined, TIMEOUT)
  } catch {
    q = {}
  }
  const out: StatParam[] = [
    {field: 'dirtyrate.calc_status', type: 'int', value: DIRTY_STATUS[q.status ?? 'unstarted'] ?? 0},
    {field: 'dirtyrate.calc_start_time', type: 'llong', value: BigInt(q['start-time'] ?? 0)},
    {field: 'dirtyrate.calc_period', type: 'int', value: q['calc-time'] ?? 0},
  ]
  if (q.status === 'measured' && q['dirty-rate'] !== undefined) {
    out.push({field: 'dirtyrate.megabytes_per_second', type: 'llong', value: BigInt(q['dirty-rate'])})
  }
  out.push({field: 'dirtyrate.calc_mode', type: 'string', value: q.mode ?? 'page-sampling'})
  return out
}

async function statsOf(d: QemuDomain, want: number): Promise<StatParam[]> {
  const out: StatParam[] = []
  if (want & StatsGroup.STATE) {
    out.push({field: 'state.state', type: 'int', value: d.state}, {field: 'state.reason', type: 'int', value: d.reason})
  }
  if (want & StatsGroup.CPU_TOTAL) out.push(...cpuGroup(d))
  if (want & StatsGroup.BALLOON) out.push(...(await balloonGroup(d)))
  if (want & StatsGroup.VCPU) out.push(...(await vcpuGroup(d)))
  if (want & StatsGroup.INTERFACE) out.push(...netGroup(d))
  if (want & StatsGroup.BLOCK) out.push(...(await blockGroup(d)))
  if (want & StatsGroup.DIRTYRATE) out.push(...(await dirtyrateGroup(d)))
  return out
}
