/**
 * PCI addresses for a QEMU domain, assigned as libvirt's QEMU driver assigns them
 * (qemuDomainAssignPCIAddresses in src/qemu/qemu_domain_address.c): addresses already in the
 * definition are kept; the chipset's fixed places come first (PIIX3 IDE/USB at 00:01.x and the
 * primary video at 00:02.0 on pc; SATA at 00:1f.2, USB2 at 00:1d, primary video at 00:01.0 and
 * ICH9 audio at 00:1b.0 on q35); then every other device takes the next free slot in libvirt's
 * order. A counting pass first finds which PCI controllers must be added (pcie-root-ports for
 * PCIe devices on q35, a pcie-to-pci-bridge for conventional PCI devices there, pci-bridges when
 * pc's bus is full), and on a new q35 domain one spare root port for hotplug.
 *
 * The addresses are written into the definition, so they are shown by dumpxml and stay the same
 * across restarts and redefinitions.
 */
import type {DomainDef} from '../../conf/domain.js'
import {type PciAddress, pciAddressElement, pciAddressOf, pciAddressWanted, setAddress} from '../../conf/domain-address.js'
import {type XmlElement, attr, child, el, setAttr} from '../../conf/xml.js'
import {ErrorDomain, errors} from '../../errors.js'
import {PCI, PciAddressSet, controllerConnectFlags, newBus} from './pci-bus.js'
import {devicesOf, isQ35Def, pciControllerModelName} from './devices-implicit.js'

const D = ErrorDomain.QEMU

interface Dev {
  el: XmlElement
  flags: number
}

const USB2 = new Set(['ich9-ehci1', 'ich9-uhci1', 'ich9-uhci2', 'ich9-uhci3'])
const USB2_FUNCTION: Record<string, [number, 'on' | undefined]> = {
  'ich9-ehci1': [7, undefined],
  'ich9-uhci1': [0, 'on'],
  'ich9-uhci2': [1, undefined],
  'ich9-uhci3': [2, undefined],
}

function elems(devs: XmlElement, name: string): XmlElement[] {
  return devs.children.filter((c): c is XmlElement => c.kind === 'element' && c.name === name)
}

function idx(e: XmlElement): number {
  return Number(attr(e, 'index') ?? '0')
}

/** The domain's devices grouped as libvirt walks them, each with its PCI connect flags. */
class Devices {
  readonly devs: XmlElement
  readonly q35: boolean
  private readonly pciF = PCI.PCI_DEVICE | PCI.AUTOASSIGN
  private readonly pcieF: number

  constructor(private readonly def: DomainDef) {
    this.devs = devicesOf(def.root)
    this.q35 = isQ35Def(def)
    this.pcieF = this.q35 ? PCI.PCIE_DEVICE | PCI.AUTOASSIGN : this.pciF
  }

  get controllers(): XmlElement[] {
    return elems(this.devs, 'controller')
  }

  controllerFlags(c: XmlElement): number {
    const model = attr(c, 'model')
    switch (attr(c, 'type')) {
      case 'pci':
        return controllerConnectFlags(model)
      case 'sata':
      case 'ide':
        return this.pciF
      case 'usb':
        if (model === 'none') return 0
        return model === 'qemu-xhci' || model === 'nec-xhci' ? this.pcieF : this.pciF
      case 'scsi':
        return model === 'virtio-scsi' || model === 'virtio-non-transitional' ? this.pcieF : model === 'ncr53c90' ? 0 : this.pciF
      case 'virtio-serial':
        return model === 'virtio-transitional' ? this.pciF : this.pcieF
      default:
        return 0
    }
  }

  nets(): Dev[] {
    return this.def.devices.interfaces
      .filter((i) => i.type !== 'hostdev' && i.xml !== undefined)
      .map((i) => {
        const m = i.model ?? ''
        const flags = m === 'virtio' || m === 'virtio-non-transitional' ? this.pcieF : m === 'e1000e' || m === 'igb' ? this.pcieF : this.pciF
        return {el: i.xml!, flags}
      })
  }

  sounds(): Dev[] {
    return elems(this.devs, 'sound')
      .filter((s) => ['es1370', 'ac97', 'ich6', 'ich9'].includes(attr(s, 'model') ?? ''))
      .map((s) => ({el: s, flags: this.pciF}))
  }

  disks(): Dev[] {
    return this.def.devices.disks.filter((d) => d.bus === 'virtio' && d.xml !== undefined).map((d) => ({el: d.xml!, flags: this.pcieF}))
  }

  balloon(): Dev[] {
    return elems(this.devs, 'memballoon')
      .filter((m) => attr(m, 'model') !== 'none' && attr(m, 'model') !== 'xen')
      .map((m) => ({el: m, flags: attr(m, 'model') === 'virtio-transitional' ? this.pciF : this.pcieF}))
  }

  rngs(): Dev[] {
    return elems(this.devs, 'rng').map((r) => ({el: r, flags: attr(r, 'model') === 'virtio-transitional' ? this.pciF : this.pcieF}))
  }

  watchdogs(): Dev[] {
    return elems(this.devs, 'watchdog')
      .filter((w) => attr(w, 'model') === 'i6300esb')
      .map((w) => ({el: w, flags: this.pciF}))
  }

  videos(): Dev[] {
    return elems(this.devs, 'video').flatMap((v): Dev[] => {
      const t = videoType(v)
      if (t === 'none' || t === 'ramfb') return []
      return [{el: v, flags: t === 'virtio' ? this.pcieF : t === 'bochs' ? this.pcieF : this.pciF}]
    })
  }

  inputs(): Dev[] {
    return elems(this.devs, 'input')
      .filter((i) => attr(i, 'bus') === 'virtio')
      .map((i) => ({el: i, flags: this.pcieF}))
  }

  /** Every device with a PCI connection, for collecting addresses already given. */
  all(): Dev[] {
    const ctrls = this.controllers.map((c) => ({el: c, flags: this.controllerFlags(c)})).filter((d) => d.flags !== 0)
    return [
      ...ctrls,
      ...this.nets(),
      ...this.sounds(),
      ...this.disks(),
      ...this.balloon(),
      ...this.rngs(),
      ...this.watchdogs(),
      ...this.videos(),
      ...this.inputs(),
    ]
  }
}

export function videoType(v: XmlElement): string {
  return attr(child(v, 'model'), 'type') ?? 'vga'
}

function setPci(e: XmlElement, a: PciAddress): void {
  setAddress(e, pciAddressElement(a))
}

/** Reserves the next slot for `d` when it wants one; in the real pass the address is written. */
function next(set: PciAddressSet, d: Dev, fn = -1, multi?: 'on'): void {
  if (!pciAddressWanted(d.el)) return
  const a = set.reserveNext(d.flags, fn)
  if (multi) a.multi = multi
  if (!set.dryRun) setPci(d.el, a)
}

function createSet(dv: Devices, nbuses: number, dryRun: boolean): PciAddressSet {
  const buses = new Array<ReturnType<typeof newBus> | undefined>(nbuses).fill(undefined)
  let pcieRoot = false
  for (const c of dv.controllers) {
    if (attr(c, 'type') !== 'pci') continue
    const i = idx(c)
    if (i < nbuses) buses[i] = newBus(attr(c, 'model') ?? 'pci-root')
    if (attr(c, 'model') === 'pcie-root') pcieRoot = true
  }
  if (nbuses > 0 && buses[0] === undefined) buses[0] = newBus('pci-root')
  const set = new PciAddressSet(
    buses.map((b) => b ?? newBus(pcieRoot ? 'pcie-root-port' : 'pci-bridge')),
    dryRun,
  )
  // Addresses given in the definition (the PIIX3 IDE/USB functions are reserved by the chipset step).
  for (const d of dv.all()) {
    const a = pciAddressOf(d.el)
    if (!a) continue
    const t = attr(d.el, 'type')
    if (d.el.name === 'controller' && idx(d.el) === 0 && a.bus === 0 && a.slot === 1) {
      if ((t === 'ide' && a.function === 1) || (t === 'usb' && (attr(d.el, 'model') ?? 'piix3-uhci') === 'piix3-uhci' && a.function === 2)) continue
    }
    set.reserve(a, d.flags, true)
  }
  return set
}

function primaryVideo(dv: Devices, set: PciAddressSet, slot: number, flags: number): void {
  const v = elems(dv.devs, 'video')[0]
  if (v === undefined) return
  const t = videoType(v)
  if (t === 'none' || t === 'ramfb' || !pciAddressWanted(v)) return
  const a: PciAddress = {domain: 0, bus: 0, slot, function: 0}
  set.validate(a, flags, true)
  if (set.slotInUse(a)) {
    next(set, {el: v, flags: dv.videos()[0].flags})
    return
  }
  set.reserve(a, flags, true)
  setPci(v, a)
}

function chipsetPiix3(dv: Devices, set: PciAddressSet): void {
  const flags = PCI.AUTOASSIGN | PCI.PCI_DEVICE
  for (const c of dv.controllers) {
    const t = attr(c, 'type')
    const model = attr(c, 'model') ?? 'piix3-uhci'
    let fn: number
    if (t === 'ide' && idx(c) === 0) fn = 1
    else if (t === 'usb' && idx(c) === 0 && model === 'piix3-uhci') fn = 2
    else continue
    const want: PciAddress = {domain: 0, bus: 0, slot: 1, function: fn}
    const have = pciAddressOf(c)
    if (have && (have.bus !== 0 || have.slot !== 1 || have.function !== fn)) {
      throw new Error(
        fn === 1 ? 'Primary IDE controller must have PCI address 0:0:1.1' : 'PIIX3 USB controller at index 0 must have PCI address 0:0:1.2',
      )
    }
    if (!have) setPci(c, want)
    set.reserve(want, flags, true)
  }
  set.reserve({domain: 0, bus: 0, slot: 1, function: 0}, flags, true)
  set.reserve({domain: 0, bus: 0, slot: 1, function: 3}, flags, true)
  primaryVideo(dv, set, 2, flags)
}

function chipsetQ35(dv: Devices, set: PciAddressSet): void {
  const flags = PCI.PCIE_DEVICE
  for (const c of dv.controllers) {
    const t = attr(c, 'type')
    if (t === 'sata' && idx(c) === 0) {
      const a = pciAddressOf(c)
      if (a && (a.bus !== 0 || a.slot !== 0x1f || a.function !== 2))
        throw errors.internal(D, 'Primary SATA controller must have PCI address 0:0:1f.2')
      if (!a) setPci(c, {domain: 0, bus: 0, slot: 0x1f, function: 2})
    } else if (t === 'usb' && attr(c, 'model') === 'ich9-uhci1' && attr(child(c, 'address'), 'type') === undefined) {
      for (const slot of [0x1d, 0x1a]) {
        const a: PciAddress = {domain: 0, bus: 0, slot, function: 0}
        if (set.slotInUse(a)) continue
        set.reserve(a, flags, true)
        setPci(c, {...a, multi: 'on'})
        break
      }
    } else if (t === 'pci' && attr(c, 'model') === 'dmi-to-pci-bridge' && attr(child(c, 'address'), 'type') === undefined) {
      const a: PciAddress = {domain: 0, bus: 0, slot: 0x1e, function: 0}
      if (!set.slotInUse(a)) {
        set.reserve(a, flags, true)
        setPci(c, a)
      }
    }
  }
  set.reserve({domain: 0, bus: 0, slot: 0x1f, function: 0, multi: 'on'}, flags, true)
  set.reserve({domain: 0, bus: 0, slot: 0x1f, function: 3}, flags, true)
  primaryVideo(dv, set, 1, flags)
  const hda: PciAddress = {domain: 0, bus: 0, slot: 0x1b, function: 0}
  if (!set.slotInUse(hda)) {
    const s = elems(dv.devs, 'sound').find((x) => attr(x, 'model') === 'ich9' && pciAddressWanted(x))
    if (s) {
      set.reserve(hda, flags, true)
      setPci(s, hda)
    }
  }
}

function chipset(dv: Devices, set: PciAddressSet): void {
  if (dv.q35) chipsetQ35(dv, set)
  else chipsetPiix3(dv, set)
}

/** qemuDomainAssignDevicePCISlots: every device still without an address, in libvirt's order. */
function assignSlots(dv: Devices, set: PciAddressSet): void {
  for (const c of dv.controllers) {
    if (attr(c, 'type') !== 'pci') continue
    const m = attr(c, 'model')
    if (m === 'pci-root' || m === 'pcie-root') continue
    next(set, {el: c, flags: dv.controllerFlags(c)})
  }
  for (const n of dv.nets()) next(set, n)
  for (const s of dv.sounds()) next(set, s)
  for (const c of dv.controllers) {
    const t = attr(c, 'type')
    const model = attr(c, 'model')
    if (t === 'pci' || t === 'fdc' || t === 'ccid') continue
    if (t === 'usb' && model === 'none') continue
    if (t === 'ide' && idx(c) === 0) continue
    if (t === 'scsi' && model === 'ncr53c90') continue
    const flags = dv.controllerFlags(c)
    if (flags === 0 || !pciAddressWanted(c)) continue
    if (t === 'usb' && model !== undefined && USB2.has(model)) {
      const [fn, multi] = USB2_FUNCTION[model]
      const mate = dv.controllers.find(
        (o) => attr(o, 'type') === 'usb' && USB2.has(attr(o, 'model') ?? '') && idx(o) === idx(c) && pciAddressOf(o) !== undefined,
      )
      if (mate) {
        const a: PciAddress = {...pciAddressOf(mate)!, function: fn, multi}
        set.reserve(a, flags, true)
        setPci(c, a)
      } else {
        next(set, {el: c, flags}, fn, multi)
      }
      continue
    }
    next(set, {el: c, flags})
  }
  for (const d of dv.disks()) next(set, d)
  for (const d of [...dv.balloon(), ...dv.rngs(), ...dv.watchdogs(), ...dv.videos(), ...dv.inputs()]) next(set, d)
}

/** Marks function 0 of every slot with other functions in use as multifunction (unless set off). */
function setAllMulti(dv: Devices): void {
  const all = dv.all()
  for (const d of all) {
    const a = pciAddressOf(d.el)
    if (!a || a.function === 0) continue
    const f0 = all.find((o) => {
      const b = pciAddressOf(o.el)
      return b !== undefined && b.bus === a.bus && b.slot === a.slot && b.function === 0
    })
    if (f0) {
      const b = pciAddressOf(f0.el)!
      if (b.multi === undefined) setPci(f0.el, {...b, multi: 'on'})
    }
  }
}

/** Options libvirt fills in for PCI controllers once they have addresses (model name, chassis, port). */
function controllerOptions(dv: Devices): void {
  for (const c of dv.controllers) {
    if (attr(c, 'type') !== 'pci') continue
    const model = attr(c, 'model') ?? ''
    const name = pciControllerModelName(model)
    if (name !== undefined && child(c, 'model') === undefined) insertBeforeAddress(c, el('model', {name}))
    const a = pciAddressOf(c)
    if (model === 'pcie-root-port' || model === 'pci-bridge') {
      let target = child(c, 'target')
      if (target === undefined) {
        target = el('target')
        insertBeforeAddress(c, target)
      }
      if (model === 'pci-bridge') {
        if (attr(target, 'chassisNr') === undefined) setAttr(target, 'chassisNr', idx(c))
      } else {
        if (attr(target, 'chassis') === undefined) setAttr(target, 'chassis', idx(c))
        if (attr(target, 'port') === undefined && a) setAttr(target, 'port', `0x${((a.slot << 3) + a.function).toString(16)}`)
      }
    }
  }
}

function insertBeforeAddress(e: XmlElement, c: XmlElement): void {
  const i = e.children.findIndex((n) => n.kind === 'element' && n.name === 'address')
  if (i < 0) e.children.push(c)
  else e.children.splice(i, 0, c)
}

/** Assigns PCI addresses (and adds the PCI controllers they need) in `def`, in place. */
export function assignPciAddresses(def: DomainDef): void {
  const dv = new Devices(def)
  let maxIdx = -1
  for (const c of dv.controllers) if (attr(c, 'type') === 'pci') maxIdx = Math.max(maxIdx, idx(c))
  let nbuses = maxIdx + 1
  if (nbuses > 0) {
    const dry = createSet(dv, nbuses, true)
    chipset(dv, dry)
    if (!dv.q35 && !dry.buses.every((b) => dry.busFullyReserved(b))) dry.reserveNext(PCI.AUTOASSIGN | PCI.PCI_DEVICE)
    assignSlots(dv, dry)
    if (maxIdx <= 0 && dry.buses.length > maxIdx + 1 && dv.q35) dry.reserveNext(PCI.AUTOASSIGN | PCI.PCIE_DEVICE)
    for (let i = 1; i < dry.buses.length; i++) {
      if (dv.controllers.some((c) => attr(c, 'type') === 'pci' && idx(c) === i)) continue
      const model = dry.buses[i].model
      dv.devs.children.push(el('controller', {type: 'pci', index: i, model}))
      dry.reserveNext(controllerConnectFlags(model))
    }
    nbuses = dry.buses.length
  }
  const set = createSet(dv, nbuses, false)
  chipset(dv, set)
  assignSlots(dv, set)
  setAllMulti(dv)
  controllerOptions(dv)
}
