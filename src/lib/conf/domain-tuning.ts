/**
 * The tuning elements of a domain definition, read from and written to its kept document:
 * `<cputune>` (vcpupin, emulatorpin, shares, periods and quotas), `<memtune>`, `<blkiotune>` and
 * `<numatune>`, in libvirt's element order. Values in KiB where libvirt keeps KiB.
 */
import type {DomainDef} from './domain.js'
import {formatCpuset, parseCpuset} from './cpuset.js'
import {type XmlElement, attr, child, childOrder, childrenNamed, dropIfEmpty, el, reassemble, textEl, textOf} from './xml.js'
import {ErrorDomain} from '../errors.js'

const D = ErrorDomain.DOMAIN

const CPUTUNE_VALUES = [
  'shares',
  'period',
  'quota',
  'global_period',
  'global_quota',
  'emulator_period',
  'emulator_quota',
  'iothread_period',
  'iothread_quota',
] as const
export type CputuneValue = (typeof CPUTUNE_VALUES)[number]
const CPUTUNE_ORDER = childOrder([
  ...CPUTUNE_VALUES,
  'vcpupin',
  'emulatorpin',
  'iothreadpin',
  'emulatorsched',
  'vcpusched',
  'iothreadsched',
  'cachetune',
  'memorytune',
])
export const MEMTUNE_FIELDS = ['hard_limit', 'soft_limit', 'swap_hard_limit', 'min_guarantee'] as const
export type MemtuneField = (typeof MEMTUNE_FIELDS)[number]
const MEMTUNE_ORDER = childOrder([...MEMTUNE_FIELDS])
const BLKIOTUNE_ORDER = childOrder(['weight', 'device'])
/** `<device>` children of `<blkiotune>` and their typed-parameter names. */
export const BLKIO_DEVICE_FIELDS = {
  device_weight: 'weight',
  device_read_iops_sec: 'read_iops_sec',
  device_write_iops_sec: 'write_iops_sec',
  device_read_bytes_sec: 'read_bytes_sec',
  device_write_bytes_sec: 'write_bytes_sec',
} as const
export type BlkioDeviceParam = keyof typeof BLKIO_DEVICE_FIELDS
/** virDomainNumatuneMemMode. */
export const NUMA_MODES = ['strict', 'preferred', 'interleave', 'restrictive'] as const

/** Replaces (or with undefined removes) the domain's top-level `name` element. */
function putTop(def: DomainDef, name: string, e: XmlElement | undefined): void {
  const root = def.root
  const i = root.children.findIndex((c) => c.kind === 'element' && c.name === name)
  if (i >= 0) {
    if (e) root.children[i] = e
    else root.children.splice(i, 1)
  } else if (e) root.children.push(e)
}

// ---- cputune -----------------------------------------------------------------------------------

export interface Cputune {
  vcpupin: Map<number, number[]>
  emulatorpin?: number[]
  values: Partial<Record<CputuneValue, bigint>>
}

export function readCputune(def: DomainDef): Cputune {
  const ct = child(def.root, 'cputune')
  const out: Cputune = {vcpupin: new Map(), values: {}}
  if (!ct) return out
  for (const p of childrenNamed(ct, 'vcpupin')) {
    const v = Number(attr(p, 'vcpu'))
    const set = attr(p, 'cpuset')
    if (Number.isInteger(v) && set !== undefined) out.vcpupin.set(v, parseCpuset(set, D))
  }
  const ep = attr(child(ct, 'emulatorpin'), 'cpuset')
  if (ep !== undefined) out.emulatorpin = parseCpuset(ep, D)
  for (const name of CPUTUNE_VALUES) {
    const t = textOf(child(ct, name))
    if (t !== '') out.values[name] = BigInt(t)
  }
  return out
}

function writeCputune(def: DomainDef, c: Cputune): void {
  const orig = child(def.root, 'cputune')
  const replace: Record<string, XmlElement | XmlElement[] | undefined> = {
    vcpupin: [...c.vcpupin.entries()].sort((a, b) => a[0] - b[0]).map(([v, cpus]) => el('vcpupin', {vcpu: String(v), cpuset: formatCpuset(cpus)})),
    emulatorpin: c.emulatorpin ? el('emulatorpin', {cpuset: formatCpuset(c.emulatorpin)}) : undefined,
  }
  for (const name of CPUTUNE_VALUES) {
    const v = c.values[name]
    replace[name] = v !== undefined ? textEl(name, v.toString()) : undefined
  }
  putTop(def, 'cputune', dropIfEmpty(reassemble(orig, 'cputune', [], CPUTUNE_ORDER, replace)))
}

/** Pins one vCPU (undefined: removes its pinning). */
export function setVcpuPin(def: DomainDef, vcpu: number, cpus: number[] | undefined): void {
  const c = readCputune(def)
  if (cpus) c.vcpupin.set(vcpu, cpus)
  else c.vcpupin.delete(vcpu)
  writeCputune(def, c)
}

export function setEmulatorPin(def: DomainDef, cpus: number[] | undefined): void {
  const c = readCputune(def)
  c.emulatorpin = cpus
  writeCputune(def, c)
}

export function setCputuneValue(def: DomainDef, name: CputuneValue, value: bigint | undefined): void {
  const c = readCputune(def)
  c.values[name] = value
  writeCputune(def, c)
}

/** Drops the pinning of vCPUs numbered `max` and above (after the maximum shrank). */
export function dropVcpuPinsFrom(def: DomainDef, max: number): void {
  const c = readCputune(def)
  let changed = false
  for (const v of [...c.vcpupin.keys()]) {
    if (v >= max) {
      c.vcpupin.delete(v)
      changed = true
    }
  }
  if (changed) writeCputune(def, c)
}

// ---- memtune -----------------------------------------------------------------------------------

export function readMemtune(def: DomainDef): Partial<Record<MemtuneField, bigint>> {
  const mt = child(def.root, 'memtune')
  const out: Partial<Record<MemtuneField, bigint>> = {}
  for (const f of MEMTUNE_FIELDS) {
    const e = child(mt, f)
    if (e) out[f] = toKiB(BigInt(textOf(e) || '0'), attr(e, 'unit'))
  }
  return out
}

const UNIT_KIB: Record<string, bigint> = {b: 0n, bytes: 0n, k: 1n, kib: 1n, kb: 1n, m: 1024n, mib: 1024n, g: 1048576n, gib: 1048576n}

function toKiB(v: bigint, unit: string | undefined): bigint {
  const u = (unit ?? 'KiB').toLowerCase()
  if (u === 'b' || u === 'bytes') return (v + 1023n) / 1024n
  return v * (UNIT_KIB[u] ?? 1n)
}

/** Sets (undefined: removes) one memtune limit, in KiB. */
export function setMemtune(def: DomainDef, field: MemtuneField, kib: bigint | undefined): void {
  const cur = readMemtune(def)
  cur[field] = kib
  const replace: Record<string, XmlElement | undefined> = {}
  for (const f of MEMTUNE_FIELDS) {
    const v = cur[f]
    replace[f] = v !== undefined ? textEl(f, v.toString(), {unit: 'KiB'}) : undefined
  }
  putTop(def, 'memtune', dropIfEmpty(reassemble(child(def.root, 'memtune'), 'memtune', [], MEMTUNE_ORDER, replace)))
}

// ---- blkiotune ---------------------------------------------------------------------------------

export interface BlkioDevice {
  path: string
  values: Partial<Record<BlkioDeviceParam, bigint>>
}

export function readBlkiotune(def: DomainDef): {weight?: number; devices: BlkioDevice[]} {
  const bt = child(def.root, 'blkiotune')
  const w = textOf(child(bt, 'weight'))
  const devices: BlkioDevice[] = []
  for (const d of childrenNamed(bt, 'device')) {
    const dev: BlkioDevice = {path: textOf(child(d, 'path')), values: {}}
    for (const [param, name] of Object.entries(BLKIO_DEVICE_FIELDS) as [BlkioDeviceParam, string][]) {
      const t = textOf(child(d, name))
      if (t !== '') dev.values[param] = BigInt(t)
    }
    devices.push(dev)
  }
  return {weight: w === '' ? undefined : Number(w), devices}
}

/** The typed-parameter string of one device field: "path,value,path,value". */
export function blkioDeviceString(devices: BlkioDevice[], param: BlkioDeviceParam): string {
  const out: string[] = []
  for (const d of devices) {
    const v = d.values[param]
    if (v !== undefined) out.push(d.path, v.toString())
  }
  return out.join(',')
}

function writeBlkiotune(def: DomainDef, weight: number | undefined, devices: BlkioDevice[]): void {
  const devs = devices
    .filter((d) => Object.values(d.values).some((v) => v !== undefined))
    .map((d) => {
      const kids: XmlElement[] = [textEl('path', d.path)]
      for (const [param, name] of Object.entries(BLKIO_DEVICE_FIELDS) as [BlkioDeviceParam, string][]) {
        const v = d.values[param]
        if (v !== undefined) kids.push(textEl(name, v.toString()))
      }
      return el('device', {}, kids)
    })
  const replace = {weight: weight !== undefined ? textEl('weight', weight) : undefined, device: devs}
  putTop(def, 'blkiotune', dropIfEmpty(reassemble(child(def.root, 'blkiotune'), 'blkiotune', [], BLKIOTUNE_ORDER, replace)))
}

export function setBlkioWeight(def: DomainDef, weight: number): void {
  const b = readBlkiotune(def)
  writeBlkiotune(def, weight, b.devices)
}

/** Merges "path,value,..." pairs into the devices (value 0 removes the setting, as libvirt does). */
export function setBlkioDevices(def: DomainDef, param: BlkioDeviceParam, pairs: Array<[string, bigint]>): void {
  const b = readBlkiotune(def)
  for (const [path, v] of pairs) {
    let dev = b.devices.find((d) => d.path === path)
    if (!dev) {
      dev = {path, values: {}}
      b.devices.push(dev)
    }
    dev.values[param] = v === 0n ? undefined : v
  }
  writeBlkiotune(def, b.weight, b.devices)
}

// ---- numatune ----------------------------------------------------------------------------------

export function readNumatune(def: DomainDef): {mode?: string; nodeset?: string; placement?: string} {
  const mem = child(child(def.root, 'numatune'), 'memory')
  if (!mem) return {}
  return {mode: attr(mem, 'mode'), nodeset: attr(mem, 'nodeset'), placement: attr(mem, 'placement')}
}

export function setNumatune(def: DomainDef, mode: string | undefined, nodeset: string | undefined): void {
  const cur = readNumatune(def)
  const m = mode ?? cur.mode ?? 'strict'
  const n = nodeset ?? cur.nodeset
  const orig = child(def.root, 'numatune')
  const memory = el('memory', {mode: m, nodeset: n})
  putTop(def, 'numatune', reassemble(orig, 'numatune', [], childOrder(['memory', 'memnode']), {memory}))
}
