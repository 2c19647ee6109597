/**
 * The host-interface driver (libvirt's virInterfaceDriver): what the REMOTE interface procedures
 * call. The optional methods are absent from a read-only backend (libvirt's udev backend), whose
 * callers answer "this function is not supported by the connection driver".
 */

/** An interface handle: name and MAC address, as the wire carries it. */
export interface IfaceRef {
  name: string
  mac: string
}

/** virConnectListAllInterfaces flags. */
export const ListInterfacesFlags = {INACTIVE: 1, ACTIVE: 2} as const
/** virInterfaceGetXMLDesc flags. */
export const InterfaceXmlFlags = {INACTIVE: 1} as const

export interface InterfaceDriver {
  listAllInterfaces(flags: number): IfaceRef[] | Promise<IfaceRef[]>
  /** Names of active (`true`) or inactive interfaces, for the older list calls. */
  listInterfaceNames(active: boolean): string[] | Promise<string[]>
  interfaceLookupByName(name: string): IfaceRef | Promise<IfaceRef>
  interfaceLookupByMAC(mac: string): IfaceRef | Promise<IfaceRef>
  interfaceGetXMLDesc(name: string, flags: number): string | Promise<string>
  interfaceIsActive(name: string): boolean | Promise<boolean>
  interfaceDefineXML?(xml: string, flags: number): IfaceRef | Promise<IfaceRef>
  interfaceUndefine?(name: string): void | Promise<void>
  interfaceCreate?(name: string, flags: number): void | Promise<void>
  interfaceDestroy?(name: string, flags: number): void | Promise<void>
  interfaceChangeBegin?(flags: number): void | Promise<void>
  interfaceChangeCommit?(flags: number): void | Promise<void>
  interfaceChangeRollback?(flags: number): void | Promise<void>
}
