/**
 * virConnectBaselineCPU and virConnectCompareCPU on x86, as libvirt computes them from its CPU map:
 * each CPU's features (its model's plus the required ones, minus the disabled ones) are intersected
 * and the result decoded to the closest guest model with the features beyond it.
 */
import {ErrorCode, ErrorDomain, VirError, errors} from '../errors.js'
import {X86_FEATURES} from './cpu-map-x86.js'
import {X86_MODELS} from './cpu-map-x86-models.js'
import {attr, child, childrenNamed, parseXml, textOf} from './xml.js'

/** virConnectBaselineCPU flags. */
export const BaselineFlags = {EXPAND_FEATURES: 1, MIGRATABLE: 2} as const
/** virCPUCompareResult */
export const CpuCompare = {ERROR: -1, INCOMPATIBLE: 0, IDENTICAL: 1, SUPERSET: 2} as const

interface ParsedCpu {
  vendor?: string
  features: Set<string>
}

const ORDER = new Map(X86_FEATURES.map(([name], i) => [name, i]))
const NON_MIGRATABLE = new Set(X86_FEATURES.filter((f) => f[5] === false).map((f) => f[0]))

function parseCpu(xml: string, domain: number): ParsedCpu {
  const root = parseXml(xml, 'cpu', domain)
  const cpu = root.name === 'cpu' ? root : (child(child(root, 'host'), 'cpu') ?? child(root, 'cpu'))
  if (!cpu) throw errors.xmlError(domain, 'missing CPU definition')
  const modelName = textOf(child(cpu, 'model'))
  if (!modelName) throw errors.invalidArg(domain, 'no CPU model specified')
  const model = X86_MODELS.find((m) => m[0] === modelName)
  if (!model) throw new VirError(ErrorCode.INTERNAL_ERROR, domain, `internal error: Unknown CPU model ${modelName}`)
  const features = new Set(model[4].split(' ').filter(Boolean))
  for (const f of childrenNamed(cpu, 'feature')) {
    const name = attr(f, 'name') ?? ''
    if (!ORDER.has(name)) throw new VirError(ErrorCode.INTERNAL_ERROR, domain, `internal error: Unknown CPU feature ${name}`)
    const policy = attr(f, 'policy') ?? 'require'
    if (policy === 'disable' || policy === 'forbid') features.delete(name)
    else if (policy !== 'optional') features.add(name)
  }
  return {vendor: textOf(child(cpu, 'vendor')) || model[1] || undefined, features}
}

/** The closest guest model (newest first; a model needing a missing feature is out; fewest extra features wins). */
function closestModel(features: Set<string>, vendor: string | undefined): {name: string; features: Set<string>} {
  let best: {name: string; features: Set<string>; extra: number} | undefined
  for (let i = X86_MODELS.length - 1; i >= 0; i--) {
    const [name, mv, , , list] = X86_MODELS[i]
    if (vendor && mv && mv !== vendor) continue
    // Models libvirt never decodes a guest CPU to.
    if (/-noTSX-IBRS$|-noTSX$/.test(name) && /^(Skylake|Icelake|Cascadelake)/.test(name)) continue
    if (name.startsWith('cpu64-rhel')) continue
    const mf = new Set(list.split(' ').filter(Boolean))
    if ([...mf].some((f) => !features.has(f))) continue
    const extra = [...features].filter((f) => !mf.has(f)).length
    if (!best || extra < best.extra) best = {name, features: mf, extra}
  }
  if (!best) throw errors.internal(ErrorDomain.NONE, 'Cannot find suitable CPU model for given data')
  return best
}

/** The baseline CPU XML of `xmlCpus`; `dropped` are features the hypervisor cannot give a guest. */
export function baselineCpu(xmlCpus: string[], flags: number, domain: number, dropped: ReadonlySet<string> = new Set()): string {
  if (xmlCpus.length === 0) throw errors.invalidArg(domain, 'nCpus in virConnectBaselineCPU must be greater than 0')
  const cpus = xmlCpus.map((x) => parseCpu(x, domain))
  const vendors = new Set(cpus.map((c) => c.vendor).filter((v) => v !== undefined))
  if (vendors.size > 1) throw new VirError(ErrorCode.OPERATION_FAILED, domain, 'operation failed: CPU vendors do not match')
  const vendor = [...vendors][0]
  let common = [...cpus[0].features].filter((f) => cpus.every((c) => c.features.has(f)) && !dropped.has(f))
  if (flags & BaselineFlags.MIGRATABLE) common = common.filter((f) => !NON_MIGRATABLE.has(f))
  const set = new Set(common)
  const model = closestModel(set, vendor)
  // Expanded, every feature is listed by name; otherwise the extra ones in the map's order.
  const listed =
    flags & BaselineFlags.EXPAND_FEATURES
      ? [...common].sort()
      : common.filter((f) => !model.features.has(f)).sort((a, b) => (ORDER.get(a) ?? 0) - (ORDER.get(b) ?? 0))
  const lines = ["<cpu mode='custom' match='exact'>", `  <model fallback='forbid'>${model.name}</model>`]
  if (vendor) lines.push(`  <vendor>${vendor}</vendor>`)
  for (const f of listed) lines.push(`  <feature policy='require' name='${f}'/>`)
  lines.push('</cpu>')
  return lines.join('\n') + '\n'
}

/** virConnectCompareCPU: how a CPU definition relates to the host CPU's features. */
export function compareCpu(xml: string, host: {vendor?: string; features: Set<string>}, domain: number): number {
  const cpu = parseCpu(xml, domain)
  if (cpu.vendor && host.vendor && cpu.vendor !== host.vendor) return CpuCompare.INCOMPATIBLE
  if ([...cpu.features].some((f) => !host.features.has(f))) return CpuCompare.INCOMPATIBLE
  return cpu.features.size === host.features.size ? CpuCompare.IDENTICAL : CpuCompare.SUPERSET
}
