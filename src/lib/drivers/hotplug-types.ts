/**
 * Device hotplug of a hypervisor driver (libvirt's virDomainAttachDevice*, DetachDevice*,
 * UpdateDeviceFlags, DetachDeviceAlias). A driver that has them exposes this as `hotplug`; the
 * daemon maps the procedures onto it and, without it, answers libvirt's "not supported" error, as
 * libvirt's test driver does. Device events go out on the driver's emitter as DEVICE_EVENT.
 */
import type {DomainObjRef} from '../conf/domain-list.js'

/** virDomainModificationImpact (and virDomainDeviceModifyFlags' FORCE for update). */
export const AffectFlags = {CURRENT: 0, LIVE: 1, CONFIG: 2, FORCE: 4} as const

export interface DeviceHotplug {
  /** Adds the device of `xml` to the running guest (LIVE) and/or its persistent definition (CONFIG). */
  attachDevice(uuid: string, xml: string, flags: number): Promise<void>
  /** Removes the device `xml` matches; a live removal the guest has not finished is left pending. */
  detachDevice(uuid: string, xml: string, flags: number): Promise<void>
  /** Changes a device in place (cdrom/floppy media). */
  updateDevice(uuid: string, xml: string, flags: number): Promise<void>
  /** Removes the device with this alias. */
  detachDeviceAlias(uuid: string, alias: string, flags: number): Promise<void>
}

export interface HotplugDriver {
  readonly hotplug?: DeviceHotplug
}

/** The emitter event of device events (beside 'domain'). */
export const DEVICE_EVENT = 'domain-device'

/** DEVICE_ADDED, DEVICE_REMOVED, DEVICE_REMOVAL_FAILED (virDomainEventID 19, 15, 22). */
export interface DeviceEventMsg {
  kind: 'added' | 'removed' | 'removal-failed'
  dom: DomainObjRef
  alias: string
}
