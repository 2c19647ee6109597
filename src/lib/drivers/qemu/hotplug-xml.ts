/**
 * Device XML for hotplug: parsing the device a client gives, finding the device of a definition it
 * names (disks by target, interfaces by MAC / PCI address / alias, anything by alias), inserting a
 * device where libvirt puts it, and the aliases the running guest's devices carry.
 */
import {domainToXml, type DomainDef, type DomainDisk, type DomainInterface} from '../../conf/domain.js'
import {pciAddressOf} from '../../conf/domain-address.js'
import {attr, child, el, elementChildren, parseXml, serializeXml, type XmlElement} from '../../conf/xml.js'
import {ErrorDomain, VirError, errors} from '../../errors.js'
import {defaultBus, diskNameToIndex, placeDisks} from './argv.js'
import {devicesOf} from './devices-implicit.js'
import {D} from './context.js'

/** libvirt's VIR_ERR_DEVICE_MISSING. */
export const DEVICE_MISSING = 99

export function deviceMissing(domain: number, detail: string): VirError {
  return new VirError(DEVICE_MISSING, domain, `device not found: ${detail}`, {str1: 'device not found: %s', str2: detail})
}

/** The device element names libvirt knows (virDomainDeviceType, serial & co. being chr devices). */
const KNOWN = new Set([
  'disk', 'lease', 'filesystem', 'interface', 'input', 'sound', 'video', 'hostdev', 'watchdog', 'controller', 'graphics', 'hub',
  'redirdev', 'smartcard', 'serial', 'parallel', 'console', 'channel', 'memballoon', 'nvram', 'rng', 'shmem', 'tpm', 'panic',
  'memory', 'iommu', 'vsock', 'audio', 'crypto',
]) // prettier-ignore

/** Parses a device's XML as libvirt does (errors in the domain config error domain). */
export function parseDevice(xml: string): XmlElement {
  const e = parseXml(xml, 'device_definition', ErrorDomain.DOMAIN)
  if (!KNOWN.has(e.name)) throw errors.configUnsupported(ErrorDomain.DOMAIN, `unknown device type '${e.name}'`)
  return e
}

/** The user alias of a device (`<alias name='ua-...'/>`); other aliases a client gives are ignored, as libvirt does. */
export function userAlias(e: XmlElement | undefined): string | undefined {
  const a = attr(child(e, 'alias'), 'name')
  return a?.startsWith('ua-') ? a : undefined
}

export function aliasOf(e: XmlElement | undefined): string | undefined {
  return attr(child(e, 'alias'), 'name')
}

/** Sets `<alias name=...>` on a device element, before its `<address>` as libvirt orders it. */
export function setAlias(e: XmlElement, alias: string): void {
  e.children = e.children.filter((c) => !(c.kind === 'element' && c.name === 'alias'))
  const a = el('alias', {name: alias})
  const i = e.children.findIndex((c) => c.kind === 'element' && c.name === 'address')
  if (i < 0) e.children.push(a)
  else e.children.splice(i, 0, a)
}

/** Drops an alias that is not a user alias (a config copy of a live device keeps only `ua-` aliases). */
export function stripAlias(e: XmlElement): XmlElement {
  if (userAlias(e) === undefined) e.children = e.children.filter((c) => !(c.kind === 'element' && c.name === 'alias'))
  return e
}

/**
 * Gives every disk and interface of a running guest's definition its alias (the ids its QEMU
 * devices were started with), so that later changes keep naming them the same.
 */
export function stampAliases(def: DomainDef): void {
  for (const p of placeDisks(def)) {
    if (p.disk.xml && aliasOf(p.disk.xml) === undefined) setAlias(p.disk.xml, p.alias)
  }
  def.devices.interfaces.forEach((i, n) => {
    if (!i.xml) i.xml = el('interface', {type: i.type})
    if (aliasOf(i.xml) === undefined) setAlias(i.xml, `net${n}`)
  })
}

/** The next free `netN` (libvirt: one past the highest in use). */
export function nextNetAlias(def: DomainDef): string {
  let max = -1
  for (const i of def.devices.interfaces) {
    const m = /^net(\d+)$/.exec(aliasOf(i.xml) ?? '')
    if (m) max = Math.max(max, Number(m[1]))
  }
  return `net${max + 1}`
}

/** A definition with one more device element, as new XML (reparsed by the caller for validation and addresses). */
export function withDevice(def: DomainDef, dev: XmlElement, opts: {id?: number; active?: boolean}): string {
  const root = domainToXml(def, {...opts, secure: true})
  const devs = devicesOf(root)
  const kids = devs.children
  if (dev.name === 'disk') {
    // libvirt's virDomainDiskInsert: after the last disk on the same bus with a lower target index.
    const busOf = (t: XmlElement | undefined) => attr(t, 'bus') ?? defaultBus(attr(t, 'dev') ?? '')
    const bus = busOf(child(dev, 'target'))
    const idx = diskNameToIndex(attr(child(dev, 'target'), 'dev') ?? '')
    let at = -1
    let lastDisk = -1
    kids.forEach((c, i) => {
      if (c.kind !== 'element' || c.name !== 'disk') return
      lastDisk = i
      const t = child(c, 'target')
      if (busOf(t) === bus && diskNameToIndex(attr(t, 'dev') ?? '') < idx) at = i
    })
    const pos = at >= 0 ? at + 1 : lastDisk >= 0 ? lastDisk + 1 : kids.findIndex((c) => c.kind === 'element' && c.name !== 'emulator')
    kids.splice(pos < 0 ? kids.length : pos, 0, dev)
  } else {
    // After the last device of the same kind, else at the end.
    let pos = -1
    kids.forEach((c, i) => {
      if (c.kind === 'element' && c.name === dev.name) pos = i
    })
    kids.splice(pos < 0 ? kids.length : pos + 1, 0, dev)
  }
  return serializeXml(root)
}

/** The disk of `def` with this target. */
export function diskByTarget(def: DomainDef, target: string): DomainDisk | undefined {
  return def.devices.disks.find((d) => d.target === target)
}

/** The interface a detach names (libvirt's virDomainNetFindIdx: MAC, PCI address and alias, each when given). */
export function findInterface(def: DomainDef, dev: XmlElement, domain: number): DomainInterface {
  const mac = attr(child(dev, 'mac'), 'address')?.toLowerCase()
  const pci = pciAddressOf(dev)
  const alias = aliasOf(dev)
  const hits = def.devices.interfaces.filter((i) => {
    if (mac !== undefined && i.mac !== mac) return false
    if (alias !== undefined && aliasOf(i.xml) !== alias) return false
    if (pci) {
      const a = pciAddressOf(i.xml)
      if (!a || a.domain !== pci.domain || a.bus !== pci.bus || a.slot !== pci.slot || a.function !== pci.function) return false
    }
    return true
  })
  if (hits.length === 1) return hits[0]
  if (hits.length === 0) {
    const where = pci ? pciText(pci) : '(<null>)'
    throw deviceMissing(
      domain,
      `no device found at address '${where}' matching MAC address '${mac ?? '(<null>)'}' and alias '${alias ?? '(<null>)'}'`,
    )
  }
  throw errors.operationFailed(domain, `multiple devices matching MAC address ${mac ?? ''} found`)
}

function pciText(a: {domain: number; bus: number; slot: number; function: number}): string {
  const h = (n: number, w: number) => n.toString(16).padStart(w, '0')
  return `${h(a.domain, 4)}:${h(a.bus, 2)}:${h(a.slot, 2)}.${h(a.function, 1)}`
}

/** A device of `def` (element in its devices) with this alias. */
export function deviceByAlias(def: DomainDef, alias: string): XmlElement | undefined {
  for (const d of def.devices.disks) if (aliasOf(d.xml) === alias) return d.xml
  for (const i of def.devices.interfaces) if (aliasOf(i.xml) === alias) return i.xml
  // Disks and interfaces are the typed lists above (the document may still hold removed ones).
  return elementChildren(devicesOf(def.root)).find((e) => e.name !== 'disk' && e.name !== 'interface' && aliasOf(e) === alias)
}

export {D}
