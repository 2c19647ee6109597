/**
 * What libvirt's QEMU driver adds to and fills in a definition's devices when it is parsed (its
 * post-parse and qemuDomainDefAddDefaultDevices, then the generic implicit devices), before
 * addresses are assigned: the default USB controller (piix3-uhci on pc, qemu-xhci on q35), q35's
 * built-in SATA controller, the PCI root, controllers the disks and virtio channels need, PS/2
 * mouse and keyboard, a video device for graphics, the audio backend, and the defaults shown on
 * video models and graphics listens.
 */
import type {DomainDef} from '../../conf/domain.js'
import {type XmlElement, attr, child, cloneXml, el, setAttr} from '../../conf/xml.js'
import {isQ35} from './argv.js'

export function devicesOf(root: XmlElement): XmlElement {
  let d = child(root, 'devices')
  if (!d) {
    d = el('devices')
    root.children.push(d)
  }
  return d
}

export function isQ35Def(def: DomainDef): boolean {
  return isQ35(def.os.machine)
}

function elems(devs: XmlElement, name: string): XmlElement[] {
  return devs.children.filter((c): c is XmlElement => c.kind === 'element' && c.name === name)
}

/** The QEMU device behind a PCI controller model (libvirt's `<model name=.../>` default). */
export function pciControllerModelName(model: string): string | undefined {
  switch (model) {
    case 'pci-bridge':
      return 'pci-bridge'
    case 'dmi-to-pci-bridge':
      return 'i82801b11-bridge'
    case 'pcie-to-pci-bridge':
      return 'pcie-pci-bridge'
    case 'pcie-root-port':
      return 'pcie-root-port'
    case 'pcie-switch-upstream-port':
      return 'x3130-upstream'
    case 'pcie-switch-downstream-port':
      return 'xio3130-downstream'
    default:
      return undefined
  }
}

function hasController(devs: XmlElement, type: string, index: number): boolean {
  return elems(devs, 'controller').some((c) => attr(c, 'type') === type && Number(attr(c, 'index') ?? '0') === index)
}

function addController(devs: XmlElement, type: string, index: number, model?: string): void {
  if (hasController(devs, type, index)) return
  devs.children.push(el('controller', {type, index, model}))
}

/** Disk drive addresses (libvirt's virDomainDiskDefAssignAddress), for disks that have none. */
function assignDriveAddresses(def: DomainDef): void {
  for (const d of def.devices.disks) {
    const bus = d.bus
    if (bus !== 'ide' && bus !== 'sata' && bus !== 'scsi' && bus !== 'fdc') continue
    d.xml ??= el('disk')
    if (child(d.xml, 'address') !== undefined) continue
    const m = /^(?:fd|hd|sd|vd|xvd|ubd)([a-z]+)$/.exec(d.target)
    if (!m) continue
    let n = 0
    for (const ch of m[1]) n = n * 26 + (ch.charCodeAt(0) - 96)
    const i = n - 1
    let a: [number, number, number, number]
    if (bus === 'ide') a = [Math.floor(i / 4), Math.floor((i % 4) / 2), 0, i % 2]
    else if (bus === 'sata') a = [Math.floor(i / 6), 0, 0, i % 6]
    else if (bus === 'scsi') a = [Math.floor(i / 7), 0, 0, i % 7]
    else a = [0, 0, 0, i % 2]
    d.xml.children.push(el('address', {type: 'drive', controller: a[0], bus: a[1], target: a[2], unit: a[3]}))
  }
}

function controllerModelDefaults(devs: XmlElement, q35: boolean): void {
  for (const c of elems(devs, 'controller')) {
    const t = attr(c, 'type')
    if (t === 'usb' && attr(c, 'model') === undefined) setAttr(c, 'model', q35 ? 'qemu-xhci' : 'piix3-uhci')
    if (t === 'scsi' && attr(c, 'model') === undefined) setAttr(c, 'model', 'lsilogic')
    if (attr(c, 'index') === undefined) setAttr(c, 'index', nextIndex(devs, t ?? '', c))
    // libvirt writes type, index, model first.
    const first = ['type', 'index', 'model']
    c.attrs = [...first.flatMap((k) => c.attrs.filter((x) => x[0] === k)), ...c.attrs.filter((x) => !first.includes(x[0]))]
  }
}

function nextIndex(devs: XmlElement, type: string, self: XmlElement): number {
  let max = -1
  for (const c of elems(devs, 'controller')) {
    if (c === self || attr(c, 'type') !== type || attr(c, 'index') === undefined) continue
    max = Math.max(max, Number(attr(c, 'index')))
  }
  // USB2 companions share the index of their EHCI master.
  if (type === 'usb' && /^ich9-uhci[123]$/.test(attr(self, 'model') ?? '')) return Math.max(max, 0)
  return max + 1
}

/** Controllers the disks address (generic virDomainDefAddImplicitControllers), per bus. */
function diskControllers(def: DomainDef, devs: XmlElement): void {
  for (const [bus, type] of [
    ['scsi', 'scsi'],
    ['fdc', 'fdc'],
    ['ide', 'ide'],
    ['sata', 'sata'],
  ] as const) {
    let max = -1
    for (const d of def.devices.disks) {
      if (d.bus !== bus) continue
      const a = child(d.xml, 'address')
      if (attr(a, 'type') === 'drive') max = Math.max(max, Number(attr(a, 'controller') ?? '0'))
    }
    for (let i = 0; i <= max; i++) addController(devs, type, i, type === 'scsi' ? 'lsilogic' : undefined)
  }
  const virtioChr = [...elems(devs, 'channel'), ...elems(devs, 'console')].some((c) => attr(child(c, 'target'), 'type') === 'virtio')
  if (virtioChr) addController(devs, 'virtio-serial', 0)
}

const VIDEO_RAM: Record<string, [string, string][]> = {
  vga: [['vram', '16384']],
  cirrus: [['vram', '16384']],
  bochs: [['vram', '16384']],
  vmvga: [['vram', '16384']],
  qxl: [
    ['ram', '65536'],
    ['vram', '65536'],
    ['vgamem', '16384'],
  ],
}

function videoDefaults(devs: XmlElement): void {
  elems(devs, 'video').forEach((v, n) => {
    let model = child(v, 'model')
    if (model === undefined) {
      model = el('model', {type: 'vga'})
      v.children.unshift(model)
    }
    const type = attr(model, 'type') ?? 'vga'
    if (attr(model, 'type') === undefined) setAttr(model, 'type', type)
    if (type === 'none') return
    const attrs: [string, string][] = [['type', type]]
    for (const [k, dflt] of VIDEO_RAM[type] ?? []) attrs.push([k, attr(model, k) ?? dflt])
    attrs.push(['heads', attr(model, 'heads') ?? '1'])
    if (n === 0) attrs.push(['primary', 'yes'])
    for (const [k, v2] of model.attrs) if (!attrs.some((a) => a[0] === k)) attrs.push([k, v2])
    model.attrs = attrs
  })
}

function graphicsDefaults(def: DomainDef): void {
  for (const g of def.devices.graphics) {
    g.xml ??= el('graphics', {type: g.type})
    if (g.type === 'spice' && g.autoport === true) {
      g.port = undefined
      setAttr(g.xml, 'tlsPort', undefined)
    }
    if ((g.type === 'vnc' || g.type === 'spice') && g.listen === undefined && child(g.xml, 'listen') === undefined) {
      g.xml.children.unshift(el('listen', {type: 'address'}))
    }
  }
}

/** Unix channels without a path get one from the daemon when started: their empty source is not kept. */
function channelDefaults(devs: XmlElement): void {
  for (const c of elems(devs, 'channel')) {
    const src = child(c, 'source')
    if (attr(c, 'type') === 'unix' && src !== undefined && attr(src, 'path') === undefined && src.children.length === 0) {
      c.children = c.children.filter((x) => x !== src)
    }
  }
}

/** The first serial port is also the console when there is none (libvirt's console compatibility), with a copy of its source (append='on' too). */
function serialConsole(def: DomainDef): void {
  const first = def.devices.serials[0] as DomainDef['devices']['serials'][number] | undefined
  if (first === undefined || def.devices.consoles.length > 0) return
  const source = child(first.xml, 'source')
  const xml = source === undefined ? undefined : el('console', {type: first.type}, [cloneXml(source)])
  def.devices.consoles.push({type: first.type, path: first.path, targetType: 'serial', targetPort: first.targetPort, xml})
}

/** Serial ports show the QEMU device behind them: `<target type='isa-serial'><model name='isa-serial'/></target>`. */
function serialModels(def: DomainDef): void {
  for (const s of def.devices.serials) {
    if (s.targetType !== 'isa-serial') continue
    s.xml ??= el('serial', {type: s.type})
    let target = child(s.xml, 'target')
    if (target === undefined) {
      target = el('target')
      s.xml.children.push(target)
    }
    if (child(target, 'model') === undefined) target.children.push(el('model', {name: 'isa-serial'}))
  }
}

/** Adds what libvirt adds and fills in what it fills in; modifies `def` in place. Idempotent. */
export function addImplicitDevices(def: DomainDef): void {
  const devs = devicesOf(def.root)
  const q35 = isQ35Def(def)
  assignDriveAddresses(def)
  // QEMU's defaults first (libvirt appends them in this order), then the generic ones.
  if (!elems(devs, 'controller').some((c) => attr(c, 'type') === 'usb')) addController(devs, 'usb', 0, q35 ? 'qemu-xhci' : 'piix3-uhci')
  if (q35) addController(devs, 'sata', 0)
  addController(devs, 'pci', 0, q35 ? 'pcie-root' : 'pci-root')
  diskControllers(def, devs)
  controllerModelDefaults(devs, q35)
  for (const i of elems(devs, 'input')) if (attr(i, 'bus') === undefined) setAttr(i, 'bus', attr(i, 'type') === 'tablet' ? 'usb' : 'ps2')
  const inputs = elems(devs, 'input')
  for (const type of ['mouse', 'keyboard']) {
    if (!inputs.some((i) => attr(i, 'type') === type && (attr(i, 'bus') ?? 'ps2') === 'ps2')) devs.children.push(el('input', {type, bus: 'ps2'}))
  }
  if (def.devices.graphics.length > 0 && elems(devs, 'video').length === 0) devs.children.push(el('video', {}, [el('model', {type: 'vga'})]))
  if (elems(devs, 'audio').length === 0) {
    const spice = def.devices.graphics.some((g) => g.type === 'spice')
    devs.children.push(el('audio', {id: 1, type: spice ? 'spice' : 'none'}))
  }
  videoDefaults(devs)
  graphicsDefaults(def)
  channelDefaults(devs)
  serialModels(def)
  serialConsole(def)
}
