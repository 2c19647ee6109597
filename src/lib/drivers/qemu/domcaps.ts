/**
 * Domain capabilities of the QEMU driver (virConnectGetDomainCapabilities): built from the probed
 * QEMU (machines, CPU models, KVM) and listing only what this driver accepts when a guest is
 * defined (validate.ts, validate-devices.ts, argv*.ts): disk devices and buses, VNC and SPICE
 * graphics, the video models argv.ts maps, virtio RNG, USB redirection, unix and spicevmc
 * channels; device classes the driver does not build (hostdev, filesystem, tpm) are
 * supported='no'. Argument checks and errors follow libvirt's qemuConnectGetDomainCapabilities.
 */
import {ErrorCode, ErrorDomain, VirError, errors} from '../../errors.js'
import {VIRT_TYPES} from '../../conf/domain.js'
import {
  NO,
  UNSUPPORTED_DEVICES,
  UNSUPPORTED_FEATURES,
  formatDomainCaps,
  type CapsCpuModel,
  type CapsSection,
  type DomainCaps,
} from '../../conf/domain-caps.js'
import {VIDEO_MODELS, isQ35} from './argv.js'
import {canonicalMachine, defaultMachine} from './capabilities.js'
import type {QemuProbe} from './context.js'
import type {DomainCapsArgs} from '../types.js'
import {checkEmulator} from './definitions.js'
import {hostModelCpu, hvModels} from './hypervisor-cpu.js'
import {x86ModelNames, x86ModelVendor} from '../../conf/cpu-x86.js'

const D = ErrorDomain.QEMU

/** libvirt's virArch names (anything else is an "unknown architecture"). */
export const ARCHES = new Set(
  (
    'alpha armv6l armv7l armv7b aarch64 cris i686 ia64 lm32 loongarch64 m68k microblaze microblazeel mips mipsel mips64 mips64el ' +
    'openrisc parisc parisc64 ppc ppcle ppc64 ppc64le ppcemb riscv32 riscv64 s390 s390x sh4 sh4eb sparc sparc64 unicore32 x86_64 ' +
    'xtensa xtensaeb'
  ).split(' '),
)

/** libvirt's order of video models, restricted to those argv.ts maps (plus 'none'). */
const VIDEO_ORDER = ['vga', 'cirrus', 'vmvga', 'qxl', 'virtio', 'none', 'bochs', 'ramfb']

/** The device classes this driver builds beyond disk, graphics and video (validate-devices.ts). */
const QEMU_DEVICES: Readonly<Record<string, CapsSection>> = {
  rng: {
    supported: true,
    enums: [
      {name: 'model', values: ['virtio']},
      {name: 'backendModel', values: ['random']},
    ],
  },
  redirdev: {supported: true, enums: [{name: 'bus', values: ['usb']}]},
  channel: {supported: true, enums: [{name: 'type', values: ['unix', 'spicevmc']}]},
}

/** The CPU vendor a model name belongs to (the schema wants one; libvirt takes it from its CPU map). */
function cpuVendor(model: string): string {
  if (/^(qemu|kvm|pentium|486|base|max|host)/.test(model)) return 'unknown'
  if (/^(EPYC|Opteron|phenom|athlon)/.test(model)) return 'AMD'
  if (model.startsWith('Dhyana')) return 'Hygon'
  return 'Intel'
}

/** The domain capabilities XML for this driver's QEMU, or libvirt's error for the arguments given. */
export function qemuDomainCapabilities(probe: QemuProbe, emulator: string, args: DomainCapsArgs): string {
  const {caps, target} = probe
  if (args.flags !== 0) {
    const msg = `unsupported flags (0x${args.flags.toString(16)}) in function qemuConnectGetDomainCapabilities`
    throw new VirError(ErrorCode.INVALID_ARG, D, msg, {str1: '%s', str2: msg})
  }
  let virttype = args.virttype ?? undefined
  if (virttype !== undefined && !VIRT_TYPES.has(virttype)) throw errors.invalidArg(D, `unknown virttype: ${virttype}`)
  if (virttype === 'none') virttype = undefined
  if (args.arch !== null && !ARCHES.has(args.arch)) throw errors.invalidArg(D, `unknown architecture: ${args.arch}`)
  const arch = args.arch ?? caps.arch
  if (args.emulatorbin !== null) {
    checkEmulator(emulator, args.emulatorbin)
    if (arch !== caps.arch) throw errors.invalidArg(D, `Emulator '${args.emulatorbin}' does not support arch '${arch}'`)
  } else if (arch !== caps.arch) {
    throw errors.configUnsupported(D, `unable to find any emulator to serve '${arch}' architecture`)
  }
  const path = args.emulatorbin ?? emulator
  const kvm = target.kvm
  if (virttype !== undefined && virttype !== 'qemu' && virttype !== 'kvm') {
    throw errors.invalidArg(D, `Emulator '${path}' does not support virt type '${virttype}'`)
  }
  if (virttype === 'kvm' && !kvm) throw errors.invalidArg(D, `the accel 'kvm' is not supported by '${path}' on this host`)
  const domain = virttype ?? (kvm ? 'kvm' : 'qemu')

  let machineName: string | undefined
  if (args.machine !== null) {
    machineName = canonicalMachine(caps, args.machine)
    if (machineName === undefined) throw errors.invalidArg(D, `the machine '${args.machine}' is not supported by emulator '${path}'`)
  } else {
    machineName = defaultMachine(caps)?.name
  }
  const machine = caps.machines.find((m) => m.name === machineName)
  const q35 = isQ35(machineName)

  // Like libvirt: the named models, without QEMU's versioned aliases (-v1...) and the special ones.
  const named = caps.cpuModels.filter((m) => !/-v\d+$/.test(m) && !['base', 'max', 'host'].includes(m))
  // With QEMU's CPU data (caps-cpu.ts): only the models libvirt's CPU map knows, usable unless QEMU names blockers.
  const data = domain === 'kvm' ? caps.cpuData?.kvm : caps.cpuData?.tcg
  const blockers = data ? hvModels(data) : undefined
  const mapModels = new Set(x86ModelNames())
  const models: CapsCpuModel[] = named
    .reverse()
    .filter((name) => !blockers || mapModels.has(name))
    .map((name) => {
      const b = blockers?.get(name)
      return {
        name,
        usable: b === undefined ? 'unknown' : b.length ? 'no' : 'yes',
        vendor: blockers ? x86ModelVendor(name) || 'unknown' : cpuVendor(name),
      }
    })
  const migratable = {name: '', values: ['on', 'off']}
  const dc: DomainCaps = {
    path,
    domain,
    machine: machineName,
    arch,
    vcpuMax: machine?.maxCpus,
    iothreads: false,
    os: {supported: true, firmware: [], loader: NO},
    cpu: {
      hostPassthrough: {supported: domain === 'kvm', enums: data ? [{...migratable, name: 'hostPassthroughMigratable'}] : []},
      maximum: {supported: true, enums: data ? [{...migratable, name: 'maximumMigratable'}] : []},
      hostModel: {supported: true, cpu: data ? hostModelCpu(data, true) : undefined},
      custom: {supported: true, models},
    },
    memoryBacking: NO,
    devices: [
      [
        'disk',
        {
          supported: true,
          enums: [
            {name: 'diskDevice', values: ['disk', 'cdrom']},
            {name: 'bus', values: q35 ? ['scsi', 'virtio', 'sata'] : ['ide', 'scsi', 'virtio', 'sata']},
            {name: 'model', values: []},
          ],
        },
      ],
      ['graphics', {supported: true, enums: [{name: 'type', values: ['vnc', 'spice']}]}],
      ['video', {supported: true, enums: [{name: 'modelType', values: VIDEO_ORDER.filter((m) => m === 'none' || m in VIDEO_MODELS)}]}],
      // What validate-devices.ts accepts (in libvirt's order and place).
      ...UNSUPPORTED_DEVICES.map(([name, no]): readonly [string, CapsSection] => [name, QEMU_DEVICES[name] ?? no]),
    ],
    features: UNSUPPORTED_FEATURES,
  }
  return formatDomainCaps(dc)
}
