/**
 * QEMU command-line options for the devices libvirt puts on it beside disks, NICs and serial
 * ports: controllers (PCI, USB, SCSI, SATA, virtio-serial), channels, inputs, video, sound,
 * watchdog, USB redirection, memballoon and RNG, with the ids and options libvirt 9.0 gives them
 * and the addresses the definition holds (see addresses.ts).
 */
import type {DomainDef} from '../../conf/domain.js'
import {type PciAddress, pciAddressOf, qemuPciAddr} from '../../conf/domain-address.js'
import {type XmlElement, attr, child} from '../../conf/xml.js'
import {isQ35, qemuOptEscape, unsupported} from './argv.js'

type Push = (...xs: string[]) => void

export function elems(def: DomainDef, name: string): XmlElement[] {
  const devs = child(def.root, 'devices')
  return devs ? devs.children.filter((c): c is XmlElement => c.kind === 'element' && c.name === name) : []
}

/** `,bus=pci.N[,multifunction=on],addr=0xS[.0xF]` for a device's PCI address ('' when it has none). */
export function pciBusArgs(def: DomainDef, e: XmlElement | undefined): string {
  const a = pciAddressOf(e)
  return a ? pciArgs(def, a) : ''
}

function pciArgs(def: DomainDef, a: PciAddress): string {
  const bus = a.bus === 0 ? (isQ35(def.os.machine) ? 'pcie.0' : 'pci.0') : `pci.${a.bus}`
  const multi = a.multi === 'on' ? ',multifunction=on' : a.multi === 'off' ? ',multifunction=off' : ''
  return `,bus=${bus}${multi},addr=${qemuPciAddr(a)}`
}

function num(e: XmlElement | undefined, name: string): number | undefined {
  const v = attr(e, name)
  if (v === undefined) return undefined
  return v.startsWith('0x') ? Number.parseInt(v.slice(2), 16) : Number(v)
}

const USB_DEVICES: Record<string, string> = {
  'piix3-uhci': 'piix3-usb-uhci',
  'piix4-uhci': 'piix4-usb-uhci',
  ehci: 'usb-ehci',
  'ich9-ehci1': 'ich9-usb-ehci1',
  'ich9-uhci1': 'ich9-usb-uhci1',
  'ich9-uhci2': 'ich9-usb-uhci2',
  'ich9-uhci3': 'ich9-usb-uhci3',
  'qemu-xhci': 'qemu-xhci',
  'nec-xhci': 'nec-usb-xhci',
}

function pciController(def: DomainDef, c: XmlElement): string | undefined {
  const model = attr(c, 'model')
  const index = attr(c, 'index') ?? '0'
  const name = attr(child(c, 'model'), 'name')
  const target = child(c, 'target')
  const at = pciBusArgs(def, c)
  switch (model) {
    case 'pcie-root-port':
      return `${name ?? 'pcie-root-port'},port=${num(target, 'port') ?? 0},chassis=${num(target, 'chassis') ?? index},id=pci.${index}${at}`
    case 'pci-bridge':
      return `${name ?? 'pci-bridge'},chassis_nr=${num(target, 'chassisNr') ?? index},id=pci.${index}${at}`
    case 'pcie-to-pci-bridge':
    case 'dmi-to-pci-bridge':
      return `${name ?? (model === 'dmi-to-pci-bridge' ? 'i82801b11-bridge' : 'pcie-pci-bridge')},id=pci.${index}${at}`
    default:
      return undefined
  }
}

function usbController(def: DomainDef, c: XmlElement): string | undefined {
  const model = attr(c, 'model') ?? 'piix3-uhci'
  if (model === 'none') return undefined
  const dev = USB_DEVICES[model]
  const index = Number(attr(c, 'index') ?? '0')
  const id = index === 0 ? 'usb' : `usb${index}`
  const master = child(c, 'master')
  if (master !== undefined) {
    return `${dev},masterbus=${id}.0,firstport=${attr(master, 'startport') ?? '0'}${pciBusArgs(def, c)}`
  }
  const ports = attr(c, 'ports')
  const p =
    ports !== undefined && model === 'qemu-xhci'
      ? `,p2=${ports},p3=${ports}`
      : ports !== undefined && model === 'nec-xhci'
        ? `,p2=${ports},p3=${ports}`
        : ''
  return `${dev}${p},id=${id}${pciBusArgs(def, c)}`
}

/** -device options for every controller, in libvirt's order (PCI by index, USB, SCSI, IDE, SATA, virtio-serial). */
export function pushControllers(def: DomainDef, push: Push): void {
  const ctrls = elems(def, 'controller')
  const pci = ctrls.filter((c) => attr(c, 'type') === 'pci').sort((a, b) => Number(attr(a, 'index') ?? 0) - Number(attr(b, 'index') ?? 0))
  for (const c of pci) {
    const s = pciController(def, c)
    if (s) push('-device', s)
  }
  const q35 = isQ35(def.os.machine)
  for (const type of ['usb', 'scsi', 'ide', 'sata', 'virtio-serial']) {
    for (const c of ctrls.filter((x) => attr(x, 'type') === type)) {
      const index = Number(attr(c, 'index') ?? '0')
      const at = pciBusArgs(def, c)
      switch (type) {
        case 'usb': {
          const s = usbController(def, c)
          if (s) push('-device', s)
          break
        }
        case 'scsi':
          push('-device', `${attr(c, 'model') === 'virtio-scsi' ? 'virtio-scsi-pci' : 'lsi'},id=scsi${index}${at}`)
          break
        case 'sata':
          // q35's first SATA controller is built in (QEMU calls its bus 'ide').
          if (!(q35 && index === 0)) push('-device', `ahci,id=sata${index}${at}`)
          break
        case 'virtio-serial':
          push('-device', `virtio-serial-pci,id=virtio-serial${index}${at}`)
          break
      }
    }
  }
}

/** The path QEMU listens on for a unix channel without one: in the daemon's channel directory. */
export function channelPath(c: XmlElement, channelDir: string | undefined): string {
  const given = attr(child(c, 'source'), 'path')
  if (given !== undefined) return given
  const name = attr(child(c, 'target'), 'name')
  if (channelDir === undefined || name === undefined) throw unsupported(`unix channel '${name ?? ''}' needs <source path='...'/>`)
  return `${channelDir}/${name}`
}

export function pushChannels(def: DomainDef, push: Push, channelDir: string | undefined): void {
  elems(def, 'channel').forEach((c, n) => {
    const id = `charchannel${n}`
    const target = child(c, 'target')
    const type = attr(c, 'type')
    if (type === 'spicevmc') push('-chardev', `spicevmc,id=${id},name=vdagent`)
    else push('-chardev', `socket,id=${id},path=${qemuOptEscape(channelPath(c, channelDir))},server=on,wait=off`)
    const a = child(c, 'address')
    const bus = `virtio-serial${attr(a, 'controller') ?? '0'}.${attr(a, 'bus') ?? '0'}`
    push(
      '-device',
      `virtserialport,bus=${bus},nr=${attr(a, 'port') ?? '1'},chardev=${id},id=channel${n},name=${qemuOptEscape(attr(target, 'name') ?? '')}`,
    )
  })
}

function usbAt(e: XmlElement): string {
  const a = child(e, 'address')
  return `,bus=usb.${attr(a, 'bus') ?? '0'},port=${attr(a, 'port') ?? '1'}`
}

const INPUTS: Record<string, Record<string, string>> = {
  usb: {tablet: 'usb-tablet', mouse: 'usb-mouse', keyboard: 'usb-kbd'},
  virtio: {tablet: 'virtio-tablet-pci', mouse: 'virtio-mouse-pci', keyboard: 'virtio-keyboard-pci'},
}

export function pushInputs(def: DomainDef, push: Push): void {
  elems(def, 'input').forEach((i, n) => {
    const bus = attr(i, 'bus') ?? 'ps2'
    if (bus === 'ps2') return
    const dev = INPUTS[bus][attr(i, 'type') ?? '']
    push('-device', `${dev},id=input${n}${bus === 'usb' ? usbAt(i) : pciBusArgs(def, i)}`)
  })
}

export function pushVideos(def: DomainDef, push: Push): void {
  elems(def, 'video').forEach((v, n) => {
    const m = child(v, 'model')
    const type = attr(m, 'type') ?? 'vga'
    const primary = n === 0
    const at = pciBusArgs(def, v)
    const id = `video${n}`
    const kib = (k: string, d: number) => num(m, k) ?? d
    switch (type) {
      case 'none':
        return
      case 'vga':
        push('-device', `VGA,id=${id},vgamem_mb=${kib('vram', 16384) / 1024}${at}`)
        return
      case 'cirrus':
        push('-device', `cirrus-vga,id=${id}${at}`)
        return
      case 'bochs':
        push('-device', `bochs-display,id=${id},vgamem=${kib('vram', 16384) * 1024}${at}`)
        return
      case 'virtio':
        push('-device', `${primary ? 'virtio-vga' : 'virtio-gpu-pci'},id=${id},max_outputs=${kib('heads', 1)}${at}`)
        return
      case 'qxl':
        push(
          '-device',
          `${primary ? 'qxl-vga' : 'qxl'},id=${id},max_outputs=${kib('heads', 1)},ram_size=${kib('ram', 65536) * 1024},vram_size=${kib('vram', 65536) * 1024},vram64_size_mb=0,vgamem_mb=${kib('vgamem', 16384) / 1024}${at}`,
        )
        return
      case 'ramfb':
        push('-device', `ramfb,id=${id}`)
        return
      default:
        throw unsupported(`video type '${type}' is not supported by vctl's qemu driver`)
    }
  })
}

export function pushSounds(def: DomainDef, push: Push): void {
  const audio = `audio${attr(elems(def, 'audio')[0], 'id') ?? '1'}`
  elems(def, 'sound').forEach((s, n) => {
    const id = `sound${n}`
    const at = pciBusArgs(def, s)
    switch (attr(s, 'model')) {
      case 'ac97':
        push('-device', `AC97,id=${id},audiodev=${audio}${at}`)
        break
      case 'es1370':
        push('-device', `ES1370,id=${id},audiodev=${audio}${at}`)
        break
      case 'ich6':
      case 'ich9':
        push('-device', `${attr(s, 'model') === 'ich9' ? 'ich9-intel-hda' : 'intel-hda'},id=${id}${at}`)
        push('-device', `hda-duplex,id=${id}-codec0,bus=${id}.0,cad=0,audiodev=${audio}`)
        break
      default:
        throw unsupported(`sound model '${attr(s, 'model') ?? ''}' is not supported by vctl's qemu driver`)
    }
  })
}

export function pushWatchdog(def: DomainDef, push: Push): void {
  elems(def, 'watchdog').forEach((w, n) => {
    push('-device', `i6300esb,id=watchdog${n}${pciBusArgs(def, w)}`)
    const action = attr(w, 'action') ?? 'reset'
    push('-watchdog-action', action === 'dump' ? 'pause' : action)
  })
}

export function pushRedirdevs(def: DomainDef, push: Push): void {
  elems(def, 'redirdev').forEach((r, n) => {
    push('-chardev', `spicevmc,id=charredir${n},name=usbredir`)
    push('-device', `usb-redir,chardev=charredir${n},id=redir${n}${usbAt(r)}`)
  })
}

export function pushBalloonAndRng(def: DomainDef, push: Push): void {
  const mb = elems(def, 'memballoon')[0]
  if (mb !== undefined && attr(mb, 'model') === 'virtio') push('-device', `virtio-balloon-pci,id=balloon0${pciBusArgs(def, mb)}`)
  elems(def, 'rng').forEach((r, n) => {
    const file = child(r, 'backend')
    const path = file?.children.find((c) => c.kind === 'text')
    const filename = path?.kind === 'text' ? path.text.trim() : '/dev/urandom'
    push('-object', `rng-random,id=objrng${n},filename=${qemuOptEscape(filename || '/dev/urandom')}`)
    push('-device', `virtio-rng-pci,rng=objrng${n},id=rng${n}${pciBusArgs(def, r)}`)
  })
}
