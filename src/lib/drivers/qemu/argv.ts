/**
 * Domain definition -> QEMU command line, as pure functions (no filesystem, no processes), tested
 * with golden files (test/golden/qemu/NAME.xml + NAME.args): buildQemuArgv(def, opts) gives the
 * argv (argv[0] is the emulator). What goes into it was filled in and checked first by
 * validate.ts (applyQemuDefaults, validateForQemu).
 */
import {ErrorDomain, errors, type VirError} from '../../errors.js'
import type {DomainChr, DomainDef, DomainDisk} from '../../conf/domain.js'
import {attr, child, type XmlElement} from '../../conf/xml.js'
import {
  elems,
  pciBusArgs,
  pushBalloonAndRng,
  pushChannels,
  pushControllers,
  pushInputs,
  pushRedirdevs,
  pushSounds,
  pushVideos,
  pushWatchdog,
} from './argv-devices.js'
import {pushAudio, pushGraphics} from './argv-graphics.js'
import {machineProps, pushClock, pushPm} from './argv-machine.js'
import {netdevArg} from './net-interface.js'

const D = ErrorDomain.QEMU

export interface ArgvOptions {
  emulator: string
  /** The QMP monitor socket QEMU listens on. */
  monitorPath: string
  /** Add `-sandbox on,...` (only when the binary supports it). */
  sandbox: boolean
  /** TCP ports chosen for the graphics devices (index-aligned); autoport devices need one. */
  graphicsPorts?: (number | undefined)[]
  /**
   * File chardevs whose output goes through virtlogd: chardev id (see fileChardevs) -> the FIFO
   * QEMU writes to instead of the file. virtlogd appends or truncates the file itself, so the
   * FIFO is given without `append=on`.
   */
  chardevFifos?: Readonly<Record<string, string>>
  /** Where QEMU listens for unix channels that have no path of their own (the guest agent's). */
  channelDir?: string
}

/** A `<serial type='file'>` (or the serial port behind a file console): its chardev and file. */
export interface FileChardev {
  /** The chardev id on QEMU's command line (charserialN). */
  id: string
  path: string
  /** `<source append='on'/>`: keep what the file holds (else it is truncated at start). */
  append: boolean
}

/** The file chardevs buildQemuArgv creates for a defaults-applied definition, in argv order. */
export function fileChardevs(def: DomainDef): FileChardev[] {
  return sortedSerials(def)
    .filter((s) => s.type === 'file' && s.path)
    .map((s) => ({id: `charserial${s.targetPort ?? 0}`, path: s.path!, append: attr(child(s.xml, 'source'), 'append') === 'on'}))
}

function sortedSerials(def: DomainDef): DomainChr[] {
  return [...def.devices.serials].sort((x, y) => (x.targetPort ?? 0) - (y.targetPort ?? 0))
}

export function unsupported(detail: string): VirError {
  return errors.configUnsupported(D, detail)
}

/** Escapes a value for QEMU's key=value option syntax (a comma is written as two). */
export function qemuOptEscape(v: string): string {
  return v.replaceAll(',', ',,')
}

export function isQ35(machine: string | undefined): boolean {
  return machine !== undefined && (machine === 'q35' || machine.startsWith('pc-q35'))
}

/** libvirt's virDiskNameToIndex: 'vda' -> 0, 'hdc' -> 2, 'sdaa' -> 26; -1 when malformed. */
export function diskNameToIndex(name: string): number {
  const m = /^(?:fd|hd|vd|sd|xvd|ubd)([a-z]+)$/.exec(name)
  if (!m) return -1
  let v = 0
  for (const c of m[1]) v = v * 26 + (c.charCodeAt(0) - 96)
  return v - 1
}

export function defaultBus(target: string): string | undefined {
  if (target.startsWith('vd')) return 'virtio'
  if (target.startsWith('hd')) return 'ide'
  if (target.startsWith('sd')) return 'scsi'
  if (target.startsWith('fd')) return 'fdc'
  return undefined
}

export const NIC_MODELS: Record<string, string> = {
  virtio: 'virtio-net-pci',
  'virtio-net': 'virtio-net-pci',
  e1000: 'e1000',
  e1000e: 'e1000e',
  rtl8139: 'rtl8139',
}
export const VIDEO_MODELS: Record<string, string> = {
  vga: 'VGA',
  cirrus: 'cirrus-vga',
  virtio: 'virtio-vga',
  bochs: 'bochs-display',
  qxl: 'qxl-vga',
  ramfb: 'ramfb',
}

export interface DiskPlacement {
  disk: DomainDisk
  /** Index of the disk in def.devices.disks. */
  index: number
  bus: string
  /** Target index (vda -> 0). */
  unit: number
  alias: string
  /** The drive address (controller, bus, target, unit) for ide/sata/scsi disks. */
  drive: {controller: number; bus: number; target: number; unit: number}
}

function driveOf(disk: DomainDisk, bus: string, unit: number): DiskPlacement['drive'] {
  const a = child(disk.xml, 'address')
  if (attr(a, 'type') === 'drive') {
    const n = (k: string) => Number(attr(a, k) ?? '0')
    return {controller: n('controller'), bus: n('bus'), target: n('target'), unit: n('unit')}
  }
  if (bus === 'ide') return {controller: Math.floor(unit / 4), bus: Math.floor((unit % 4) / 2), target: 0, unit: unit % 2}
  if (bus === 'sata') return {controller: Math.floor(unit / 6), bus: 0, target: 0, unit: unit % 6}
  return {controller: Math.floor(unit / 7), bus: 0, target: 0, unit: unit % 7}
}

/** The model of the SCSI controller with this index (lsilogic unless given otherwise). */
export function scsiModel(def: DomainDef, index: number): string {
  const c = elems(def, 'controller').find((x) => attr(x, 'type') === 'scsi' && Number(attr(x, 'index') ?? '0') === index)
  return attr(c, 'model') ?? 'lsilogic'
}

/** Where each disk goes: bus and alias, per libvirt's naming (virtio-disk0, ide0-0-1, sata0-0-2, scsi0-0-0-3). */
export function placeDisks(def: DomainDef): DiskPlacement[] {
  return def.devices.disks.map((disk, index) => {
    const bus = disk.bus ?? defaultBus(disk.target) ?? 'virtio'
    const unit = diskNameToIndex(disk.target)
    const drive = driveOf(disk, bus, unit)
    let alias: string
    switch (bus) {
      case 'virtio':
        alias = `virtio-disk${unit}`
        break
      case 'ide':
      case 'sata':
        alias = `${bus}${drive.controller}-${drive.bus}-${drive.unit}`
        break
      case 'scsi':
        alias =
          scsiModel(def, drive.controller) === 'lsilogic'
            ? `scsi${drive.controller}-${drive.bus}-${drive.unit}`
            : `scsi${drive.controller}-${drive.bus}-${drive.target}-${drive.unit}`
        break
      default:
        alias = `${bus}-disk${unit}`
    }
    return {disk, index, bus, unit, alias, drive}
  })
}

export function cpuTopology(def: DomainDef): {sockets: number; dies: number; cores: number; threads: number} | undefined {
  const t = child(child(def.root, 'cpu'), 'topology')
  if (!t) return undefined
  const n = (name: string) => {
    const v = attr(t, name)
    return v === undefined ? 1 : Number(v)
  }
  return {sockets: n('sockets'), dies: n('dies'), cores: n('cores'), threads: n('threads')}
}

function chardevArgs(id: string, c: DomainChr, fifo: string | undefined): string {
  switch (c.type) {
    case 'pty':
      return `pty,id=${id}`
    case 'null':
      return `null,id=${id}`
    case 'file': {
      if (fifo !== undefined) return `file,id=${id},path=${qemuOptEscape(fifo)}`
      const append = attr(child(c.xml, 'source'), 'append') === 'on' ? ',append=on' : ''
      return `file,id=${id},path=${qemuOptEscape(c.path ?? '')}${append}`
    }
    case 'unix': {
      const mode = attr(child(c.xml, 'source'), 'mode') ?? 'bind'
      return `socket,id=${id},path=${qemuOptEscape(c.path ?? '')}${mode === 'bind' ? ',server=on,wait=off' : ''}`
    }
    default:
      throw unsupported(`serial type '${c.type}' is not supported by vctl's qemu driver`)
  }
}

function cpuArg(def: DomainDef): string {
  const cpu = def.cpu
  switch (cpu?.mode) {
    case 'host-passthrough':
      return 'host'
    case 'host-model':
    case 'maximum':
      return 'max'
    default:
      return cpu?.model ?? 'qemu64'
  }
}

function bootIndex(e: XmlElement | undefined): number | undefined {
  const o = attr(child(e, 'boot'), 'order')
  return o === undefined ? undefined : Number(o)
}

/** Whether the definition has a virtio memballoon (applyQemuDefaults adds one unless model='none'). */
export function hasVirtioBalloon(def: DomainDef): boolean {
  return attr(child(child(def.root, 'devices'), 'memballoon'), 'model') === 'virtio'
}

/** Builds the full argv (argv[0] = emulator) for a validated, defaults-applied definition. */
export function buildQemuArgv(def: DomainDef, opts: ArgvOptions): string[] {
  const a: string[] = [opts.emulator]
  const push = (...xs: string[]) => a.push(...xs)
  const machine = def.os.machine ?? 'pc'
  const q35 = isQ35(machine)
  const accel = def.type === 'kvm' ? 'kvm' : 'tcg'

  push('-name', `guest=${qemuOptEscape(def.name)},debug-threads=on`)
  push('-S')
  push('-msg', 'timestamp=on')
  const pcLike = machine.startsWith('pc') || machine === 'q35' || machine === 'isapc'
  push('-machine', `${qemuOptEscape(machine)},accel=${accel}${pcLike ? ',usb=off' : ''}${machineProps(def)},dump-guest-core=off`)
  push('-cpu', cpuArg(def))
  push('-m', String(Math.ceil(def.memoryKiB / 1024)))
  const topo = cpuTopology(def) ?? {sockets: def.vcpus, dies: 1, cores: 1, threads: 1}
  push('-smp', `${def.currentVcpus},maxcpus=${def.vcpus},sockets=${topo.sockets},dies=${topo.dies},cores=${topo.cores},threads=${topo.threads}`)
  push('-uuid', def.uuid)
  push('-no-user-config', '-nodefaults')
  push('-chardev', `socket,id=charmonitor,path=${qemuOptEscape(opts.monitorPath)},server=on,wait=off`)
  push('-mon', 'chardev=charmonitor,id=monitor,mode=control')
  pushClock(def, push)
  if (def.onReboot === 'destroy') push('-no-reboot')
  if (def.onPoweroff === 'restart') push('-action', 'shutdown=pause')
  pushPm(def, push)
  push('-boot', 'strict=on')
  if (def.os.kernel !== undefined) push('-kernel', def.os.kernel)
  if (def.os.initrd !== undefined) push('-initrd', def.os.initrd)
  if (def.os.cmdline !== undefined) push('-append', def.os.cmdline)
  pushControllers(def, push)

  // Boot order: per-device <boot order='N'/> wins; else <os><boot dev=.../> picks the first disk,
  // cdrom or NIC for each entry, as libvirt's effective boot index does.
  const placements = placeDisks(def)
  const bootOf = new Map<object, number>()
  let perDevice = false
  for (const d of def.devices.disks) {
    const b = bootIndex(d.xml)
    if (b !== undefined) {
      bootOf.set(d, b)
      perDevice = true
    }
  }
  for (const i of def.devices.interfaces) {
    const b = bootIndex(i.xml)
    if (b !== undefined) {
      bootOf.set(i, b)
      perDevice = true
    }
  }
  if (!perDevice && def.os.kernel === undefined) {
    let n = 1
    for (const dev of def.os.boot) {
      let target: object | undefined
      if (dev === 'hd') target = def.devices.disks.find((d) => d.device === 'disk' && !bootOf.has(d))
      else if (dev === 'cdrom') target = def.devices.disks.find((d) => d.device === 'cdrom' && !bootOf.has(d))
      else if (dev === 'network') target = def.devices.interfaces.find((i) => !bootOf.has(i))
      if (target) bootOf.set(target, n++)
    }
  }
  const bootSuffix = (o: object) => (bootOf.has(o) ? `,bootindex=${bootOf.get(o)}` : '')

  // Disks: a protocol (storage) node and a format node per disk, then the frontend device.
  for (const p of placements) {
    const d = p.disk
    const n = p.index + 1
    const ro = d.readonly || d.device === 'cdrom'
    let drive = ''
    if (d.source !== undefined) {
      const storage = `libvirt-${n}-storage`
      const format = `libvirt-${n}-format`
      const proto = d.type === 'block' ? 'host_device' : 'file'
      push('-blockdev', `driver=${proto},filename=${qemuOptEscape(d.source)},node-name=${storage},auto-read-only=on,discard=unmap`)
      push('-blockdev', `node-name=${format},read-only=${ro ? 'on' : 'off'},driver=${d.driverType ?? 'raw'},file=${storage}`)
      drive = `,drive=${format}`
    }
    const cd = d.device === 'cdrom'
    const dr = p.drive
    switch (p.bus) {
      case 'virtio':
        push('-device', `virtio-blk-pci${pciBusArgs(def, d.xml)}${drive},id=${p.alias}${bootSuffix(d)}`)
        break
      case 'ide':
        push('-device', `${cd ? 'ide-cd' : 'ide-hd'},bus=ide.${dr.bus},unit=${dr.unit}${drive},id=${p.alias}${bootSuffix(d)}`)
        break
      case 'sata': {
        const bus = q35 && dr.controller === 0 ? 'ide' : `sata${dr.controller}`
        push('-device', `${cd ? 'ide-cd' : 'ide-hd'},bus=${bus}.${dr.unit}${drive},id=${p.alias}${bootSuffix(d)}`)
        break
      }
      case 'scsi': {
        const kind = cd ? 'scsi-cd' : 'scsi-hd'
        const lsi = scsiModel(def, dr.controller) === 'lsilogic'
        const where = lsi ? `scsi-id=${dr.unit}` : `channel=0,scsi-id=${dr.target},lun=${dr.unit}`
        push('-device', `${kind},bus=scsi${dr.controller}.${dr.bus},${where},device_id=drive-${p.alias}${drive},id=${p.alias}${bootSuffix(d)}`)
        break
      }
    }
  }

  // Network interfaces: user-mode networking, or a tap on a bridge (net-interface.ts).
  def.devices.interfaces.forEach((i, n) => {
    push('-netdev', netdevArg(i, n))
    const model = NIC_MODELS[i.model ?? 'rtl8139'] ?? 'rtl8139'
    push('-device', `${model},netdev=hostnet${n},id=net${n}${i.mac ? `,mac=${i.mac}` : ''}${pciBusArgs(def, i.xml)}${bootSuffix(i)}`)
  })

  // Serial ports (serial consoles share them).
  for (const s of sortedSerials(def)) {
    const port = s.targetPort ?? 0
    const id = `charserial${port}`
    push('-chardev', chardevArgs(id, s, s.type === 'file' ? opts.chardevFifos?.[id] : undefined))
    push('-device', `isa-serial,chardev=charserial${port},id=serial${port},index=${port}`)
  }

  pushChannels(def, push, opts.channelDir)
  pushInputs(def, push)
  pushAudio(def, push)
  if (def.devices.graphics.length === 0) push('-display', 'none')
  pushGraphics(def, push, opts.graphicsPorts)
  if (elems(def, 'video').length > 0) pushVideos(def, push)
  else if (def.devices.graphics.length > 0) push('-device', 'VGA,id=video0')
  pushSounds(def, push)
  pushWatchdog(def, push)
  pushRedirdevs(def, push)
  pushBalloonAndRng(def, push)

  if (opts.sandbox) push('-sandbox', 'on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny')
  return a
}

/** The argv as a shell-readable command line (for the domain log), one option per line like libvirt. */
export function formatArgvForLog(argv: string[], env: Record<string, string>): string {
  const q = (s: string) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`)
  const lines: string[] = []
  const envPart = Object.entries(env)
    .map(([k, v]) => `${k}=${q(v)}`)
    .join(' ')
  lines.push(`${envPart} ${q(argv[0])}`.trim())
  for (let i = 1; i < argv.length; i++) {
    if (argv[i].startsWith('-') && i + 1 < argv.length && !argv[i + 1].startsWith('-')) {
      lines.push(`${argv[i]} ${q(argv[i + 1])}`)
      i++
    } else lines.push(argv[i])
  }
  return lines.join(' \\\n')
}
