/**
 * All device addresses of a QEMU definition, as libvirt's qemuDomainAssignAddresses gives them at
 * define time: virtio-serial ports for virtio channels, PCI addresses (pci-assign.ts), then USB
 * ports for USB devices (inputs before redirdevs, on bus 0, from port 1). Addresses already in the
 * definition are kept, so running this again (on reload, on redefinition) changes nothing.
 */
import type {DomainDef} from '../../conf/domain.js'
import {setAddress, usbAddressElement, virtioSerialAddressElement} from '../../conf/domain-address.js'
import {type XmlElement, attr, child} from '../../conf/xml.js'
import {errors} from '../../errors.js'
import {unsupported} from './argv.js'
import {D} from './context.js'
import {addImplicitDevices, devicesOf} from './devices-implicit.js'
import {assignPciAddresses} from './pci-assign.js'

function elems(devs: XmlElement, name: string): XmlElement[] {
  return devs.children.filter((c): c is XmlElement => c.kind === 'element' && c.name === name)
}

function assignVirtioSerial(devs: XmlElement): void {
  const used = new Set<number>()
  const chans = [...elems(devs, 'console'), ...elems(devs, 'channel')].filter((c) => attr(child(c, 'target'), 'type') === 'virtio')
  for (const c of chans) {
    const a = child(c, 'address')
    if (attr(a, 'type') === 'virtio-serial' && attr(a, 'port') !== undefined) used.add(Number(attr(a, 'port')))
  }
  for (const c of chans) {
    if (child(c, 'address') !== undefined) continue
    const isConsole = c.name === 'console'
    let port = isConsole ? 0 : 1
    while (used.has(port)) port++
    used.add(port)
    setAddress(c, virtioSerialAddressElement(0, 0, port))
  }
}

/** How many ports a USB controller model gives (libvirt's virDomainUSBAddressControllerModelToPorts). */
function usbPorts(c: XmlElement): number {
  const ports = attr(c, 'ports')
  switch (attr(c, 'model')) {
    case 'piix3-uhci':
    case 'piix4-uhci':
    case 'vt82c686b-uhci':
      return 2
    case 'ehci':
    case 'ich9-ehci1':
      return 6
    case 'pci-ohci':
      return ports !== undefined ? Number(ports) : 3
    case 'nec-xhci':
    case 'qemu-xhci':
      return ports !== undefined ? Number(ports) : 4
    default:
      return 0
  }
}

/** USB devices in libvirt's order: inputs on the usb bus, then USB redirection channels. */
export function usbDevices(devs: XmlElement): XmlElement[] {
  return [...elems(devs, 'input').filter((i) => attr(i, 'bus') === 'usb'), ...elems(devs, 'redirdev').filter((r) => attr(r, 'bus') === 'usb')]
}

function assignUsb(devs: XmlElement): void {
  const list = usbDevices(devs)
  if (list.length === 0) return
  const ctrls = elems(devs, 'controller').filter((c) => attr(c, 'type') === 'usb')
  if (ctrls.some((c) => attr(c, 'model') === 'none')) {
    throw errors.configUnsupported(D, 'USB is disabled for this domain, but USB devices are present in the domain XML')
  }
  const ports = ctrls.filter((c) => (attr(c, 'index') ?? '0') === '0').reduce((n, c) => n + usbPorts(c), 0)
  const used = new Set<string>()
  for (const d of list) {
    const a = child(d, 'address')
    if (attr(a, 'type') === 'usb' && attr(a, 'port') !== undefined) used.add(attr(a, 'port')!)
  }
  for (const d of list) {
    const a = child(d, 'address')
    if (attr(a, 'type') === 'usb' && attr(a, 'port') !== undefined) continue
    let port = 1
    while (used.has(String(port))) port++
    if (port > ports)
      throw unsupported(`not enough USB ports on controller 0 for ${list.length} USB devices (USB hubs are not supported by vctl's qemu driver)`)
    used.add(String(port))
    setAddress(d, usbAddressElement(0, String(port)))
  }
}

/** Adds libvirt's implicit devices and assigns every address; modifies `def` in place. */
export function prepareDevices(def: DomainDef): void {
  addImplicitDevices(def)
  const devs = devicesOf(def.root)
  assignVirtioSerial(devs)
  assignPciAddresses(def)
  assignUsb(devs)
}
