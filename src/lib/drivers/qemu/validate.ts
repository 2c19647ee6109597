/**
 * A domain definition made ready for this QEMU, before any argv is built:
 *
 *   applyQemuDefaults(def, target)   fills what libvirt's qemu post-parse fills in: arch, canonical
 *                                    machine type, emulator, disk bus/driver, NIC model,
 *                                    memballoon, serial ports behind consoles;
 *   validateForQemu(def, target)     refuses what this QEMU (or this driver) cannot run, with
 *                                    libvirt's errors.
 */
import {ErrorCode, ErrorDomain, VirError, errors} from '../../errors.js'
import type {DomainDef, DomainDisk} from '../../conf/domain.js'
import {attr, child, childrenNamed, el, type XmlElement} from '../../conf/xml.js'
import {VIDEO_MODELS, cpuTopology, defaultBus, isQ35, placeDisks, unsupported} from './argv.js'
import type {QemuMachine} from './capabilities.js'
import {prepareDevices} from './addresses.js'
import {validateDevices} from './validate-devices.js'
import {checkMachineOptions} from './argv-machine.js'
import {checkInterface} from './net-interface.js'

const D = ErrorDomain.QEMU

/** What the argv builder needs to know about the emulator (a subset of the probed capabilities). */
export interface QemuTarget {
  emulator: string
  arch: string
  machines: QemuMachine[]
  cpuModels: string[]
  /** Whether KVM is usable on this host. */
  kvm: boolean
  /** Whether `-sandbox` is available. */
  sandbox: boolean
}

function findMachine(machines: QemuMachine[], name: string): QemuMachine | undefined {
  return machines.find((m) => m.name === name) ?? machines.find((m) => m.alias === name)
}

function defaultMachine(machines: QemuMachine[]): QemuMachine | undefined {
  return machines.find((m) => m.isDefault) ?? machines[0]
}

const DISK_FORMATS = new Set(['raw', 'qcow2', 'qed', 'vmdk', 'vdi', 'vpc', 'vhdx', 'cloop', 'dmg', 'bochs', 'parallels'])

function devicesEl(root: XmlElement): XmlElement {
  let d = child(root, 'devices')
  if (!d) {
    d = el('devices')
    root.children.push(d)
  }
  return d
}

/**
 * Fills in what libvirt's qemu driver fills in when a definition is parsed: os arch, canonical
 * machine type (aliases such as 'pc' resolved), emulator, disk bus and driver, NIC model
 * (rtl8139, libvirt's x86 default), a virtio memballoon, and a serial port behind each serial
 * console. Modifies `def` in place. Unknown values are left for validateForQemu to report.
 */
export function applyQemuDefaults(def: DomainDef, target: QemuTarget): void {
  def.os.arch ??= target.arch
  if (def.os.machine === undefined) def.os.machine = defaultMachine(target.machines)?.name
  else {
    const m = findMachine(target.machines, def.os.machine)
    if (m) def.os.machine = m.name
  }
  def.devices.emulator ??= target.emulator
  for (const d of def.devices.disks) {
    d.bus ??= defaultBus(d.target)
    if (d.type === 'file' || d.type === 'block') {
      d.driverName ??= 'qemu'
      d.driverType ??= 'raw'
    }
  }
  for (const i of def.devices.interfaces) i.model ??= 'rtl8139'
  // Consoles of type serial are views of serial ports; libvirt adds the port when missing.
  def.devices.consoles.forEach((c, n) => {
    c.targetType ??= n === 0 ? 'serial' : 'virtio'
  })
  for (const c of def.devices.consoles) {
    if (c.targetType !== 'serial') continue
    const port = c.targetPort ?? 0
    if (!def.devices.serials.some((s) => (s.targetPort ?? 0) === port)) {
      def.devices.serials.push({type: c.type, path: c.path, targetPort: port, targetType: 'isa-serial'})
    }
  }
  for (const s of def.devices.serials) s.targetType ??= 'isa-serial'
  const devs = devicesEl(def.root)
  if (!child(devs, 'memballoon')) devs.children.push(el('memballoon', {model: 'virtio'}))
  // Implicit devices and addresses, as libvirt assigns them at define time (pc and q35 machines).
  if (isPcMachine(def.os.machine)) {
    cpuAndClockDefaults(def)
    validateDevices(def)
    prepareDevices(def)
  }
}

/**
 * libvirt's x86 CPU and clock defaults: QEMU's default model (qemu64) spelt out when no CPU is
 * given, check='none' migratable='on' for host-passthrough, and a UTC clock.
 */
function cpuAndClockDefaults(def: DomainDef): void {
  let cpu = child(def.root, 'cpu')
  if (cpu === undefined && def.cpu === undefined) {
    cpu = el('cpu', {mode: 'custom', match: 'exact', check: 'none'}, [el('model', {fallback: 'forbid'}, ['qemu64'])])
    def.root.children.push(cpu)
    def.cpu = {mode: 'custom', model: 'qemu64'}
  } else if (cpu !== undefined && def.cpu?.mode === 'host-passthrough') {
    if (attr(cpu, 'check') === undefined) cpu.attrs.push(['check', 'none'])
    if (attr(cpu, 'migratable') === undefined) cpu.attrs.push(['migratable', 'on'])
  }
  if (child(def.root, 'clock') === undefined) def.root.children.push(el('clock', {offset: 'utc'}))
}

/** The x86 PC machines (i440fx and q35) whose devices vctl lays out as libvirt does. */
export function isPcMachine(machine: string | undefined): boolean {
  return machine !== undefined && (machine === 'pc' || machine === 'q35' || machine.startsWith('pc-i440fx') || machine.startsWith('pc-q35'))
}

/** Refuses what this emulator or driver cannot run, with libvirt's error codes and wording. */
export function validateForQemu(def: DomainDef, target: QemuTarget): void {
  const emu = def.devices.emulator ?? target.emulator
  if (def.type !== 'qemu' && def.type !== 'kvm') {
    throw unsupported(`Emulator '${emu}' does not support virt type '${def.type}'`)
  }
  if (def.type === 'kvm' && !target.kvm) {
    throw unsupported(`Emulator '${emu}' does not support virt type 'kvm'`)
  }
  if (def.os.type !== 'hvm') throw unsupported(`Emulator '${emu}' does not support os type '${def.os.type}'`)
  const arch = def.os.arch ?? target.arch
  if (arch !== target.arch) throw unsupported(`Emulator '${emu}' does not support arch '${arch}'`)
  const machineName = def.os.machine ?? defaultMachine(target.machines)?.name
  const machine = machineName === undefined ? undefined : findMachine(target.machines, machineName)
  if (!machine) throw unsupported(`Emulator '${emu}' does not support machine type '${machineName ?? ''}'`)
  if (def.vcpus > machine.maxCpus) {
    throw unsupported(`Maximum CPUs greater than specified machine type limit ${machine.maxCpus}`)
  }
  const topo = cpuTopology(def)
  if (topo && topo.sockets * topo.dies * topo.cores * topo.threads !== def.vcpus) {
    throw new VirError(ErrorCode.XML_ERROR, D, `XML error: CPU topology doesn't match maximum vcpu count`)
  }

  const cpu = def.cpu
  if (cpu?.mode === 'host-passthrough' && def.type !== 'kvm') {
    throw unsupported(`CPU mode 'host-passthrough' for ${target.arch} qemu domain on ${target.arch} host is not supported by hypervisor`)
  }
  if (cpu?.mode !== undefined && !['custom', 'host-model', 'host-passthrough', 'maximum'].includes(cpu.mode)) {
    throw errors.xmlError(D, `Invalid mode attribute '${cpu.mode}'`)
  }
  if ((cpu?.mode === undefined || cpu.mode === 'custom') && cpu?.model !== undefined && !target.cpuModels.includes(cpu.model)) {
    throw unsupported(`CPU model '${cpu.model}' is not supported by hypervisor`)
  }

  for (const [key, value, ok] of [
    ['on_poweroff', def.onPoweroff, ['destroy', 'restart']],
    ['on_reboot', def.onReboot, ['destroy', 'restart']],
  ] as const) {
    if (!(ok as readonly string[]).includes(value)) throw unsupported(`${key} action '${value}' is not supported by vctl's qemu driver`)
  }

  // Disks.
  const seen = new Map<string, DomainDisk>()
  const q35 = isQ35(machine.name)
  for (const p of placeDisks(def)) {
    const d = p.disk
    const other = seen.get(d.target)
    if (other) throw errors.xmlError(D, `target '${d.target}' duplicated for disk sources '${other.source ?? ''}' and '${d.source ?? ''}'`)
    seen.set(d.target, d)
    if (p.unit < 0) throw errors.xmlError(D, `Unknown disk name '${d.target}' and no address specified`)
    if (d.type !== 'file' && d.type !== 'block' && d.type !== 'volume')
      throw unsupported(`disk type '${d.type}' is not supported by vctl's qemu driver`)
    if (d.device !== 'disk' && d.device !== 'cdrom') throw unsupported(`disk device '${d.device}' is not supported by vctl's qemu driver`)
    if (d.driverName !== undefined && d.driverName !== 'qemu') throw unsupported(`unsupported driver name '${d.driverName}' for disk '${d.target}'`)
    if (d.driverType !== undefined && !DISK_FORMATS.has(d.driverType)) throw unsupported(`unknown driver format value '${d.driverType}'`)
    if (d.source === undefined && d.device !== 'cdrom' && d.type !== 'volume')
      throw unsupported(`disk '${d.target}' has no source (only a cdrom may be empty)`)
    switch (p.bus) {
      case 'virtio':
        if (d.device === 'cdrom') throw unsupported(`disk type of '${d.target}' does not support ejectable media`)
        break
      case 'ide':
        if (q35) throw unsupported('IDE controllers are unsupported for this QEMU binary or machine type')
        if (p.unit > 3) throw unsupported(`disk '${d.target}': IDE supports hda to hdd only`)
        break
      case 'sata':
        if (p.unit > 5) throw unsupported(`disk '${d.target}': SATA supports sda to sdf only`)
        break
      case 'scsi':
        if (p.unit > 255) throw unsupported(`disk '${d.target}': too many SCSI disks`)
        break
      default:
        throw unsupported(`disk bus '${p.bus}' is not supported by vctl's qemu driver`)
    }
  }

  for (const i of def.devices.interfaces) checkInterface(i)

  for (const s of def.devices.serials) {
    if (!['pty', 'file', 'null', 'unix'].includes(s.type)) throw unsupported(`serial type '${s.type}' is not supported by vctl's qemu driver`)
    if (s.type === 'file' && !s.path) throw unsupported(`serial port ${s.targetPort ?? 0}: type 'file' needs <source path='...'/>`)
    if (s.type === 'unix' && !s.path) throw unsupported(`serial port ${s.targetPort ?? 0}: type 'unix' needs <source path='...'/>`)
  }
  for (const c of def.devices.consoles) {
    if (c.targetType !== undefined && c.targetType !== 'serial') {
      throw unsupported(`console target type '${c.targetType}' is not supported by vctl's qemu driver`)
    }
  }
  for (const g of def.devices.graphics) {
    if (g.type !== 'vnc' && g.type !== 'spice') throw unsupported(`graphics type '${g.type}' is not supported by vctl's qemu driver`)
    if (g.port !== undefined && g.port !== -1 && g.port < 5900) throw unsupported(`${g.type} port must be in range [5900,65535]`)
  }
  validateDevices(def)
  checkMachineOptions(def)
  for (const v of childrenNamed(child(def.root, 'devices'), 'video')) {
    const model = attr(child(v, 'model'), 'type') ?? 'vga'
    if (model !== 'none' && !(model in VIDEO_MODELS)) throw unsupported(`video type '${model}' is not supported by vctl's qemu driver`)
  }
}
