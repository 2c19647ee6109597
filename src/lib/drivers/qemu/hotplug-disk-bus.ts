/**
 * What a disk hotplug needs per bus, as libvirt 9.0's QEMU driver does it: the controller a disk's
 * drive address names must exist on the running guest (SCSI controllers are added on the fly, the
 * model libvirt picks, at the next free PCI slot; IDE and SATA ones are not), the device_add
 * arguments of the frontend (virtio-blk-pci, scsi-hd/scsi-cd, ide-hd/ide-cd), and the
 * arguments of a SCSI controller plugged before its first disk. A bus QEMU cannot hotplug (IDE,
 * SATA) is still tried, so the error is QEMU's own, as libvirt reports it.
 */
import type {DomainDef, DomainDisk} from '../../conf/domain.js'
import {pciAddressOf, qemuPciAddr} from '../../conf/domain-address.js'
import {attr, type XmlElement} from '../../conf/xml.js'
import {errors} from '../../errors.js'
import {isQ35, placeDisks, scsiModel, type DiskPlacement} from './argv.js'
import {D} from './context.js'
import {devicesOf} from './devices-implicit.js'

function controllers(def: DomainDef, type: string): XmlElement[] {
  return devicesOf(def.root).children.filter((c): c is XmlElement => c.kind === 'element' && c.name === 'controller' && attr(c, 'type') === type)
}

function controllerIndex(c: XmlElement): number {
  return Number(attr(c, 'index') ?? '0')
}

/** The `bus` and `addr` of a device with a PCI address in `def` (none when it has no PCI address). */
export function pciBusAddr(def: DomainDef, e: XmlElement | undefined): Record<string, unknown> {
  const a = pciAddressOf(e)
  if (!a) return {}
  return {bus: a.bus === 0 ? (isQ35(def.os.machine) ? 'pcie.0' : 'pci.0') : `pci.${a.bus}`, addr: qemuPciAddr(a)}
}

/**
 * Refuses, before anything is done, a disk the running guest `def` cannot take: a bus libvirt has
 * no hotplug for, or an IDE/SATA controller the guest does not have. `bus` is the disk's bus.
 */
export function checkDiskBus(def: DomainDef, disk: DomainDisk, bus: string): void {
  // (USB disks pass here and are refused by the driver's validation: vctl has no USB storage yet.)
  if (bus === 'fdc' || !['virtio', 'scsi', 'usb', 'ide', 'sata'].includes(bus)) {
    throw errors.internal(D, `Invalid bus type '${bus}' for disk`)
  }
  if (bus !== 'ide' && bus !== 'sata') return
  const placed = placeDisks({...def, devices: {...def.devices, disks: [disk]}})[0]
  const index = placed.drive.controller
  // The chipset's own controller: pc's IDE, q35's SATA (AHCI), index 0.
  const builtIn = index === 0 && (isQ35(def.os.machine) ? bus === 'sata' : bus === 'ide')
  if (!builtIn && !controllers(def, bus).some((c) => controllerIndex(c) === index)) {
    throw errors.internal(D, `Could not find ${bus} controller with index ${index} required for device`)
  }
}

/** The SCSI controllers of `next` (the live definition with the disk) that the running `def` lacks. */
export function newScsiControllers(def: DomainDef, next: DomainDef): XmlElement[] {
  const have = new Set(controllers(def, 'scsi').map(controllerIndex))
  return controllers(next, 'scsi').filter((c) => !have.has(controllerIndex(c)))
}

/** device_add arguments of a SCSI controller (libvirt's alias scsiN). */
export function scsiControllerArgs(def: DomainDef, c: XmlElement): Record<string, unknown> {
  const model = attr(c, 'model') ?? 'lsilogic'
  const driver = model === 'virtio-scsi' ? 'virtio-scsi-pci' : 'lsi'
  return {driver, id: `scsi${controllerIndex(c)}`, ...pciBusAddr(def, c)}
}

/** The placement (bus, alias, drive address) of the disk with this target in `def`. */
export function placementOf(def: DomainDef, target: string): DiskPlacement | undefined {
  return placeDisks(def).find((p) => p.disk.target === target)
}

/** device_add arguments of a disk's frontend, `format` its format node (none for an empty drive). */
export function diskFrontendArgs(def: DomainDef, p: DiskPlacement, format: string | undefined): Record<string, unknown> {
  const d = p.disk
  const cd = d.device === 'cdrom'
  const dr = p.drive
  const drive = format !== undefined ? {drive: format} : {}
  switch (p.bus) {
    case 'scsi': {
      const lsi = scsiModel(def, dr.controller) === 'lsilogic'
      const where = lsi ? {'scsi-id': dr.unit} : {channel: 0, 'scsi-id': dr.target, lun: dr.unit}
      return {
        driver: cd ? 'scsi-cd' : 'scsi-hd',
        bus: `scsi${dr.controller}.${dr.bus}`,
        ...where,
        device_id: `drive-${p.alias}`,
        ...drive,
        id: p.alias,
      }
    }
    case 'ide':
      return {driver: cd ? 'ide-cd' : 'ide-hd', bus: `ide.${dr.bus}`, unit: dr.unit, ...drive, id: p.alias}
    case 'sata': {
      const bus = isQ35(def.os.machine) && dr.controller === 0 ? `ide.${dr.unit}` : `sata${dr.controller}.${dr.unit}`
      return {driver: cd ? 'ide-cd' : 'ide-hd', bus, ...drive, id: p.alias}
    }
    default:
      return {driver: 'virtio-blk-pci', ...pciBusAddr(def, d.xml), ...drive, id: p.alias}
  }
}

/** Whether a live disk on this bus can be unplugged (device_del). */
export function unpluggableBus(bus: string | undefined): boolean {
  return bus === 'virtio' || bus === 'scsi'
}
