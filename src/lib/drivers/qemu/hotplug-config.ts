/**
 * Hotplug on the persistent definition (VIR_DOMAIN_AFFECT_CONFIG): the definition with the device
 * added, removed or changed, validated as a define would be; written by the caller once the live
 * part (if any) has succeeded, so that a change is never half applied.
 */
import {cloneXml, serializeXml, type XmlElement} from '../../conf/xml.js'
import {formatDomainXml, parseDomainXml, type DomainDef, type DomainDisk} from '../../conf/domain.js'
import {ErrorCode, ErrorDomain, VirError, errors} from '../../errors.js'
import {cloneDef, D, type QemuContext, type QemuDomain} from './context.js'
import {parseForQemu} from './definitions.js'
import {aliasOf, deviceByAlias, deviceMissing, diskByTarget, findInterface, stripAlias, withDevice} from './hotplug-xml.js'
import {attr, child} from '../../conf/xml.js'

/** The definition with `dev` added (libvirt refuses a disk target already present). */
export function configWithDevice(ctx: QemuContext, def: DomainDef, dev: XmlElement): DomainDef {
  const copy = stripAlias(cloneXml(dev))
  if (copy.name === 'disk') {
    const target = attr(child(copy, 'target'), 'dev') ?? ''
    if (diskByTarget(def, target)) throw errors.operationInvalid(D, `target ${target} already exists`)
  }
  return parseForQemu(ctx, withDevice(def, copy, {}))
}

/** The definition without the device `dev` names. */
export function configWithoutDevice(def: DomainDef, dev: XmlElement): DomainDef {
  const c = cloneDef(def)
  if (dev.name === 'disk') {
    const target = attr(child(dev, 'target'), 'dev') ?? ''
    const disk = diskByTarget(c, target)
    if (!disk) throw deviceMissing(D, `no target device ${target}`)
    c.devices.disks = c.devices.disks.filter((x) => x !== disk)
    return c
  }
  if (dev.name === 'interface') {
    const i = findInterface(c, dev, ErrorDomain.DOMAIN)
    c.devices.interfaces = c.devices.interfaces.filter((x) => x !== i)
    return c
  }
  throw new VirError(ErrorCode.OPERATION_UNSUPPORTED, D, `Operation not supported: persistent detach of device '${dev.name}' is not supported`)
}

/** The definition without the device with this alias (only user aliases live in a definition). */
export function configWithoutAlias(def: DomainDef, alias: string): DomainDef {
  const c = cloneDef(def)
  const e = deviceByAlias(c, alias)
  if (!e) throw errors.internal(ErrorDomain.DOMAIN, `no device found with alias ${alias}`)
  c.devices.disks = c.devices.disks.filter((x) => x.xml !== e)
  c.devices.interfaces = c.devices.interfaces.filter((x) => x.xml !== e)
  const devs = child(c.root, 'devices')
  if (devs) devs.children = devs.children.filter((x) => x !== e)
  return c
}

/** The disk a device XML describes, parsed as part of a definition would be. */
export function parseDiskDevice(dev: XmlElement): DomainDisk {
  const xml = `<domain type='qemu'><name>device</name><memory>1024</memory><os><type>hvm</type></os><devices>${serializeXml(dev)}</devices></domain>`
  const disk = parseDomainXml(xml, {docName: 'device_definition'}).devices.disks.at(0)
  if (!disk) throw errors.internal(D, 'no disk in device definition')
  return disk
}

/** The definition with the medium of one removable disk replaced. */
export function configWithMedium(def: DomainDef, nd: DomainDisk): DomainDef {
  const c = cloneDef(def)
  const disk = diskByTarget(c, nd.target)
  if (!disk) throw errors.internal(D, `target ${nd.target} doesn't exist.`)
  checkRemovable(disk)
  disk.source = nd.source
  if (nd.type !== disk.type) disk.type = nd.type
  return c
}

export function checkRemovable(disk: DomainDisk): void {
  if (disk.device !== 'cdrom' && disk.device !== 'floppy') {
    throw errors.configUnsupported(D, 'disk source can be changed only in removable drives')
  }
}

/** Writes the new persistent definition (atomically) and makes it the domain's. */
export async function commitConfig(ctx: QemuContext, d: QemuDomain, def: DomainDef): Promise<void> {
  try {
    await ctx.store.writeConfig(def.name, formatDomainXml(def, {secure: true}))
  } catch (err) {
    throw errors.systemError(D, `cannot write definition of '${def.name}': ${(err as Error).message}`)
  }
  d.config = def
  if (d.run) void ctx.saveStatus(d)
}

export {aliasOf}
