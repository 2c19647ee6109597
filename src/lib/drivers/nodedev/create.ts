/**
 * Creating, defining and destroying devices on the real host, refused as libvirt 9.0's node-device
 * driver refuses them on a host without fibre channel HBAs able to host vports or mediated devices:
 * the same XML checks first, then the same errors.
 */
import {ErrorCode, ErrorDomain, VirError, errors} from '../../errors.js'
import {attr, child, childrenNamed, parseXml, textOf} from '../../conf/xml.js'

const D = ErrorDomain.NODEDEV

const unsupportedType = () => errors.configUnsupported(D, 'Unsupported device type')

/** virNodeDeviceCreateXML (define: virNodeDeviceDefineXML) on this host: always an error, libvirt's. */
export function refuseNodeDeviceXml(xml: string, define: boolean, lookup: (name: string) => string): never {
  const root = parseXml(xml, 'node_device_definition', D)
  if (root.name !== 'device') throw errors.xmlError(D, `unexpected root element <${root.name}>, expecting <device>`)
  const name = textOf(child(root, 'name')) || 'new device'
  const caps = childrenNamed(root, 'capability')
  if (caps.length === 0) throw errors.internal(D, `no device capabilities for '${name}'`)
  const type = attr(caps[0], 'type')
  const parent = textOf(child(root, 'parent'))
  if (type === 'mdev') {
    const detail = `Unable to find address for parent device '${parent}'`
    throw new VirError(ErrorCode.PARSE_FAILED, D, `failed to parse configuration file ${detail}`, {
      str1: 'failed to parse configuration file %s',
      str2: detail,
    })
  }
  const fc = childrenNamed(caps[0], 'capability').some((c) => attr(c, 'type') === 'fc_host')
  if (!define && type === 'scsi_host' && fc) {
    if (parent) lookup(parent)
    throw errors.internal(D, `Parent device ${parent || name} is not capable of vport operations`)
  }
  throw unsupportedType()
}

/** virNodeDeviceDestroy: only vHBAs and mediated devices can be destroyed, and this host has neither. */
export function refuseNodeDeviceDestroy(name: string, lookup: (name: string) => string): never {
  lookup(name)
  throw unsupportedType()
}

/** virNodeDeviceLookupSCSIHostByWWN with no fibre channel host: libvirt reports no cause. */
export function noScsiHostByWwn(): never {
  throw new VirError(ErrorCode.INTERNAL_ERROR, ErrorDomain.NONE, 'An error occurred, but the cause is unknown')
}
