/**
 * Reads the host's devices from sysfs as libvirt's udev backend sees them: the `computer` root,
 * PCI devices, USB devices and interfaces, network interfaces and disks, each named as libvirt
 * names it and parented to the nearest ancestor that is itself a node device.
 */
import {existsSync, readFileSync, readdirSync, readlinkSync, realpathSync, statSync} from 'node:fs'
import {basename, dirname, join} from 'node:path'
import type {NodeDev, PciCap, PciLink} from './device.js'
import {idNames} from './ids.js'
import {netFeatures} from '../../os/ethtool.js'

export interface SysfsOptions {
  /** Where sysfs is mounted (tests may point elsewhere). */
  sys?: string
  pciIds?: string
  usbIds?: string
}

const read = (p: string): string | undefined => {
  try {
    return readFileSync(p, 'utf8').trim()
  } catch {
    return undefined
  }
}
const list = (p: string): string[] => {
  try {
    return readdirSync(p).sort()
  } catch {
    return []
  }
}
const linkName = (p: string): string | undefined => {
  try {
    return basename(readlinkSync(p))
  } catch {
    return undefined
  }
}
const num = (s: string | undefined, radix = 10): number => (s === undefined ? NaN : parseInt(s, radix))
/** libvirt's device names keep letters and digits; anything else becomes '_'. */
const clean = (s: string) => s.replace(/[^A-Za-z0-9]/g, '_')

/** Every device of the host, `computer` first. */
export function scanSysfs(opts: SysfsOptions = {}): NodeDev[] {
  const sys = opts.sys ?? '/sys'
  const found: NodeDev[] = []
  for (const addr of list(join(sys, 'bus/pci/devices'))) {
    const dev = pciDevice(sys, addr, opts.pciIds ?? '/usr/share/misc/pci.ids')
    if (dev) found.push(dev)
  }
  for (const id of list(join(sys, 'bus/usb/devices'))) {
    const dev = usbDevice(sys, id, opts.usbIds ?? '/usr/share/misc/usb.ids')
    if (dev) found.push(dev)
  }
  for (const ifname of list(join(sys, 'class/net'))) {
    const dev = netDevice(sys, ifname)
    if (dev) found.push(dev)
  }
  for (const disk of list(join(sys, 'class/block'))) {
    const dev = blockDevice(sys, disk)
    if (dev) found.push(dev)
  }
  // Parents: the nearest sysfs ancestor that is a node device, else the computer.
  const byPath = new Map(found.map((d) => [d.sysfsPath ?? '', d.name]))
  for (const d of found) {
    let p = dirname(d.sysfsPath ?? '/')
    while (p.length > 1 && !byPath.has(p)) p = dirname(p)
    d.parent = byPath.get(p) ?? 'computer'
  }
  return [computer(sys), ...found]
}

function computer(sys: string): NodeDev {
  const dmi = (f: string) => read(join(sys, 'class/dmi/id', f)) || undefined
  return {
    name: 'computer',
    parent: null,
    cap: {
      type: 'system',
      product: dmi('product_name'),
      hardware: {
        vendor: dmi('sys_vendor'),
        version: dmi('product_version'),
        serial: dmi('product_serial'),
        uuid: dmi('product_uuid') ?? '00000000-0000-0000-0000-000000000000',
      },
      firmware: {vendor: dmi('bios_vendor'), version: dmi('bios_version'), releaseDate: dmi('bios_date')},
    },
  }
}

const realDir = (p: string): string | undefined => {
  try {
    return realpathSync(p)
  } catch {
    return undefined
  }
}

function pciDevice(sys: string, addr: string, pciIds: string): NodeDev | undefined {
  const m = /^([0-9a-f]{4,}):([0-9a-f]{2}):([0-9a-f]{2})\.([0-7])$/.exec(addr)
  const dir = join(sys, 'bus/pci/devices', addr)
  const path = realDir(dir)
  if (!m || !path) return undefined
  const vendor = num(read(join(dir, 'vendor')), 16)
  const product = num(read(join(dir, 'device')), 16)
  const names = idNames(pciIds)
  const cap: PciCap = {
    type: 'pci',
    cls: num(read(join(dir, 'class')), 16),
    domain: parseInt(m[1], 16),
    bus: parseInt(m[2], 16),
    slot: parseInt(m[3], 16),
    func: parseInt(m[4], 16),
    product: {id: product, name: names.product(vendor, product)},
    vendor: {id: vendor, name: names.vendor(vendor)},
  }
  const group = linkName(join(dir, 'iommu_group'))
  if (group !== undefined) {
    const addresses = list(join(sys, 'kernel/iommu_groups', group, 'devices')).flatMap((a) => {
      const g = /^([0-9a-f]{4,}):([0-9a-f]{2}):([0-9a-f]{2})\.([0-7])$/.exec(a)
      return g ? [{domain: parseInt(g[1], 16), bus: parseInt(g[2], 16), slot: parseInt(g[3], 16), func: parseInt(g[4], 16)}] : []
    })
    cap.iommuGroup = {number: parseInt(group, 10), addresses}
  }
  const numa = num(read(join(dir, 'numa_node')))
  if (numa >= 0) cap.numaNode = numa
  cap.pciExpress = pciExpress(join(dir, 'config'))
  return {name: `pci_${clean(addr)}`, sysfsPath: path, parent: null, driver: linkName(join(dir, 'driver')), cap}
}

const LINK_SPEEDS = ['', '2.5', '5', '8', '16', '32', '64']

/** libvirt's PCI Express facts from the config space: a PCIe capability or an extended config space. */
function pciExpress(configFile: string): PciCap['pciExpress'] {
  let cfg: Buffer
  try {
    cfg = readFileSync(configFile)
  } catch {
    return undefined
  }
  let pos = 0
  if (cfg.length >= 0x40 && cfg.readUInt16LE(6) & 0x10) {
    let p = cfg[0x34] & 0xfc
    for (let n = 0; p >= 0x40 && p + 0x14 <= cfg.length && n < 48; n++) {
      if (cfg[p] === 0x10) {
        pos = p
        break
      }
      p = cfg[p + 1] & 0xfc
    }
  }
  if (!pos) return cfg.length > 256 ? {} : undefined
  const portType = (cfg.readUInt16LE(pos + 2) >> 4) & 0xf
  // Root-complex integrated endpoints and event collectors have no link.
  if (portType === 9 || portType === 10) return {}
  const lnkCap = cfg.readUInt32LE(pos + 0x0c)
  const lnkSta = cfg.readUInt16LE(pos + 0x12)
  const linkOf = (speed: number, width: number, port?: number): PciLink => ({port, speed: LINK_SPEEDS[speed] || undefined, width})
  return {cap: linkOf(lnkCap & 0xf, (lnkCap >> 4) & 0x3f, lnkCap >>> 24), sta: linkOf(lnkSta & 0xf, (lnkSta >> 4) & 0x3f)}
}

function usbDevice(sys: string, id: string, usbIds: string): NodeDev | undefined {
  const dir = join(sys, 'bus/usb/devices', id)
  const path = realDir(dir)
  if (!path) return undefined
  const name = `usb_${clean(id)}`
  const driver = linkName(join(dir, 'driver'))
  if (id.includes(':')) {
    return {
      name,
      sysfsPath: path,
      parent: null,
      driver,
      cap: {
        type: 'usb',
        number: num(read(join(dir, 'bInterfaceNumber')), 16),
        cls: num(read(join(dir, 'bInterfaceClass')), 16),
        subclass: num(read(join(dir, 'bInterfaceSubClass')), 16),
        protocol: num(read(join(dir, 'bInterfaceProtocol')), 16),
      },
    }
  }
  const vendor = num(read(join(dir, 'idVendor')), 16)
  const product = num(read(join(dir, 'idProduct')), 16)
  const names = idNames(usbIds)
  const bus = num(read(join(dir, 'busnum')))
  const device = num(read(join(dir, 'devnum')))
  return {
    name,
    sysfsPath: path,
    devnode: `/dev/bus/usb/${String(bus).padStart(3, '0')}/${String(device).padStart(3, '0')}`,
    parent: null,
    driver,
    cap: {
      type: 'usb_device',
      bus,
      device,
      product: {id: product, name: names.product(vendor, product) ?? read(join(dir, 'product'))},
      vendor: {id: vendor, name: names.vendor(vendor) ?? read(join(dir, 'manufacturer'))},
    },
  }
}

function netDevice(sys: string, ifname: string): NodeDev | undefined {
  const dir = join(sys, 'class/net', ifname)
  const path = realDir(dir)
  const address = read(join(dir, 'address'))
  if (!path || address === undefined) return undefined
  const speed = num(read(join(dir, 'speed')))
  const wlan = /^DEVTYPE=wlan$/m.test(read(join(dir, 'uevent')) ?? '')
  return {
    name: `net_${clean(ifname)}_${clean(address)}`,
    sysfsPath: path,
    parent: null,
    cap: {
      type: 'net',
      ifname,
      address,
      speed: Number.isNaN(speed) ? 0 : speed >>> 0,
      state: read(join(dir, 'operstate')) ?? 'unknown',
      features: netFeatures(ifname, sys),
      subtype: wlan ? '80211' : '80203',
    },
  }
}

/** Disks libvirt recognises without udev's ID_TYPE: virtio and Xen disks. */
function blockDevice(sys: string, disk: string): NodeDev | undefined {
  if (!/^x?vd[a-z]+$/.test(disk)) return undefined
  const dir = join(sys, 'class/block', disk)
  const path = realDir(dir)
  if (!path || !existsSync(join(dir, 'device')) || !statSync(dir).isDirectory()) return undefined
  const sectors = num(read(join(dir, 'size')))
  const lbs = num(read(join(dir, 'queue/logical_block_size'))) || 512
  const size = (Number.isNaN(sectors) ? 0 : sectors) * 512
  return {
    name: `block_${clean(disk)}`,
    sysfsPath: path,
    devnode: `/dev/${disk}`,
    parent: null,
    cap: {
      type: 'storage',
      block: `/dev/${disk}`,
      driveType: 'disk',
      model: read(join(dir, 'device/model')) || undefined,
      vendor: read(join(dir, 'device/vendor')) || undefined,
      size,
      logicalBlockSize: lbs,
      numBlocks: Math.floor(size / lbs),
    },
  }
}
