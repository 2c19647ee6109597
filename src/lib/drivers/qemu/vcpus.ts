/**
 * vCPUs of a running QEMU guest: their threads (query-cpus-fast), CPU time and last host CPU from
 * /proc, affinity set with sched_setaffinity (taskset) as libvirt pins them, and vCPU hotplug by
 * query-hotpluggable-cpus + device_add / device_del, as libvirt's QEMU driver does it.
 */
import {execFile} from 'node:child_process'
import * as fs from 'node:fs'
import {promisify} from 'node:util'
import {ErrorCode, VirError, errors} from '../../errors.js'
import {parseCpuset} from '../../conf/cpuset.js'
import type {VcpuInfo} from '../tuning-types.js'
import {D, type QemuContext, type Run} from './context.js'
import {clockTicks} from './process.js'

/** The thread id of each online vCPU, by vCPU number. */
export async function vcpuThreads(ctx: QemuContext, r: Run): Promise<Map<number, number>> {
  const qmp = ctx.requireMonitor(r)
  const cpus = await qmp.execute<Array<{'cpu-index': number; 'thread-id': number}>>('query-cpus-fast')
  return new Map(cpus.map((c) => [c['cpu-index'], c['thread-id']]))
}

/** utime+stime (ns) and the CPU a thread last ran on, from /proc/PID/task/TID/stat. */
function threadStat(pid: number, tid: number): {timeNs: bigint; cpu: number} {
  try {
    const s = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ')
    // Fields after the command: state is field 3, utime 14, stime 15, processor 39 (1-based in proc(5)).
    const ticks = BigInt(f[11]) + BigInt(f[12])
    return {timeNs: (ticks * 1_000_000_000n) / BigInt(clockTicks()), cpu: Number(f[36])}
  } catch {
    return {timeNs: 0n, cpu: -1}
  }
}

/** A thread's current affinity (Cpus_allowed_list). */
export function threadAffinity(pid: number, tid: number): number[] {
  try {
    const s = fs.readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8')
    const m = /^Cpus_allowed_list:\s*(\S+)/m.exec(s)
    return m ? parseCpuset(m[1], D) : []
  } catch {
    return []
  }
}

export async function vcpuInfo(ctx: QemuContext, r: Run): Promise<{info: VcpuInfo[]; affinity: number[][]}> {
  const threads = await vcpuThreads(ctx, r)
  const info: VcpuInfo[] = []
  const affinity: number[][] = []
  for (const [n, tid] of [...threads.entries()].sort((a, b) => a[0] - b[0])) {
    const st = threadStat(r.pid, tid)
    info.push({number: n, state: 1, cpuTimeNs: st.timeNs, cpu: st.cpu})
    affinity.push(threadAffinity(r.pid, tid))
  }
  return {info, affinity}
}

/** sched_setaffinity on one thread. */
export async function setAffinity(tid: number, cpus: number[]): Promise<void> {
  try {
    await promisify(execFile)('taskset', ['-pc', cpus.join(','), String(tid)])
  } catch (err) {
    throw errors.systemError(D, `cannot set CPU affinity on process ${tid}: ${(err as Error).message.split('\n')[0]}`)
  }
}

/** The emulator's threads: every thread of the process but the vCPU ones. */
export function emulatorThreads(r: Run, vcpuTids: Iterable<number>): number[] {
  const skip = new Set(vcpuTids)
  try {
    return fs
      .readdirSync(`/proc/${r.pid}/task`)
      .map(Number)
      .filter((t) => !skip.has(t))
  } catch {
    return []
  }
}

interface HotpluggableCpu {
  type: string
  'vcpus-count': number
  props: Record<string, number>
  'qom-path'?: string
}

/** Brings the number of online vCPUs to `want` by hot(un)plugging CPUs after the boot ones. */
export async function setOnlineVcpus(ctx: QemuContext, r: Run, current: number, want: number): Promise<void> {
  const qmp = ctx.requireMonitor(r)
  const slots = await qmp.execute<HotpluggableCpu[]>('query-hotpluggable-cpus')
  // QEMU lists slots last first; libvirt orders them by the vCPU numbers they give.
  const ordered = slots.slice().reverse()
  if (want > current) {
    for (let i = current; i < want; i++) {
      const s = ordered[i]
      if (!s) throw errors.operationFailed(D, `vCPU '${i}' has no hotpluggable slot`)
      if (s['qom-path']) continue
      await qmp.execute('device_add', {driver: s.type, id: `vcpu${i}`, ...s.props})
    }
    return
  }
  for (let i = current - 1; i >= want; i--) {
    const s = ordered[i]
    const path = s?.['qom-path']
    if (!path?.startsWith('/machine/peripheral/')) throw errors.invalidArg(D, `vcpu '${i}' can't be unplugged`)
    await qmp.execute('device_del', {id: path.slice('/machine/peripheral/'.length)})
    // libvirt waits for the guest to let the vCPU go (DEVICE_DELETED), 5 s at most.
    const deadline = Date.now() + UNPLUG_WAIT_MS
    while ((await vcpuThreads(ctx, r)).has(i)) {
      if (Date.now() > deadline) {
        const detail = 'vcpu unplug request timed out. Unplug result must be manually inspected in the domain'
        throw new VirError(ErrorCode.OPERATION_TIMEOUT, D, `Timed out during operation: ${detail}`, {
          str1: 'Timed out during operation: %s',
          str2: detail,
        })
      }
      await new Promise((res) => setTimeout(res, 100))
    }
  }
}

const UNPLUG_WAIT_MS = 5000
