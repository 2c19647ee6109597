/**
 * The host CPU as libvirt's capabilities describe it on x86: CPUID read through the kernel's cpuid
 * device (/dev/cpu/0/cpuid), IA32_ARCH_CAPABILITIES and the TSC from /dev/kvm (host-kvm.ts), decoded
 * against libvirt's CPU map (conf/cpu-x86.ts); microcode from /proc/cpuinfo.
 */
import {closeSync, openSync, readFileSync, readSync} from 'node:fs'
import {decodeX86Host, type CpuidReader, type X86Signature} from '../../conf/cpu-x86.js'
import {kvmFeatureMsr, kvmTscInfo} from './host-kvm.js'

export interface HostCpu {
  model?: string
  vendor?: string
  microcode?: number
  signature?: X86Signature
  counter?: {frequency: number; scaling: boolean}
  /** Physical address bits (`<maxphysaddr mode='emulate' bits=.../>`). */
  physBits?: number
  features: string[]
}

const ARCH_CAPABILITIES = 0x10a

/** A CPUID reader over /dev/cpu/0/cpuid (the offset selects leaf and sub-leaf), or undefined. */
export function devCpuidReader(path = '/dev/cpu/0/cpuid'): CpuidReader | undefined {
  let fd: number
  try {
    fd = openSync(path, 'r')
  } catch {
    return undefined
  }
  const max = new Map<number, number>()
  const raw = (leaf: number, sub: number): number[] | undefined => {
    const b = Buffer.alloc(16)
    try {
      if (readSync(fd, b, 0, 16, (BigInt(sub) << 32n) | BigInt(leaf)) !== 16) return undefined
    } catch {
      return undefined
    }
    return [b.readUInt32LE(0), b.readUInt32LE(4), b.readUInt32LE(8), b.readUInt32LE(12)]
  }
  const reader: CpuidReader = (leaf, sub) => {
    // Leaves above the CPU's maximum (basic or extended) repeat other data: treat them as absent.
    const base = leaf >= 0x80000000 ? 0x80000000 : 0
    if (!max.has(base)) max.set(base, raw(base, 0)?.[0] ?? 0)
    if (leaf > (max.get(base) ?? 0)) return undefined
    return raw(leaf, sub)
  }
  process.once('exit', () => {
    try {
      closeSync(fd)
    } catch {
      // already closed
    }
  })
  return reader
}

/** Reads and decodes the host CPU; an empty description when CPUID cannot be read (non-x86, no cpuid device). */
export function readHostCpu(cpuinfo?: string): HostCpu {
  const cpuid = devCpuidReader()
  if (!cpuid) return {features: []}
  const l1 = cpuid(1, 0)
  const msr = new Map<number, bigint>()
  // libvirt asks for IA32_ARCH_CAPABILITIES only when CPUID says the MSR exists (leaf 7 edx bit 29).
  if (((cpuid(7, 0)?.[3] ?? 0) & (1 << 29)) !== 0) {
    const v = kvmFeatureMsr(ARCH_CAPABILITIES)
    if (v !== undefined) msr.set(ARCH_CAPABILITIES, v)
  }
  const decoded = decodeX86Host({cpuid, msr})
  let text = cpuinfo
  if (text === undefined) {
    try {
      text = readFileSync('/proc/cpuinfo', 'utf8')
    } catch {
      text = ''
    }
  }
  const mc = /^microcode\s*:\s*(\S+)/m.exec(text)?.[1]
  const microcode = mc === undefined ? undefined : Number(mc)
  const physBits = cpuid(0x80000008, 0)?.[0]
  return {
    model: decoded?.model,
    vendor: decoded?.vendor,
    microcode: microcode !== undefined && Number.isFinite(microcode) ? microcode : undefined,
    signature: l1 ? decoded?.signature : undefined,
    counter: decoded?.all.includes('invtsc') ? kvmTscInfo() : undefined,
    physBits: physBits === undefined ? undefined : physBits & 0xff,
    features: decoded?.features ?? [],
  }
}
