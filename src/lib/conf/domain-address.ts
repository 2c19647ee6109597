/**
 * Device addresses (`<address type='pci|drive|usb|virtio-serial' .../>`) as libvirt writes them,
 * read from and written into a device's element. The definition keeps addresses as elements; these
 * helpers give them a typed shape and libvirt's formatting (PCI numbers in hex, padded).
 */
import {type XmlElement, attr, child, el} from './xml.js'

export interface PciAddress {
  domain: number
  bus: number
  slot: number
  function: number
  /** `multifunction='on'|'off'`, absent when not given. */
  multi?: 'on' | 'off'
}

/** The device's `<address>` element, if any. */
export function addressOf(dev: XmlElement | undefined): XmlElement | undefined {
  return child(dev, 'address')
}

/** The type of the device's address ('pci', 'drive', ...), or undefined when it has none. */
export function addressType(dev: XmlElement | undefined): string | undefined {
  return attr(addressOf(dev), 'type')
}

function num(v: string | undefined): number {
  if (v === undefined) return 0
  const n = v.startsWith('0x') || v.startsWith('0X') ? Number.parseInt(v.slice(2), 16) : Number.parseInt(v, 10)
  return Number.isFinite(n) ? n : 0
}

/** A `<address type='pci'>` with at least one non-zero field, as a PciAddress; else undefined. */
export function pciAddressOf(dev: XmlElement | undefined): PciAddress | undefined {
  const a = addressOf(dev)
  if (attr(a, 'type') !== 'pci') return undefined
  const m = attr(a, 'multifunction')
  const addr: PciAddress = {
    domain: num(attr(a, 'domain')),
    bus: num(attr(a, 'bus')),
    slot: num(attr(a, 'slot')),
    function: num(attr(a, 'function')),
    multi: m === 'on' || m === 'off' ? m : undefined,
  }
  if (addr.domain === 0 && addr.bus === 0 && addr.slot === 0 && addr.function === 0) return undefined
  return addr
}

/** libvirt's virDeviceInfoPCIAddressIsWanted: no address at all, or an empty `<address type='pci'/>`. */
export function pciAddressWanted(dev: XmlElement | undefined): boolean {
  const t = addressType(dev)
  return t === undefined || (t === 'pci' && pciAddressOf(dev) === undefined)
}

const hex = (n: number, w: number) => `0x${n.toString(16).padStart(w, '0')}`

/** Replaces the device's address with `address` (appended last, where libvirt writes it). */
export function setAddress(dev: XmlElement, address: XmlElement): void {
  dev.children = dev.children.filter((c) => c.kind !== 'element' || c.name !== 'address')
  dev.children.push(address)
}

export function pciAddressElement(a: PciAddress): XmlElement {
  return el('address', {
    type: 'pci',
    domain: hex(a.domain, 4),
    bus: hex(a.bus, 2),
    slot: hex(a.slot, 2),
    function: hex(a.function, 1),
    multifunction: a.multi,
  })
}

export function driveAddressElement(controller: number, bus: number, target: number, unit: number): XmlElement {
  return el('address', {type: 'drive', controller, bus, target, unit})
}

export function usbAddressElement(bus: number, port: string): XmlElement {
  return el('address', {type: 'usb', bus, port})
}

export function virtioSerialAddressElement(controller: number, bus: number, port: number): XmlElement {
  return el('address', {type: 'virtio-serial', controller, bus, port})
}

/** QEMU's `addr=` value for a PCI address: 0x2, or 0x2.0x1 for a non-zero function. */
export function qemuPciAddr(a: PciAddress): string {
  return a.function === 0 ? `0x${a.slot.toString(16)}` : `0x${a.slot.toString(16)}.0x${a.function.toString(16)}`
}
