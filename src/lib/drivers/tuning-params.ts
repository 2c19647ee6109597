/**
 * memtune, blkiotune and numatune as typed parameters over a definition (shared by the drivers):
 * libvirt's parameter names and types, its checks, and the XML each one changes.
 */
import {ErrorDomain, errors} from '../errors.js'
import type {DomainDef} from '../conf/domain.js'
import {
  BLKIO_DEVICE_FIELDS,
  NUMA_MODES,
  blkioDeviceString,
  readBlkiotune,
  readMemtune,
  readNumatune,
  setBlkioDevices,
  setBlkioWeight,
  setMemtune,
  setNumatune,
  type BlkioDeviceParam,
  type MemtuneField,
} from '../conf/domain-tuning.js'
import {parseCpuset} from '../conf/cpuset.js'
import {validateParams} from './tuning-impact.js'
import type {TunableParam, TunableType} from './tuning-types.js'

/** VIR_DOMAIN_MEMORY_PARAM_UNLIMITED: no limit. */
export const MEMORY_UNLIMITED = 9007199254740991n

const MEM_PARAMS: Record<string, TunableType> = {hard_limit: 'ullong', soft_limit: 'ullong', swap_hard_limit: 'ullong'}

export function memtuneParams(def: DomainDef): TunableParam[] {
  const m = readMemtune(def)
  return (['hard_limit', 'soft_limit', 'swap_hard_limit'] as const).map((f) => ({field: f, type: 'ullong', value: m[f] ?? MEMORY_UNLIMITED}))
}

/** Checks `params` against every definition first (nothing is half applied), then applies them. */
export function applyMemtune(defs: DomainDef[], params: TunableParam[]): void {
  validateParams(params, MEM_PARAMS)
  const want = new Map(params.map((p) => [p.field as MemtuneField, p.value as bigint]))
  for (const def of defs) {
    const cur = readMemtune(def)
    const hard = want.get('hard_limit') ?? cur.hard_limit ?? MEMORY_UNLIMITED
    const swap = want.get('swap_hard_limit') ?? cur.swap_hard_limit ?? MEMORY_UNLIMITED
    if (hard > swap) throw errors.invalidArg(ErrorDomain.NONE, 'memory hard_limit tunable value must be lower than or equal to swap_hard_limit')
  }
  for (const def of defs) for (const [f, v] of want) setMemtune(def, f, v >= MEMORY_UNLIMITED ? undefined : v)
}

const BLKIO_PARAMS: Record<string, TunableType> = {
  weight: 'uint',
  device_weight: 'string',
  device_read_iops_sec: 'string',
  device_write_iops_sec: 'string',
  device_read_bytes_sec: 'string',
  device_write_bytes_sec: 'string',
}

export function blkioParams(def: DomainDef): TunableParam[] {
  const b = readBlkiotune(def)
  const out: TunableParam[] = [{field: 'weight', type: 'uint', value: b.weight ?? 0}]
  for (const f of Object.keys(BLKIO_DEVICE_FIELDS) as BlkioDeviceParam[]) out.push({field: f, type: 'string', value: blkioDeviceString(b.devices, f)})
  return out
}

/** "path,value,path,value" into pairs, with libvirt's errors. */
function parseDevicePairs(field: string, text: string): Array<[string, bigint]> {
  if (text === '') return []
  const parts = text.split(',')
  const bad = () => errors.invalidArg(ErrorDomain.NONE, `unable to parse blkio device '${text}'`)
  if (parts.length % 2 !== 0) throw bad()
  const out: Array<[string, bigint]> = []
  for (let i = 0; i < parts.length; i += 2) {
    if (!/^\d+$/.test(parts[i + 1]))
      throw errors.invalidArg(ErrorDomain.NONE, `invalid value '${parts[i + 1]}' for parameter '${field}' of device '${parts[i]}'`)
    out.push([parts[i], BigInt(parts[i + 1])])
  }
  return out
}

export function applyBlkio(defs: DomainDef[], params: TunableParam[]): void {
  validateParams(params, BLKIO_PARAMS)
  const parsed: Array<[string, Array<[string, bigint]> | number]> = []
  for (const p of params) {
    if (p.field === 'weight') {
      const w = Number(p.value)
      if (w !== 0 && (w < 100 || w > 1000)) throw errors.invalidArg(ErrorDomain.NONE, 'out of blkio weight range.')
      parsed.push([p.field, w])
    } else parsed.push([p.field, parseDevicePairs(p.field, String(p.value))])
  }
  for (const def of defs) {
    for (const [f, v] of parsed) {
      if (typeof v === 'number') setBlkioWeight(def, v)
      else setBlkioDevices(def, f as BlkioDeviceParam, v)
    }
  }
}

const NUMA_PARAMS: Record<string, TunableType> = {numa_mode: 'int', numa_nodeset: 'string'}

export function numaParams(def: DomainDef): TunableParam[] {
  const n = readNumatune(def)
  const mode = NUMA_MODES.indexOf((n.mode ?? 'strict') as (typeof NUMA_MODES)[number])
  return [
    {field: 'numa_mode', type: 'int', value: mode < 0 ? 0 : mode},
    {field: 'numa_nodeset', type: 'string', value: n.nodeset ?? ''},
  ]
}

/** Sets NUMA mode and nodeset; `nodes` is the host's NUMA node count for the nodeset check. */
export function applyNuma(defs: DomainDef[], params: TunableParam[], nodes: number): void {
  validateParams(params, NUMA_PARAMS)
  let mode: string | undefined
  let nodeset: string | undefined
  for (const p of params) {
    if (p.field === 'numa_mode') {
      const m = Number(p.value)
      if (!Number.isInteger(m) || m < 0 || m >= NUMA_MODES.length) throw errors.invalidArg(ErrorDomain.NONE, `unsupported numatune mode: '${m}'`)
      mode = NUMA_MODES[m]
    } else {
      const text = String(p.value)
      const nodesList = parseCpuset(text, ErrorDomain.NONE)
      const over = nodesList.find((n) => n >= nodes)
      if (over !== undefined) throw errors.operationInvalid(ErrorDomain.NONE, `NUMA node ${over} is unavailable`)
      nodeset = text
    }
  }
  for (const def of defs) {
    if (nodeset === undefined && readNumatune(def).nodeset === undefined && mode !== undefined) {
      throw errors.configUnsupported(ErrorDomain.DOMAIN, "nodeset for NUMA memory tuning must be set if 'placement' is 'static'")
    }
  }
  for (const def of defs) setNumatune(def, mode, nodeset)
}
