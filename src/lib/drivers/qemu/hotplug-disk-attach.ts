/**
 * Live attach of a disk (libvirt's qemuDomainAttachDeviceDiskLive): the checks libvirt makes before
 * touching the guest (duplicate target, a source that cannot be opened, the bus, the controller),
 * the alias and addresses libvirt gives (virtio-diskN on the next free PCI slot, scsiC-B-U or
 * scsiC-B-T-U at the drive address its target implies), a SCSI controller plugged when the guest
 * has none at that index, then the nodes and the frontend. The disk is locked in virtlockd (through
 * `lock`) before QEMU opens it. The caller commits the returned live definition once QEMU has it.
 */
import type {DomainDef, DomainDisk} from '../../conf/domain.js'
import {attr, type XmlElement} from '../../conf/xml.js'
import {ErrorDomain, errors} from '../../errors.js'
import {defaultBus} from './argv.js'
import {D, type QemuContext} from './context.js'
import {parseForQemu} from './definitions.js'
import {parseDiskDevice} from './hotplug-config.js'
import {checkSource, plugDisk} from './hotplug-disk.js'
import {checkDiskBus, diskFrontendArgs, newScsiControllers, placementOf, scsiControllerArgs} from './hotplug-disk-bus.js'
import {checkPciBuses} from './hotplug-pci.js'
import {diskByTarget, setAlias, userAlias, withDevice} from './hotplug-xml.js'
import type {QmpClient} from './qmp.js'
import {resolveVolumeDisks} from './volume-disks.js'

/** Plugs the disk `dev` into the running guest whose live definition is `def`; returns the new live definition and the disk's alias. */
export async function attachDisk(
  ctx: QemuContext,
  qmp: QmpClient,
  def: DomainDef,
  dev: XmlElement,
  lock: (disk: DomainDisk) => Promise<(() => Promise<void>) | undefined>,
): Promise<{next: DomainDef; alias: string}> {
  const disk = parseDiskDevice(dev)
  const other = diskByTarget(def, disk.target)
  if (other) {
    throw errors.xmlError(
      ErrorDomain.DOMAIN,
      `target '${disk.target}' duplicated for disk sources '${other.source ?? ''}' and '${disk.source ?? ''}'`,
    )
  }
  const bus = disk.bus ?? defaultBus(disk.target) ?? 'virtio'
  if (disk.source !== undefined && (disk.type === 'file' || disk.type === 'block')) checkSource(disk.source)
  checkDiskBus(def, disk, bus)
  const given = userAlias(dev)
  const next = parseForQemu(ctx, withDevice(def, dev, {}))
  checkPciBuses(def, next)
  const p = placementOf(next, disk.target)
  if (!p) throw errors.internal(D, `disk ${disk.target} vanished`)
  const alias = given ?? p.alias
  // A cdrom is read-only whatever the XML says (libvirt's disk post-parse).
  if (p.disk.device === 'cdrom') p.disk.readonly = true
  if (p.disk.xml) setAlias(p.disk.xml, alias)
  if (p.disk.type === 'volume') {
    // The storage driver says which file or device the volume is, as at start.
    await resolveVolumeDisks({...next, devices: {...next.devices, disks: [p.disk]}}, ctx.volumes)
    if (p.disk.source !== undefined) checkSource(p.disk.source)
  }
  const ctrls = newScsiControllers(def, next)
  for (const c of ctrls) setAlias(c, `scsi${attr(c, 'index') ?? '0'}`)
  // virtlockd first: a disk another guest holds is refused before QEMU is touched.
  const unlock = await lock(p.disk)
  try {
    await plugDisk(
      qmp,
      p.disk,
      ctrls.map((c) => scsiControllerArgs(next, c)),
      (format) => diskFrontendArgs(next, {...p, alias}, format),
    )
  } catch (err) {
    await unlock?.()
    throw err
  }
  return {next, alias}
}
