/**
 * The devices vctl's QEMU driver puts on the command line, and the refusal (CONFIG_UNSUPPORTED,
 * naming the element) of everything else: a device in the definition is either on QEMU's command
 * line or refused at define/start, never silently dropped. Where libvirt 9.0 itself refuses a
 * value, its error is used.
 */
import type {DomainDef} from '../../conf/domain.js'
import {type XmlElement, attr, child} from '../../conf/xml.js'
import {errors} from '../../errors.js'
import {isQ35, unsupported} from './argv.js'
import {D} from './context.js'

/** `<devices>` children with a handler (disks, NICs, serials, consoles and graphics are checked in validate.ts). */
const HANDLED = new Set([
  'emulator',
  'disk',
  'controller',
  'interface',
  'serial',
  'console',
  'channel',
  'input',
  'graphics',
  'sound',
  'audio',
  'video',
  'redirdev',
  'watchdog',
  'memballoon',
  'rng',
])

const CONTROLLER_MODELS: Record<string, ReadonlySet<string | undefined>> = {
  usb: new Set([
    undefined,
    'piix3-uhci',
    'piix4-uhci',
    'ehci',
    'ich9-ehci1',
    'ich9-uhci1',
    'ich9-uhci2',
    'ich9-uhci3',
    'qemu-xhci',
    'nec-xhci',
    'none',
  ]),
  pci: new Set(['pci-root', 'pcie-root', 'pcie-root-port', 'pci-bridge', 'pcie-to-pci-bridge', 'dmi-to-pci-bridge']),
  sata: new Set([undefined]),
  ide: new Set([undefined]),
  scsi: new Set([undefined, 'lsilogic', 'virtio-scsi']),
  'virtio-serial': new Set([undefined, 'virtio']),
}
const INPUT_BUSES: Record<string, ReadonlySet<string>> = {
  tablet: new Set(['usb', 'virtio']),
  mouse: new Set(['ps2', 'usb', 'virtio']),
  keyboard: new Set(['ps2', 'usb', 'virtio']),
}
const SOUND_MODELS = new Set(['ich9', 'ich6', 'ac97', 'es1370'])
const WATCHDOG_ACTIONS = new Set(['reset', 'shutdown', 'poweroff', 'pause', 'none', 'inject-nmi'])
const LIBVIRT_WATCHDOG_MODELS = new Set(['i6300esb', 'ib700', 'diag288'])
const RNG_FILES = new Set(['/dev/urandom', '/dev/random', '/dev/hwrng'])

function elements(def: DomainDef): XmlElement[] {
  const devs = child(def.root, 'devices')
  return devs ? devs.children.filter((c): c is XmlElement => c.kind === 'element') : []
}

function checkController(c: XmlElement, q35: boolean): void {
  const type = attr(c, 'type') ?? ''
  const model = attr(c, 'model')
  const models = CONTROLLER_MODELS[type] as ReadonlySet<string | undefined> | undefined
  if (models === undefined) throw unsupported(`controller type '${type}' is not supported by vctl's qemu driver`)
  if (!models.has(model)) throw unsupported(`${type} controller model '${model ?? ''}' is not supported by vctl's qemu driver`)
  if (type === 'ide' && q35) throw unsupported('IDE controllers are unsupported for this QEMU binary or machine type')
  // Index 0 is the root (a root model without an index gets index 0).
  const index = attr(c, 'index') ?? (model === 'pci-root' || model === 'pcie-root' ? '0' : undefined)
  if (type === 'pci' && index === '0' && model !== (q35 ? 'pcie-root' : 'pci-root')) {
    const want = q35 ? 'pcie-root' : 'pci-root'
    throw errors.xmlError(
      D,
      `The PCI controller with index='0' must be model='${want}' for this machine type, but model='${model ?? ''}' was found instead`,
    )
  }
}

function textOfChild(e: XmlElement, name: string): string {
  const c = child(e, name)
  const t = c?.children.find((x) => x.kind === 'text')
  return t?.kind === 'text' ? t.text.trim() : ''
}

/** Refuses devices (and device options) this driver would not put on the command line. */
export function validateDevices(def: DomainDef): void {
  const q35 = isQ35(def.os.machine)
  const spice = def.devices.graphics.some((g) => g.type === 'spice')
  let watchdogs = 0
  const usbOff = elements(def).some((e) => e.name === 'controller' && attr(e, 'type') === 'usb' && attr(e, 'model') === 'none')
  let videos = 0
  for (const e of elements(def)) {
    if (!HANDLED.has(e.name)) throw unsupported(`device <${e.name}> is not supported by vctl's qemu driver`)
    switch (e.name) {
      case 'controller':
        checkController(e, q35)
        break
      case 'input': {
        const type = attr(e, 'type') ?? ''
        const buses = INPUT_BUSES[type] as ReadonlySet<string> | undefined
        if (buses === undefined) throw unsupported(`input type '${type}' is not supported by vctl's qemu driver`)
        const bus = attr(e, 'bus') ?? (type === 'tablet' ? 'usb' : 'ps2')
        if (!buses.has(bus)) throw unsupported(`input ${type} on bus '${bus}' is not supported by vctl's qemu driver`)
        if (bus === 'usb' && usbOff) throw unsupported("Can't add USB input device. USB bus is disabled")
        break
      }
      case 'sound': {
        const model = attr(e, 'model') ?? ''
        if (!SOUND_MODELS.has(model)) throw unsupported(`sound model '${model}' is not supported by vctl's qemu driver`)
        break
      }
      case 'audio': {
        const type = attr(e, 'type') ?? ''
        if (type !== 'none' && type !== 'spice') throw unsupported(`audio type '${type}' is not supported by vctl's qemu driver`)
        if (type === 'spice' && !spice) throw unsupported("'spice' audio backend requires a spice graphics device")
        break
      }
      case 'channel': {
        const type = attr(e, 'type') ?? ''
        const target = child(e, 'target')
        if (attr(target, 'type') !== 'virtio')
          throw unsupported(`channel target type '${attr(target, 'type') ?? ''}' is not supported by vctl's qemu driver`)
        if (type === 'spicevmc') {
          if (!spice) throw unsupported('spicevmc channel requires a spice graphics device')
        } else if (type !== 'unix') {
          throw unsupported(`channel type '${type}' is not supported by vctl's qemu driver`)
        }
        const name = attr(target, 'name')
        if (name === undefined) throw unsupported('virtio channel needs a target name')
        // A unix channel without a path gets a socket named after it in the daemon's directory.
        if (type === 'unix' && attr(child(e, 'source'), 'path') === undefined && !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) {
          throw unsupported(`channel name '${name}' cannot name a socket: give the channel <source mode='bind' path='...'/>`)
        }
        break
      }
      case 'redirdev':
        if (attr(e, 'bus') !== 'usb' || attr(e, 'type') !== 'spicevmc') {
          throw unsupported(`redirdev type '${attr(e, 'type') ?? ''}' on bus '${attr(e, 'bus') ?? ''}' is not supported by vctl's qemu driver`)
        }
        if (!spice) throw unsupported('spicevmc redirdev requires a spice graphics device')
        break
      case 'watchdog': {
        const model = attr(e, 'model') ?? ''
        if (!LIBVIRT_WATCHDOG_MODELS.has(model)) throw errors.configUnsupported(D, `unknown watchdog model '${model}'`)
        if (model !== 'i6300esb') throw unsupported(`watchdog model '${model}' is not supported by vctl's qemu driver`)
        if (++watchdogs > 1) throw errors.internal(D, 'only a single watchdog device is supported')
        const action = attr(e, 'action') ?? 'reset'
        if (!WATCHDOG_ACTIONS.has(action)) throw unsupported(`watchdog action '${action}' is not supported by vctl's qemu driver`)
        break
      }
      case 'video': {
        const model = child(e, 'model')
        const type = attr(model, 'type') ?? 'vga'
        if (type !== 'qxl' && type !== 'virtio' && type !== 'none') {
          if (videos > 0) throw unsupported(`video type '${type}' is only valid as primary video device`)
          if ((attr(model, 'heads') ?? '1') !== '1') throw unsupported(`video type '${type}' doesn't support multiple 'heads'`)
        }
        videos++
        break
      }
      case 'memballoon': {
        const model = attr(e, 'model') ?? ''
        if (model !== 'virtio' && model !== 'none') throw unsupported(`memballoon model '${model}' is not supported by vctl's qemu driver`)
        break
      }
      case 'rng': {
        const backend = child(e, 'backend')
        if (attr(e, 'model') !== 'virtio') throw unsupported(`rng model '${attr(e, 'model') ?? ''}' is not supported by vctl's qemu driver`)
        if (attr(backend, 'model') !== 'random')
          throw unsupported(`rng backend model '${attr(backend, 'model') ?? ''}' is not supported by vctl's qemu driver`)
        const file = textOfChild(e, 'backend') || '/dev/urandom'
        if (!RNG_FILES.has(file)) throw unsupported(`rng backend '${file}' is not supported by vctl's qemu driver`)
        break
      }
    }
  }
}
