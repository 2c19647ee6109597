/**
 * Live scheduler, memory and blkio tunables of a running guest through its cgroup (cgroup.ts), with
 * libvirt's parameter names and its "controller is not mounted" errors when the guest has none.
 */
import {errors} from '../../errors.js'
import type {DomainDef} from '../../conf/domain.js'
import {readCputune} from '../../conf/domain-tuning.js'
import {MEMORY_UNLIMITED, blkioParams} from '../tuning-params.js'
import type {TunableParam} from '../tuning-types.js'
import {cgroupDir, readValue, writeValue} from './cgroup.js'
import {D} from './context.js'

const need = (pid: number, c: 'cpu' | 'memory' | 'blkio', msg: string): void => {
  if (!cgroupDir(c, pid)) throw errors.operationInvalid(D, msg)
}
const CPU_MISSING = 'cgroup CPU controller is not mounted'
const MEM_MISSING = 'cgroup memory controller is not mounted'
const BLKIO_MISSING = "blkio cgroup isn't mounted"

/** The scheduler parameters of a running guest: shares, and the periods and quotas. */
export function liveSched(pid: number, def: DomainDef): TunableParam[] {
  need(pid, 'cpu', CPU_MISSING)
  const shares = BigInt(readValue('cpu', pid, 'cpu.shares') ?? '1024')
  const period = BigInt(readValue('cpu', pid, 'cpu.cfs_period_us') ?? '100000')
  const quota = BigInt(readValue('cpu', pid, 'cpu.cfs_quota_us') ?? '-1')
  const v = readCputune(def).values
  const p = (field: string, type: 'ullong' | 'llong', value: bigint): TunableParam => ({field, type, value})
  return [
    p('cpu_shares', 'ullong', shares),
    p('vcpu_period', 'ullong', v.period ?? period),
    p('vcpu_quota', 'llong', v.quota ?? quota),
    p('emulator_period', 'ullong', v.emulator_period ?? period),
    p('emulator_quota', 'llong', v.emulator_quota ?? quota),
    p('global_period', 'ullong', period),
    p('global_quota', 'llong', quota),
    p('iothread_period', 'ullong', v.iothread_period ?? period),
    p('iothread_quota', 'llong', v.iothread_quota ?? quota),
  ]
}

/** Writes the values that live in the guest's own cgroup (shares, global period and quota). */
export function setLiveSched(pid: number, params: TunableParam[]): void {
  need(pid, 'cpu', CPU_MISSING)
  for (const prm of params) {
    const v = String(prm.value)
    if (prm.field === 'cpu_shares') writeValue('cpu', pid, 'cpu.shares', v)
    else if (prm.field === 'global_period') writeValue('cpu', pid, 'cpu.cfs_period_us', v)
    else if (prm.field === 'global_quota') writeValue('cpu', pid, 'cpu.cfs_quota_us', v)
  }
}

/** What cgroup v1 shows for "no limit": 2^63 - 1 rounded down to a 4 KiB page. */
const V1_UNLIMITED_BYTES = 9223372036854771712n

/** cgroup v1 byte limits to KiB; "no limit" (a page-rounded 2^63) is libvirt's unlimited. */
function limitKiB(text: string | undefined): bigint {
  if (text === undefined) return MEMORY_UNLIMITED
  const bytes = BigInt(text)
  return bytes >= V1_UNLIMITED_BYTES ? MEMORY_UNLIMITED : bytes / 1024n
}

const MEM_FILES = {
  hard_limit: 'memory.limit_in_bytes',
  soft_limit: 'memory.soft_limit_in_bytes',
  swap_hard_limit: 'memory.memsw.limit_in_bytes',
} as const

export function liveMemtune(pid: number): TunableParam[] {
  need(pid, 'memory', MEM_MISSING)
  return (Object.keys(MEM_FILES) as Array<keyof typeof MEM_FILES>).map((f) => ({
    field: f,
    type: 'ullong',
    value: limitKiB(readValue('memory', pid, MEM_FILES[f])),
  }))
}

export function setLiveMemtune(pid: number, params: TunableParam[]): void {
  need(pid, 'memory', MEM_MISSING)
  // Raising the swap limit before the hard limit, and lowering it after, keeps memsw >= limit.
  const order = ['swap_hard_limit', 'hard_limit', 'soft_limit']
  const sorted = params.slice().sort((a, b) => order.indexOf(a.field) - order.indexOf(b.field))
  for (const p of sorted) {
    const kib = p.value as bigint
    const file = MEM_FILES[p.field as keyof typeof MEM_FILES]
    try {
      writeValue('memory', pid, file, kib >= MEMORY_UNLIMITED ? '-1' : String(kib * 1024n))
    } catch (err) {
      throw errors.systemError(D, `Unable to set memory ${p.field} tunable: ${(err as Error).message}`)
    }
  }
}

function weightFile(pid: number): string | undefined {
  for (const f of ['blkio.bfq.weight', 'blkio.weight']) if (readValue('blkio', pid, f) !== undefined) return f
  return undefined
}

export function liveBlkio(pid: number, def: DomainDef): TunableParam[] {
  need(pid, 'blkio', BLKIO_MISSING)
  const out = blkioParams(def)
  const f = weightFile(pid)
  const w = f ? Number((readValue('blkio', pid, f) ?? '0').split(/\s+/).pop()) : 0
  out[0] = {field: 'weight', type: 'uint', value: w}
  return out
}

export function setLiveBlkio(pid: number, params: TunableParam[]): void {
  need(pid, 'blkio', BLKIO_MISSING)
  for (const p of params) {
    if (p.field !== 'weight') continue
    const f = weightFile(pid)
    if (!f) throw errors.operationInvalid(D, 'blkio device weight is valid only for bfq or cfq scheduler')
    writeValue('blkio', pid, f, String(p.value))
  }
}
