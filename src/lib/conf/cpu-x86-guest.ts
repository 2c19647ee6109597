/**
 * x86 CPU definitions as libvirt's CPU driver handles them for a hypervisor: parsing a `<cpu>` element
 * (host or guest type), the feature set a definition stands for, decoding feature data to the closest
 * CPU model the hypervisor has (its unavailable features, "blockers", disabled explicitly), the baseline
 * of CPU definitions, and the expansion of a model into its features. Features are single CPUID/MSR
 * bits of the map (cpu-map-x86.ts), so sets of names stand for libvirt's bit data.
 */
import {ErrorCode, VirError} from '../errors.js'
import {X86_FEATURES} from './cpu-map-x86.js'
import {X86_MODELS} from './cpu-map-x86-models.js'
import {attr, child, childrenNamed, parseXml, textOf} from './xml.js'

/** VIR_FROM_CPU: the error domain of libvirt's CPU driver. */
export const FROM_CPU = 31

export type FeaturePolicy = 'force' | 'require' | 'optional' | 'disable' | 'forbid'
const POLICIES: readonly string[] = ['force', 'require', 'optional', 'disable', 'forbid']

export interface CpuFeature {
  name: string
  policy: FeaturePolicy
}

export interface X86CpuDef {
  /** 'host' when the element has an <arch> (capabilities' host CPU), else 'guest'. */
  type: 'host' | 'guest'
  mode: string
  match?: string
  arch?: string
  model?: string
  vendor?: string
  features: CpuFeature[]
}

/** A CPU model of the hypervisor: its name and the features it cannot provide (QEMU's unavailable-features). */
export type HvModels = ReadonlyMap<string, readonly string[]>

const ORDER = new Map(X86_FEATURES.map(([name], i) => [name, i]))
const MODELS = new Map(X86_MODELS.map((m) => [m[0], {vendor: m[1], features: new Set(m[4].split(' ').filter(Boolean)), sigs: m[3]}]))
const VENDORS = new Set(['Intel', 'AMD', 'Hygon'])

/** Names in the CPU map's order. */
export function inMapOrder(names: Iterable<string>): string[] {
  return [...names].filter((n) => ORDER.has(n)).sort((a, b) => (ORDER.get(a) ?? 0) - (ORDER.get(b) ?? 0))
}

export function isMapFeature(name: string): boolean {
  return ORDER.has(name)
}

/** Parses one `<cpu>` element as libvirt's virCPUDefParseXML with VIR_CPU_TYPE_AUTO does (the parts the x86 driver uses). */
export function parseX86Cpu(xml: string, domain = FROM_CPU): X86CpuDef {
  const root = parseXml(xml, 'cpu', domain)
  if (root.name !== 'cpu') throw errors(domain, ErrorCode.XML_ERROR, "XML error: XML does not contain expected 'cpu' element")
  const arch = textOf(child(root, 'arch')) || undefined
  const type = arch !== undefined ? 'host' : 'guest'
  const mode = attr(root, 'mode') ?? 'custom'
  const model = textOf(child(root, 'model')) || undefined
  const features: CpuFeature[] = []
  for (const f of childrenNamed(root, 'feature')) {
    const name = attr(f, 'name') ?? ''
    const p = attr(f, 'policy') ?? 'require'
    if (!POLICIES.includes(p)) throw errors(domain, ErrorCode.XML_ERROR, `XML error: Invalid CPU feature policy '${p}'`)
    features.push({name, policy: p as FeaturePolicy})
  }
  if (type === 'guest' && mode === 'custom' && model === undefined && features.length > 0) {
    throw errors(domain, ErrorCode.XML_ERROR, 'XML error: Non-empty feature list specified without CPU model')
  }
  return {type, mode, match: attr(root, 'match'), arch, model, vendor: textOf(child(root, 'vendor')) || undefined, features}
}

function errors(domain: number, code: number, msg: string): VirError {
  return new VirError(code, domain, msg)
}

function modelFeatures(name: string, domain: number): Set<string> {
  const m = MODELS.get(name)
  if (!m) throw errors(domain, ErrorCode.INTERNAL_ERROR, `internal error: Unknown CPU model ${name}`)
  return modelDataOf(name)
}

/**
 * A model's feature data as libvirt 9.0 holds it: a model with a signature in the map has its
 * signature where `monitor` would be, so its data lacks `monitor` even when the model lists it
 * (observed: such models decode with `monitor` required on top, and a baseline of one disables it).
 */
function modelDataOf(name: string): Set<string> {
  const m = MODELS.get(name)
  const set = new Set(m?.features)
  if (m?.sigs) set.delete('monitor')
  return set
}

/** Whether libvirt's baseline ends by disabling `monitor` for this model (see modelDataOf). */
function lostMonitor(name: string, data: ReadonlySet<string>): boolean {
  const m = MODELS.get(name)
  return m !== undefined && m.sigs !== '' && m.features.has('monitor') && !data.has('monitor')
}

/**
 * libvirt's x86ModelFromCPU: with 'all', the model's features plus the required (and forced) ones minus
 * the disabled (and forbidden) ones; with one policy, the features of that policy (plus the model's
 * for 'require'). A host CPU has required features only.
 */
export function cpuFeatureSet(cpu: X86CpuDef, policy: FeaturePolicy | 'all', domain = FROM_CPU): Set<string> {
  if (cpu.type === 'host' && policy !== 'require' && policy !== 'all') return new Set()
  const set = cpu.model !== undefined && (policy === 'require' || policy === 'all') ? modelFeatures(cpu.model, domain) : new Set<string>()
  for (const f of cpu.features) {
    if ((policy === 'all' && f.policy === 'optional') || (policy !== 'all' && f.policy !== policy)) continue
    if (!ORDER.has(f.name)) throw errors(domain, ErrorCode.INTERNAL_ERROR, `internal error: Unknown CPU feature ${f.name}`)
    if (policy !== 'all' || f.policy === 'force' || f.policy === 'require') set.add(f.name)
    else set.delete(f.name)
  }
  return set
}

export interface X86Signature {
  family: number
  model: number
  stepping: number
}

function hasSignature(model: string, sig: X86Signature | undefined): boolean {
  if (!sig) return false
  const sigs = MODELS.get(model)?.sigs ?? ''
  return sigs
    .split(' ')
    .filter(Boolean)
    .some((s) => {
      const [f, m] = s.split('/').map(Number)
      return f === sig.family && m === sig.model
    })
}

export interface DecodedCpu {
  model: string
  vendor?: string
  features: CpuFeature[]
}

/**
 * libvirt's x86Decode for a guest CPU: newest models first; only models the hypervisor has (when `hv`
 * is given) and of the data's vendor; each candidate lists the data's features beyond the model
 * (require) and the model's features, and the hypervisor's blockers, the data lacks (disable); the
 * preferred model wins outright, else a model matching the signature, else the shortest list.
 */
export function decodeX86Guest(
  data: ReadonlySet<string>,
  vendor: string | undefined,
  hv: HvModels | undefined,
  preferred?: string,
  sig?: X86Signature,
): DecodedCpu {
  let best: {name: string; features: CpuFeature[]} | undefined
  for (let i = X86_MODELS.length - 1; i >= 0; i--) {
    const [name, mvendor] = X86_MODELS[i]
    const blockers = hv?.get(name)
    if (hv && blockers === undefined) continue
    if (vendor && mvendor && mvendor !== vendor) continue
    // What the hypervisor cannot give this model is disabled whatever the data says.
    const modelData = modelDataOf(name)
    const copy = new Set(data)
    for (const b of blockers ?? []) {
      if (!ORDER.has(b)) continue
      modelData.add(b)
      copy.delete(b)
    }
    const features: CpuFeature[] = [
      ...inMapOrder([...copy].filter((f) => !modelData.has(f))).map((f): CpuFeature => ({name: f, policy: 'require'})),
      ...inMapOrder([...modelData].filter((f) => !copy.has(f))).map((f): CpuFeature => ({name: f, policy: 'disable'})),
    ]
    const cand = {name, features}
    if (preferred === name) {
      best = cand
      break
    }
    if (!best) {
      best = cand
      continue
    }
    if (sig && hasSignature(best.name, sig) && !hasSignature(name, sig)) continue
    if (best.features.length > features.length || (sig && hasSignature(name, sig) && !hasSignature(best.name, sig))) best = cand
  }
  if (!best) throw errors(FROM_CPU, ErrorCode.INTERNAL_ERROR, 'internal error: Cannot find suitable CPU model for given data')
  return {model: best.name, vendor, features: best.features}
}

/** virConnectBaselineHypervisorCPU flags. */
export const HvBaselineFlags = {EXPAND_FEATURES: 1, MIGRATABLE: 2} as const

/** libvirt's virCPUx86Baseline against a hypervisor's models: the common features decoded to the closest model it has. */
export function baselineX86(cpus: X86CpuDef[], hv: HvModels | undefined, known?: ReadonlySet<string>): {cpu: DecodedCpu; outputVendor: boolean} {
  cpus.forEach((c, i) => {
    if (c.model === undefined) throw errors(FROM_CPU, ErrorCode.INVALID_ARG, `invalid argument: no CPU model specified at index ${i}`)
  })
  const base = cpuFeatureSet(cpus[0], 'all')
  let outputVendor = cpus[0].vendor !== undefined
  let vendor = cpus[0].vendor
  if (vendor !== undefined && !VENDORS.has(vendor))
    throw errors(FROM_CPU, ErrorCode.OPERATION_FAILED, `operation failed: Unknown CPU vendor ${vendor}`)
  let preferred = cpus[0].model
  let matching = true
  for (const c of cpus.slice(1)) {
    if (matching && c.model !== undefined) {
      if (preferred === undefined) preferred = c.model
      else if (preferred !== c.model) {
        preferred = undefined
        matching = false
      }
    }
    const set = cpuFeatureSet(c, 'all')
    const mvendor = c.model === undefined ? '' : (MODELS.get(c.model)?.vendor ?? '')
    if (c.vendor && mvendor && c.vendor !== mvendor) {
      throw errors(
        FROM_CPU,
        ErrorCode.OPERATION_FAILED,
        `operation failed: CPU vendor ${mvendor} of model ${c.model} differs from vendor ${c.vendor}`,
      )
    }
    let vn = c.vendor
    if (vn === undefined) {
      outputVendor = false
      if (mvendor) vn = mvendor
    }
    if (vn !== undefined) {
      if (vendor === undefined) {
        if (!VENDORS.has(vn)) throw errors(FROM_CPU, ErrorCode.OPERATION_FAILED, `operation failed: Unknown CPU vendor ${vn}`)
        vendor = vn
      } else if (vendor !== vn) throw errors(FROM_CPU, ErrorCode.OPERATION_FAILED, 'operation failed: CPU vendors do not match')
    }
    for (const f of [...base]) if (!set.has(f)) base.delete(f)
  }
  // Only what the hypervisor knows of (features it has no name for are dropped).
  if (known) for (const f of [...base]) if (!known.has(f)) base.delete(f)
  if (base.size === 0) throw errors(FROM_CPU, ErrorCode.OPERATION_FAILED, 'operation failed: CPUs are incompatible')
  const cpu = decodeX86Guest(base, vendor, hv, preferred)
  if (lostMonitor(cpu.model, base) && !cpu.features.some((f) => f.name === 'monitor')) cpu.features.push({name: 'monitor', policy: 'disable'})
  return {cpu, outputVendor}
}

/** libvirt's virCPUx86ExpandFeatures for a guest CPU: the model's features by name, the explicit policies applied, sorted by name. */
export function expandX86(cpu: DecodedCpu): CpuFeature[] {
  const out = new Map<string, FeaturePolicy>()
  for (const f of inMapOrder(modelFeatures(cpu.model, FROM_CPU))) out.set(f, 'require')
  for (const f of cpu.features) if (f.policy === 'require' || f.policy === 'disable') out.set(f.name, f.policy)
  return [...out.entries()].map(([name, policy]) => ({name, policy})).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
}

/** A guest CPU as libvirt's virCPUDefFormat writes it for mode='custom' match='exact', fallback forbidden. */
export function formatGuestCpu(cpu: {model: string; vendor?: string; features: readonly CpuFeature[]}, indent = ''): string {
  const lines = [`${indent}<cpu mode='custom' match='exact'>`, `${indent}  <model fallback='forbid'>${cpu.model}</model>`]
  if (cpu.vendor) lines.push(`${indent}  <vendor>${cpu.vendor}</vendor>`)
  for (const f of cpu.features) lines.push(`${indent}  <feature policy='${f.policy}' name='${f.name}'/>`)
  lines.push(`${indent}</cpu>`)
  return lines.join('\n') + '\n'
}
