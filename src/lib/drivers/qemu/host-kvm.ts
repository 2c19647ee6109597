/**
 * What libvirt asks /dev/kvm about the host CPU: the feature MSRs KVM reports (KVM_GET_MSRS on the
 * system descriptor, for IA32_ARCH_CAPABILITIES) and the TSC frequency and scaling support (a scratch
 * VM and vCPU: KVM_GET_TSC_KHZ, KVM_CAP_TSC_CONTROL). ioctl() through koffi, loaded on first use.
 * Every failure is "unknown" (undefined), as when /dev/kvm is absent.
 */
import {closeSync, constants, openSync} from 'node:fs'
import {libc} from '../../os/libc.js'

const KVM_CREATE_VM = 0xae01
const KVM_CHECK_EXTENSION = 0xae03
const KVM_CREATE_VCPU = 0xae41
const KVM_GET_TSC_KHZ = 0xaea3
/** _IOWR(KVMIO, 0x88, struct kvm_msrs) */
const KVM_GET_MSRS = 0xc008ae88
const KVM_CAP_TSC_CONTROL = 60

interface Ioctl {
  ptr: (fd: number, req: number, arg: Buffer) => number
  int: (fd: number, req: number, arg: number) => number
}

let ioctl: Ioctl | undefined | null

function load(): Ioctl | undefined {
  if (ioctl === undefined) {
    try {
      const {lib} = libc()
      // koffi types its functions loosely; these are the C prototypes declared just here.
      ioctl = {
        ptr: lib.func('ioctl', 'int', ['int', 'unsigned long', 'void *']) as Ioctl['ptr'],
        int: lib.func('ioctl', 'int', ['int', 'unsigned long', 'unsigned long']) as Ioctl['int'],
      }
    } catch {
      ioctl = null
    }
  }
  return ioctl ?? undefined
}

function withKvm<T>(fn: (io: Ioctl, fd: number) => T | undefined): T | undefined {
  const io = load()
  if (!io) return undefined
  let fd: number
  try {
    fd = openSync('/dev/kvm', constants.O_RDWR)
  } catch {
    return undefined
  }
  try {
    return fn(io, fd)
  } finally {
    closeSync(fd)
  }
}

/** One feature MSR as KVM reports it, or undefined. */
export function kvmFeatureMsr(index: number): bigint | undefined {
  return withKvm((io, fd) => {
    const buf = Buffer.alloc(24)
    buf.writeUInt32LE(1, 0)
    buf.writeUInt32LE(index, 8)
    return io.ptr(fd, KVM_GET_MSRS, buf) === 1 ? buf.readBigUInt64LE(16) : undefined
  })
}

/** The TSC frequency in Hz and whether KVM can scale it, or undefined. */
export function kvmTscInfo(): {frequency: number; scaling: boolean} | undefined {
  return withKvm((io, fd) => {
    const vm = io.int(fd, KVM_CREATE_VM, 0)
    if (vm < 0) return undefined
    try {
      const vcpu = io.int(vm, KVM_CREATE_VCPU, 0)
      if (vcpu < 0) return undefined
      try {
        const khz = io.int(vcpu, KVM_GET_TSC_KHZ, 0)
        if (khz <= 0) return undefined
        return {frequency: khz * 1000, scaling: io.int(vm, KVM_CHECK_EXTENSION, KVM_CAP_TSC_CONTROL) > 0}
      } finally {
        closeSync(vcpu)
      }
    } finally {
      closeSync(vm)
    }
  })
}

const KVM_CAP_NR_VCPUS = 9
const KVM_CAP_MAX_VCPUS = 66

/** The most vCPUs KVM allows a guest (KVM_CAP_MAX_VCPUS, else KVM_CAP_NR_VCPUS, else 4), as libvirt asks; undefined without /dev/kvm. */
export function kvmMaxVcpus(): number | undefined {
  return withKvm((io, fd) => {
    const max = io.int(fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS)
    if (max > 0) return max
    const nr = io.int(fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS)
    return nr > 0 ? nr : 4
  })
}
