/**
 * libvirt's x86 CPU comparison (x86Compute / virCPUx86Compare): how a CPU definition relates to a host
 * CPU given as model + features (the hypervisor's host-model CPU), with libvirt's reasons when it is
 * incompatible ("the CPU is incompatible with host CPU: ..." when the caller asked for an error).
 */
import {VirError} from '../errors.js'
import {FROM_CPU, cpuFeatureSet, inMapOrder, parseX86Cpu, type X86CpuDef} from './cpu-x86-guest.js'

/** VIR_ERR_CPU_INCOMPATIBLE */
export const CPU_INCOMPATIBLE = 91
/** virCPUCompareResult */
export const CpuCompareResult = {ERROR: -1, INCOMPATIBLE: 0, IDENTICAL: 1, SUPERSET: 2} as const

const X86_ARCHES = new Set(['x86_64', 'i686'])

function minus(a: ReadonlySet<string>, ...bs: ReadonlySet<string>[]): Set<string> {
  return new Set([...a].filter((f) => !bs.some((b) => b.has(f))))
}

/** x86Compute without the guest-data part: the result, and libvirt's message when incompatible. */
export function computeX86(host: X86CpuDef, cpu: X86CpuDef): {result: number; message?: string} {
  const incompatible = (message: string) => ({result: CpuCompareResult.INCOMPATIBLE, message})
  const names = (s: ReadonlySet<string>) => inMapOrder(s).join(', ')
  if (cpu.arch !== undefined && !X86_ARCHES.has(cpu.arch)) return incompatible(`CPU arch ${cpu.arch} does not match host arch`)
  if (cpu.vendor !== undefined && (host.vendor === undefined || cpu.vendor !== host.vendor)) {
    return incompatible(`host CPU vendor does not match required CPU vendor ${cpu.vendor}`)
  }
  const hostSet = cpuFeatureSet(host, 'all')
  const force = cpuFeatureSet(cpu, 'force')
  const require = cpuFeatureSet(cpu, 'require')
  const optional = cpuFeatureSet(cpu, 'optional')
  const disable = cpuFeatureSet(cpu, 'disable')
  const forbid = cpuFeatureSet(cpu, 'forbid')
  const forbidden = new Set([...forbid].filter((f) => hostSet.has(f)))
  if (forbidden.size) return incompatible(`Host CPU provides forbidden features: ${names(forbidden)}`)
  const required = minus(require, force, optional, disable)
  const missing = minus(required, hostSet)
  if (missing.size) return incompatible(`Host CPU does not provide required features: ${names(missing)}`)
  const diff = minus(hostSet, optional, required, disable, force)
  if (diff.size === 0) return {result: CpuCompareResult.IDENTICAL}
  if (cpu.type === 'guest' && cpu.match === 'strict')
    return incompatible(`Host CPU does not strictly match guest CPU: Extra features: ${names(diff)}`)
  return {result: CpuCompareResult.SUPERSET}
}

/** virCPUCompareXML on x86: INCOMPATIBLE, IDENTICAL or SUPERSET, or libvirt's CPU_INCOMPATIBLE error when `failIncompatible`. */
export function compareX86Xml(host: X86CpuDef, xml: string, failIncompatible: boolean): number {
  const cpu = parseX86Cpu(xml)
  const {result, message} = computeX86(host, cpu)
  if (result === CpuCompareResult.INCOMPATIBLE && failIncompatible) {
    const text = message === undefined ? 'the CPU is incompatible with host CPU' : `the CPU is incompatible with host CPU: ${message}`
    throw new VirError(CPU_INCOMPATIBLE, FROM_CPU, text)
  }
  return result
}
