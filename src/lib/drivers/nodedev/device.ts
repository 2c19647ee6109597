/** A host device as the node device driver keeps it: libvirt's node-device definition. */

export interface SystemCap {
  type: 'system'
  product?: string
  hardware: {vendor?: string; version?: string; serial?: string; uuid: string}
  firmware: {vendor?: string; version?: string; releaseDate?: string}
}

export interface PciLink {
  port?: number
  speed?: string
  width: number
}

export interface PciCap {
  type: 'pci'
  cls: number
  domain: number
  bus: number
  slot: number
  func: number
  product: {id: number; name?: string}
  vendor: {id: number; name?: string}
  iommuGroup?: {number: number; addresses: Array<{domain: number; bus: number; slot: number; func: number}>}
  numaNode?: number
  /** Present for PCI Express devices; the links when the device has one. */
  pciExpress?: {cap?: PciLink; sta?: PciLink}
}

export interface UsbDeviceCap {
  type: 'usb_device'
  bus: number
  device: number
  product: {id: number; name?: string}
  vendor: {id: number; name?: string}
}

export interface UsbInterfaceCap {
  type: 'usb'
  number: number
  cls: number
  subclass: number
  protocol: number
}

export interface NetCap {
  type: 'net'
  ifname: string
  address: string
  speed: number
  state: string
  /** Offload features, libvirt's names in its order (rx, tx, sg, ...). */
  features: string[]
  /** 80203 (ethernet) or 80211 (wlan). */
  subtype: string
}

export interface StorageCap {
  type: 'storage'
  block: string
  driveType: string
  model?: string
  vendor?: string
  size: number
  logicalBlockSize: number
  numBlocks: number
}

export type NodeCap = SystemCap | PciCap | UsbDeviceCap | UsbInterfaceCap | NetCap | StorageCap

export interface NodeDev {
  name: string
  /** The device's sysfs directory (real path); none for `computer`. */
  sysfsPath?: string
  devnode?: string
  parent: string | null
  driver?: string
  cap: NodeCap
}
