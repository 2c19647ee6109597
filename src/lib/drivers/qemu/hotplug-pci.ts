/**
 * PCI topology of a running guest: QEMU cannot take new PCI controllers under a running guest the
 * way a definition can grow them, so libvirt's hotplug only uses the buses the guest has (on q35,
 * the spare pcie-root-ports added at define time; a port frees up again when its device is
 * unplugged). A device that would need another bus is refused with libvirt's error.
 */
import type {DomainDef} from '../../conf/domain.js'
import {attr, type XmlElement} from '../../conf/xml.js'
import {errors} from '../../errors.js'
import {D} from './context.js'
import {devicesOf} from './devices-implicit.js'

function pciControllers(def: DomainDef): XmlElement[] {
  return devicesOf(def.root).children.filter((c): c is XmlElement => c.kind === 'element' && c.name === 'controller' && attr(c, 'type') === 'pci')
}

/** Refuses `next` (the live definition with a new device) when its addresses needed a PCI bus `def` lacks. */
export function checkPciBuses(def: DomainDef, next: DomainDef): void {
  const have = new Set(pciControllers(def).map((c) => attr(c, 'index') ?? '0'))
  if (pciControllers(next).some((c) => !have.has(attr(c, 'index') ?? '0'))) throw errors.internal(D, 'No more available PCI slots')
}
