/**
 * The node device driver's interface (virNodeDevice*): the host's physical devices as libvirt's
 * node-device API shows them. Devices are addressed by their libvirt name (`pci_0000_00_03_0`).
 */
import type {EventEmitter} from 'node:events'

/** virConnectListAllNodeDevices capability flags, by capability name. */
export const NodeDeviceCapFlag: Readonly<Record<string, number>> = Object.freeze({
  system: 1 << 0,
  pci: 1 << 1,
  usb_device: 1 << 2,
  usb: 1 << 3,
  net: 1 << 4,
  scsi_host: 1 << 5,
  scsi_target: 1 << 6,
  scsi: 1 << 7,
  storage: 1 << 8,
  fc_host: 1 << 9,
  vports: 1 << 10,
  scsi_generic: 1 << 11,
  drm: 1 << 12,
  mdev_types: 1 << 13,
  mdev: 1 << 14,
  ccw: 1 << 15,
  css: 1 << 16,
  vdpa: 1 << 17,
  ap_card: 1 << 18,
  ap_queue: 1 << 19,
  ap_matrix: 1 << 20,
  vpd: 1 << 21,
})
/** VIR_CONNECT_LIST_NODE_DEVICES_INACTIVE / _ACTIVE. */
export const NodeDeviceListFlags = {INACTIVE: 1 << 30, ACTIVE: 1 << 31} as const

/** virNodeDeviceEventLifecycleType. */
export const NodeDeviceEvent = {CREATED: 0, DELETED: 1, DEFINED: 2, UNDEFINED: 3} as const

/** What the driver emits on `events` ('lifecycle') when a device comes or goes. */
export interface NodeDeviceEventMsg {
  name: string
  event: number
}

export interface NodeDeviceDriver {
  /** Emits 'lifecycle' (NodeDeviceEventMsg) and 'update' (a device name) while a 'lifecycle' listener is attached. */
  readonly events: EventEmitter
  /** Names of the devices matching `flags` (0: all), in libvirt's order. */
  listAllNodeDevices(flags: number): string[]
  /** Names of the devices having capability `cap` (null: all); an unknown capability gives none. */
  listNodeDevices(cap: string | null): string[]
  /** Throws libvirt's "Node device not found" for an unknown name. */
  lookupNodeDevice(name: string): string
  nodeDeviceGetXMLDesc(name: string): string
  nodeDeviceGetParent(name: string): string | null
  nodeDeviceListCaps(name: string): string[]
  /** Whether the device is persistent, and autostarts (virNodeDeviceIsPersistent / GetAutostart). */
  nodeDeviceIsPersistent(name: string): boolean
  nodeDeviceGetAutostart(name: string): boolean
  /** The PCI address (`0000:00:03.0`) of a PCI device, else null. */
  nodeDevicePciAddress(name: string): string | null
  /** Stops watching the host. */
  close(): void
  /** virNodeDeviceCreateXML / virNodeDeviceDestroy, where the driver has them (the test driver's vHBAs). */
  nodeDeviceCreateXML?(xml: string, flags: number): string
  nodeDeviceDestroy?(name: string): void
  nodeDeviceDefineXML?(xml: string, flags: number): string
  lookupScsiHostByWWN?(wwnn: string, wwpn: string, flags: number): string
  /** Public API names this driver has no function for (they answer "not supported"). */
  readonly unsupported?: ReadonlySet<string>
}
