/**
 * The QEMU driver's hypervisor CPU APIs (virConnectBaselineHypervisorCPU, virConnectCompareHypervisorCPU)
 * and the CPU part of its domain capabilities, computed as libvirt 9.0 does from QEMU's own CPU data
 * (caps-cpu.ts): the emulator/arch/machine/virttype arguments resolved as virQEMUCapsCacheLookupDefault
 * does, the host-model CPU decoded from the expanded `max`/`host` CPU, the baseline chosen among the
 * CPU models QEMU has with the features QEMU cannot give them disabled.
 */
import * as fs from 'node:fs'
import {ErrorCode, ErrorDomain, VirError, errors} from '../../errors.js'
import {VIRT_TYPES} from '../../conf/domain.js'
import {compareX86Xml} from '../../conf/cpu-x86-compare.js'
import {validateCpuXml} from '../../conf/cpu-validate.js'
import {compareCpu} from '../../conf/cpu-baseline.js'
import {x86ModelFeatures} from '../../conf/cpu-x86.js'
import {
  HvBaselineFlags,
  baselineX86,
  decodeX86Guest,
  expandX86,
  formatGuestCpu,
  isMapFeature,
  parseX86Cpu,
  type DecodedCpu,
  type X86CpuDef,
} from '../../conf/cpu-x86-guest.js'
import {checkFlags} from '../host-types.js'
import {canonicalMachine, errnoText, type QemuCaps} from './capabilities.js'
import type {AccelCpuData} from './caps-cpu.js'
import type {QemuProbe} from './context.js'
import {ARCHES} from './domcaps.js'

const D = ErrorDomain.QEMU
/** VIR_CONNECT_COMPARE_CPU_FAIL_INCOMPATIBLE, VIR_CONNECT_COMPARE_CPU_VALIDATE_XML */
const COMPARE_FAIL_INCOMPATIBLE = 1
const COMPARE_VALIDATE_XML = 2

export interface HvCpuArgs {
  emulator: string | null
  arch: string | null
  machine: string | null
  virttype: string | null
}

interface Resolved {
  caps: QemuCaps
  virttype: string
  data?: AccelCpuData
}

function archOf(caps: QemuCaps): string {
  return caps.arch === 'i386' ? 'i686' : caps.arch
}

function sameBinary(a: string, b: string): boolean {
  if (a === b) return true
  try {
    return fs.realpathSync(a) === fs.realpathSync(b)
  } catch {
    return false
  }
}

/** virQEMUCapsCacheLookupDefault: the QEMU binary, virt type and CPU data the arguments name, or libvirt's error. */
export function resolveHypervisor(probe: QemuProbe, args: HvCpuArgs): Resolved {
  const all = [probe.caps, ...(probe.compat ?? [])]
  let virttype = args.virttype ?? 'none'
  if (!VIRT_TYPES.has(virttype)) throw errors.invalidArg(D, `unknown virttype: ${virttype}`)
  if (args.arch !== null && !ARCHES.has(args.arch)) throw errors.invalidArg(D, `unknown architecture: ${args.arch}`)
  let caps: QemuCaps | undefined
  if (args.emulator !== null) {
    const given = args.emulator
    try {
      fs.accessSync(given, fs.constants.X_OK)
    } catch (err) {
      throw new VirError(ErrorCode.SYSTEM_ERROR, D, `Cannot check QEMU binary ${given}: ${errnoText(err as NodeJS.ErrnoException)}`)
    }
    caps = all.find((c) => sameBinary(c.emulator, given))
    if (!caps) throw errors.configUnsupported(D, `Emulator '${given}' is not supported by this daemon (it runs ${probe.caps.emulator})`)
    // A 64-bit x86 binary also serves i686 guests.
    const serves = args.arch === null || args.arch === archOf(caps) || (args.arch === 'i686' && archOf(caps) === 'x86_64')
    if (!serves) throw errors.invalidArg(D, `Emulator '${given}' does not support arch '${args.arch}'`)
  } else {
    const arch = args.arch ?? archOf(probe.caps)
    caps = all.find((c) => archOf(c) === arch)
    if (!caps) throw errors.configUnsupported(D, `unable to find any emulator to serve '${arch}' architecture`)
  }
  const kvm = probe.target.kvm
  if (virttype === 'none') virttype = kvm ? 'kvm' : 'qemu'
  if (!(virttype === 'qemu' || (virttype === 'kvm' && kvm))) {
    throw errors.invalidArg(D, `the accel '${virttype === 'kvm' ? 'kvm' : 'tcg'}' is not supported by '${caps.emulator}' on this host`)
  }
  if (args.machine !== null && canonicalMachine(caps, args.machine) === undefined) {
    throw errors.invalidArg(D, `the machine '${args.machine}' is not supported by emulator '${caps.emulator}'`)
  }
  return {caps, virttype, data: virttype === 'kvm' ? caps.cpuData?.kvm : caps.cpuData?.tcg}
}

/** The CPU models QEMU has under the accelerator, with what each cannot have. */
export function hvModels(data: AccelCpuData): Map<string, string[]> {
  return new Map(data.models.map((m) => [m.name, m.blockers]))
}

/** libvirt's host-model CPU for the accelerator: the expanded host CPU decoded to the closest model QEMU has. */
export function hostModelCpu(data: AccelCpuData, migratable: boolean): DecodedCpu {
  const skip = new Set(migratable ? data.nonMigratable : [])
  const features = new Set(data.features.filter((f) => isMapFeature(f) && !skip.has(f)))
  return decodeX86Guest(features, data.vendor, hvModels(data), undefined, data.signature)
}

function noModels(r: Resolved): VirError {
  return new VirError(
    ErrorCode.OPERATION_UNSUPPORTED,
    D,
    `Operation not supported: QEMU '${r.caps.emulator}' does not support any CPU models for virttype '${r.virttype}'`,
  )
}

export function baselineHypervisorCpu(probe: QemuProbe, args: HvCpuArgs, xmlCpus: string[], flags: number): string {
  checkFlags(flags, HvBaselineFlags.EXPAND_FEATURES | HvBaselineFlags.MIGRATABLE, 'qemuConnectBaselineHypervisorCPU', D)
  const cpus = xmlCpus.map((x) => parseX86Cpu(x))
  const r = resolveHypervisor(probe, args)
  if (!r.data || r.data.models.length === 0) throw noModels(r)
  const {cpu, outputVendor} = baselineX86(cpus, hvModels(r.data), new Set(r.data.known))
  const features = flags & HvBaselineFlags.EXPAND_FEATURES ? expandX86(cpu) : cpu.features
  return formatGuestCpu({model: cpu.model, vendor: outputVendor ? cpu.vendor : undefined, features})
}

/** CONNECT_COMPARE_CPU: `xml` against the host's CPU (its model's features and its own). */
export function compareHostCpu(probe: QemuProbe, xml: string, flags: number): number {
  checkFlags(flags, COMPARE_FAIL_INCOMPATIBLE | COMPARE_VALIDATE_XML, 'qemuConnectCompareCPU', D)
  if (flags & COMPARE_VALIDATE_XML) validateCpuXml(xml, D)
  const {cpu} = probe.host
  const features = new Set([...(x86ModelFeatures(cpu.model ?? '') ?? []), ...cpu.features])
  return compareCpu(xml, {vendor: cpu.vendor, features}, D)
}

export function compareHypervisorCpu(probe: QemuProbe, args: HvCpuArgs, xml: string, flags: number): number {
  checkFlags(flags, COMPARE_FAIL_INCOMPATIBLE | COMPARE_VALIDATE_XML, 'qemuConnectCompareHypervisorCPU', D)
  const r = resolveHypervisor(probe, args)
  if (!r.data) {
    throw new VirError(
      ErrorCode.OPERATION_UNSUPPORTED,
      D,
      `Operation not supported: QEMU '${r.caps.emulator}' does not support reporting CPU model for virttype '${r.virttype}'`,
    )
  }
  if (flags & COMPARE_VALIDATE_XML) validateCpuXml(xml, D)
  const hv = hostModelCpu(r.data, false)
  const host: X86CpuDef = {type: 'guest', mode: 'custom', match: 'exact', model: hv.model, vendor: hv.vendor, features: hv.features}
  return compareX86Xml(host, xml, (flags & COMPARE_FAIL_INCOMPATIBLE) !== 0)
}
