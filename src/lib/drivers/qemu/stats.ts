/**
 * What the QEMU driver reports about a guest's resources: virDomainGetInfo and the bulk stats
 * of virConnectGetAllDomainStats (state, CPU time from /proc, balloon and vCPUs from QMP).
 */
import * as fs from 'node:fs'
import {currentDef} from '../../conf/domain-list.js'
import type {DomainInfo, DomainRef, DomainStats} from '../types.js'
import type {QemuContext, QemuDomain} from './context.js'
import {clockTicks, cpuTimeNs, readProcStat} from './process.js'

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

/** Stats of `refs`, or of every domain `matches` accepts. */
export async function getStats(ctx: QemuContext, refs: DomainRef[] | null, matches: (d: QemuDomain) => boolean): Promise<DomainStats[]> {
  const list = refs ? refs.map((r) => ctx.domains.get(r.uuid)) : ctx.domains.filter(matches)
  return Promise.all(list.map((d) => statsOf(ctx, d)))
}

const nsPerTick = (ticks: number, tck: bigint) => (BigInt(ticks) * 1_000_000_000n) / tck

async function statsOf(ctx: QemuContext, d: QemuDomain): Promise<DomainStats> {
  const ref = ctx.ref(d)
  const def = currentDef(d)
  const params: DomainStats['params'] = [
    {field: 'state.state', type: 'int', value: d.state},
    {field: 'state.reason', type: 'int', value: d.reason},
  ]
  const run = d.run
  let balloon = BigInt(def.currentMemoryKiB)
  let vcpus: Array<{'cpu-index': number; 'thread-id': number}> = []
  const tck = BigInt(clockTicks())
  if (run) {
    const st = readProcStat(run.pid)
    if (st) {
      params.push(
        {field: 'cpu.time', type: 'ullong', value: nsPerTick(st.utime + st.stime, tck)},
        {field: 'cpu.user', type: 'ullong', value: nsPerTick(st.utime, tck)},
        {field: 'cpu.system', type: 'ullong', value: nsPerTick(st.stime, tck)},
      )
    }
    if (run.qmp && !run.qmp.closed) {
      try {
        const b = await run.qmp.execute<{actual: number}>('query-balloon', undefined, {timeoutMs: 2000})
        balloon = BigInt(Math.floor(b.actual / 1024))
        run.balloonKiB = Number(balloon)
      } catch {
        if (run.balloonKiB !== undefined) balloon = BigInt(run.balloonKiB)
      }
      try {
        vcpus = await run.qmp.execute<typeof vcpus>('query-cpus-fast', undefined, {timeoutMs: 2000})
      } catch {
        vcpus = []
      }
    }
  }
  params.push(
    {field: 'balloon.current', type: 'ullong', value: balloon},
    {field: 'balloon.maximum', type: 'ullong', value: BigInt(def.memoryKiB)},
    {field: 'vcpu.current', type: 'uint', value: def.currentVcpus},
    {field: 'vcpu.maximum', type: 'uint', value: def.vcpus},
  )
  if (run) {
    for (const v of vcpus) {
      let time = 0n
      try {
        const text = fs.readFileSync(`/proc/${run.pid}/task/${v['thread-id']}/stat`, 'utf8')
        const f = text.slice(text.lastIndexOf(')') + 2).split(' ')
        time = nsPerTick(Number(f[11]) + Number(f[12]), tck)
      } catch {
        // thread gone
      }
      params.push({field: `vcpu.${v['cpu-index']}.state`, type: 'int', value: 1}, {field: `vcpu.${v['cpu-index']}.time`, type: 'ullong', value: time})
    }
  }
  return {ref, params}
}
