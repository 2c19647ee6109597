/**
 * QEMU's own CPU model data, probed with the rest of the capabilities (and cached with them), as libvirt
 * keeps it per accelerator: the static expansion of the `max` CPU (TCG) or `host` CPU (KVM), once
 * migratable and once not (features only the second has are not migratable), and the CPU definitions
 * with the features each cannot have under that accelerator (unavailable-features, libvirt's blockers).
 * QEMU's feature names are translated to the CPU map's where they differ.
 */
import type {QmpExec} from './probe-qmp.js'

export interface QemuCpuModel {
  name: string
  /** Features this model has that the accelerator cannot provide (libvirt names). */
  blockers: string[]
}

export interface AccelCpuData {
  /** The expanded host CPU's enabled features (libvirt names), in QEMU's order. */
  features: string[]
  /** Every feature QEMU knows (enabled or not): a baseline keeps only these. */
  known: string[]
  /** Those of `features` only a non-migratable CPU has (invtsc under KVM). */
  nonMigratable: string[]
  vendor?: string
  signature?: {family: number; model: number; stepping: number}
  /** query-cpu-definitions, in QEMU's order. */
  models: QemuCpuModel[]
}

export interface QemuCpuData {
  tcg?: AccelCpuData
  kvm?: AccelCpuData
}

/** QEMU's spelling -> the CPU map's, where they differ (libvirt's virQEMUCapsCPUFeaturesX86). */
const QEMU_TO_MAP: Readonly<Record<string, string>> = {
  pclmulqdq: 'pclmuldq',
  'ds-cpl': 'ds_cpl',
  'tsc-adjust': 'tsc_adjust',
  'fxsr-opt': 'fxsr_opt',
  'lahf-lm': 'lahf_lm',
  'cmp-legacy': 'cmp_legacy',
  'nodeid-msr': 'nodeid_msr',
  'perfctr-core': 'perfctr_core',
  'perfctr-nb': 'perfctr_nb',
  'kvm-pv-eoi': 'kvm_pv_eoi',
  'kvm-pv-unhalt': 'kvm_pv_unhalt',
}

export function featureFromQemu(name: string): string {
  return QEMU_TO_MAP[name] ?? name
}

const VENDOR_NAMES: Readonly<Record<string, string>> = {GenuineIntel: 'Intel', AuthenticAMD: 'AMD', HygonGenuine: 'Hygon'}

interface Expansion {
  model?: {name: string; props?: Record<string, unknown>}
}

function enabled(props: Record<string, unknown>): string[] {
  return Object.entries(props)
    .filter(([, v]) => v === true)
    .map(([k]) => k)
}

/** Asks the probe QEMU (running with the accelerator in question) for its CPU model data. */
export async function probeCpuData(exec: QmpExec, accel: 'kvm' | 'tcg'): Promise<AccelCpuData> {
  const name = accel === 'kvm' ? 'host' : 'max'
  const mig = ((await exec('query-cpu-model-expansion', {type: 'static', model: {name}})) as Expansion).model?.props ?? {}
  const all = ((await exec('query-cpu-model-expansion', {type: 'static', model: {name, props: {migratable: false}}})) as Expansion).model?.props ?? {}
  const defs = (await exec('query-cpu-definitions')) as Array<{name: string; 'unavailable-features'?: string[]}>
  const migSet = new Set(enabled(mig))
  const num = (k: string) => (typeof all[k] === 'number' ? all[k] : 0)
  const vendor = typeof all.vendor === 'string' ? VENDOR_NAMES[all.vendor] : undefined
  return {
    features: enabled(all).map(featureFromQemu),
    known: Object.entries(all)
      .filter(([, v]) => typeof v === 'boolean')
      .map(([k]) => featureFromQemu(k)),
    nonMigratable: enabled(all)
      .filter((f) => !migSet.has(f))
      .map(featureFromQemu),
    ...(vendor ? {vendor} : {}),
    signature: {family: num('family'), model: num('model'), stepping: num('stepping')},
    models: defs.map((d) => ({name: d.name, blockers: (d['unavailable-features'] ?? []).map(featureFromQemu)})),
  }
}
