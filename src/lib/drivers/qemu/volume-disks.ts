/**
 * `<disk type='volume'><source pool='P' volume='V'/>`: at start the storage driver (in process in
 * libvirtd, over RPC from virtqemud) says which file or device the volume is, and the live disk
 * becomes that file or block device for QEMU (format from the volume unless the XML gives one).
 */
import {ErrorDomain, errors} from '../../errors.js'
import type {DomainDef} from '../../conf/domain.js'
import {attr, child} from '../../conf/xml.js'
import type {StorageVolumes} from '../storage-vol-types.js'

const FORMATS = new Set(['raw', 'qcow2', 'qcow', 'qed', 'vmdk', 'vdi', 'vpc', 'vhdx', 'iso'])

/** Resolves the volume disks of a definition about to start (the live copy is changed in place). */
export async function resolveVolumeDisks(def: DomainDef, volumes: StorageVolumes | undefined): Promise<void> {
  for (const d of def.devices.disks) {
    if (d.type !== 'volume') continue
    const src = child(d.xml, 'source')
    const pool = attr(src, 'pool')
    const volume = attr(src, 'volume')
    if (pool === undefined || volume === undefined) {
      if (d.device === 'cdrom') continue
      throw errors.xmlError(ErrorDomain.DOMAIN, `disk '${d.target}': missing pool or volume in <source>`)
    }
    if (!volumes) throw errors.noSupport(ErrorDomain.STORAGE, 'no storage driver to resolve volume disks')
    const v = await volumes.resolveVolume(pool, volume)
    if (v.type !== 'file' && v.type !== 'block') {
      throw errors.configUnsupported(ErrorDomain.DOMAIN, `disk '${d.target}': volume '${volume}' of type '${v.type}' cannot be used as a disk`)
    }
    d.type = v.type
    d.source = v.path
    d.driverName ??= 'qemu'
    d.driverType ??= v.format !== undefined && FORMATS.has(v.format) ? (v.format === 'iso' ? 'raw' : v.format) : 'raw'
    // Formatting takes the source from `source`, not from the pool/volume attributes.
    if (d.xml) d.xml = {...d.xml, children: d.xml.children.filter((c) => c.kind !== 'element' || c.name !== 'source')}
  }
}
