/**
 * x86 CPU model decoding as libvirt does it for the host CPU: CPUID and MSR data -> vendor, signature,
 * the closest CPU model of the map (cpu-map-x86.ts) and the features the CPU has beyond that model.
 * Pure: the caller supplies the raw data.
 */
import {X86_FEATURES} from './cpu-map-x86.js'
import {errors} from '../errors.js'
import {X86_MODELS, X86_VENDORS} from './cpu-map-x86-models.js'

/** Reads one CPUID leaf/sub-leaf: [eax, ebx, ecx, edx], or undefined when unavailable. */
export type CpuidReader = (leaf: number, sub: number) => number[] | undefined

export interface X86CpuData {
  cpuid: CpuidReader
  /** MSR values by index (only IA32_ARCH_CAPABILITIES, 0x10a, is used). */
  msr: Map<number, bigint>
}

export interface X86Signature {
  family: number
  model: number
  stepping: number
}

export interface DecodedX86Cpu {
  vendor?: string
  model: string
  signature: X86Signature
  /** Features beyond the model's, in the map's order. */
  features: string[]
  /** Every feature of the CPU, in the map's order. */
  all: string[]
}

interface Model {
  name: string
  vendor: string
  decodeHost: boolean
  signatures: Array<{family: number; model: number; steppings?: [number, number]}>
  features: Set<string>
}

let models: Model[] | undefined

function loadModels(): Model[] {
  models ??= X86_MODELS.map(([name, vendor, decodeHost, sigs, feats]) => ({
    name,
    vendor,
    decodeHost,
    signatures: sigs
      .split(' ')
      .filter(Boolean)
      .map((s) => {
        const [f, m, st] = s.split('/')
        const range = st?.split('-').map(Number)
        return {family: Number(f), model: Number(m), steppings: range ? [range[0], range[1] ?? range[0]] : undefined}
      }),
    features: new Set(feats.split(' ').filter(Boolean)),
  }))
  return models
}

/** The x86 model names libvirt 9.0 knows, in its order (virConnectGetCPUModelNames). */
export function x86ModelNames(): string[] {
  return X86_MODELS.map((m) => m[0])
}

/** The CPU models of an architecture's map (virConnectGetCPUModelNames), or libvirt's error for an architecture without one. */
export function cpuModelNamesFor(arch: string, domain: number): string[] {
  if (arch === 'x86_64' || arch === 'i686') return x86ModelNames()
  throw errors.invalidArg(domain, `cannot find architecture ${arch}`)
}

/** Whether a feature name is in the map. */
export function isX86Feature(name: string): boolean {
  return X86_FEATURES.some((f) => f[0] === name)
}

/** The features of one model, or undefined when the map has no such model. */
export function x86ModelFeatures(name: string): Set<string> | undefined {
  return loadModels().find((m) => m.name === name)?.features
}

export function x86ModelVendor(name: string): string | undefined {
  return loadModels().find((m) => m.name === name)?.vendor
}

function vendorOf(cpuid: CpuidReader): string | undefined {
  const l0 = cpuid(0, 0)
  if (!l0) return undefined
  const b = Buffer.alloc(12)
  b.writeUInt32LE(l0[1] >>> 0, 0)
  b.writeUInt32LE(l0[3] >>> 0, 4)
  b.writeUInt32LE(l0[2] >>> 0, 8)
  return X86_VENDORS[b.toString('latin1')]
}

/** Family, model and stepping from CPUID leaf 1, with the extended fields folded in. */
export function x86Signature(cpuid: CpuidReader): X86Signature {
  const eax = (cpuid(1, 0) ?? [0])[0] >>> 0
  const baseFamily = (eax >>> 8) & 0xf
  const family = baseFamily + ((eax >>> 20) & 0xff)
  const model = ((eax >>> 4) & 0xf) | (((eax >>> 16) & 0xf) << 4)
  return {family, model, stepping: eax & 0xf}
}

/** The names of the map's features the data has, in the map's order. */
export function x86DataFeatures(data: X86CpuData): string[] {
  const out: string[] = []
  const cache = new Map<string, number[] | undefined>()
  const leaf = (l: number, s: number): number[] | undefined => {
    const k = `${l}/${s}`
    if (!cache.has(k)) cache.set(k, data.cpuid(l, s))
    return cache.get(k)
  }
  for (const [name, kind, index, sub, regs] of X86_FEATURES) {
    if (kind === 'cpuid') {
      const v = leaf(index, sub)
      if (v && regs.every((mask, i) => ((v[i] ?? 0) & mask) >>> 0 === mask >>> 0)) out.push(name)
    } else {
      const v = data.msr.get(index)
      if (v === undefined) continue
      const eax = Number(v & 0xffffffffn)
      const edx = Number(v >> 32n)
      if ((eax & regs[0]) >>> 0 === regs[0] >>> 0 && (edx & regs[1]) >>> 0 === regs[1] >>> 0) out.push(name)
    }
  }
  return out
}

function hasSignature(m: Model, sig: X86Signature): boolean {
  return m.signatures.some(
    (s) => s.family === sig.family && s.model === sig.model && (!s.steppings || (sig.stepping >= s.steppings[0] && sig.stepping <= s.steppings[1])),
  )
}

/**
 * Chooses the host CPU model as libvirt's x86 decoder does: newest models first; a model of another
 * vendor, one not meant for host CPUs, or one needing a feature the CPU lacks is out; a model matching
 * the CPU's family/model wins over one that does not; otherwise the shorter extra-feature list wins.
 */
export function decodeX86Host(data: X86CpuData): DecodedX86Cpu | undefined {
  const vendor = vendorOf(data.cpuid)
  const signature = x86Signature(data.cpuid)
  let all = x86DataFeatures(data)
  // Broken TSX of some Intel CPUs is dropped.
  const {family, model: mdl, stepping} = signature
  if (vendor === 'Intel' && family === 6 && ((mdl === 63 && stepping < 4) || mdl === 60 || mdl === 69 || mdl === 70)) {
    all = all.filter((f) => f !== 'hle' && f !== 'rtm')
  }
  const have = new Set(all)
  let best: {m: Model; extra: string[]; sig: boolean} | undefined
  const list = loadModels()
  for (let i = list.length - 1; i >= 0; i--) {
    const m = list[i]
    if (vendor && m.vendor && m.vendor !== vendor) continue
    if (!m.decodeHost) continue
    if ([...m.features].some((f) => !have.has(f))) continue
    const extra = all.filter((f) => !m.features.has(f))
    const sig = hasSignature(m, signature)
    if (!best) {
      best = {m, extra, sig}
      continue
    }
    if (best.sig && !sig) continue
    if ((sig && !best.sig) || extra.length < best.extra.length) best = {m, extra, sig}
  }
  if (!best) return undefined
  return {vendor, model: best.m.name, signature, features: best.extra, all}
}
