/**
 * The network-filter driver (libvirt's virNWFilterDriver): filter definitions and bindings (a
 * filter instantiated on a guest's tap), what the NWFILTER_* procedures call. The QEMU driver gets
 * the binding half (NwFilterBindings) to filter its guests' taps: the nwfilter driver itself in
 * libvirtd, virtnwfilterd over RPC in modular mode.
 */

/** A filter handle, as the wire carries it. */
export interface NwFilterRef {
  name: string
  uuid: string
}

/** A binding handle: the tap and the filter on it. */
export interface NwFilterBindingRef {
  portdev: string
  filtername: string
}

/** Creating and deleting bindings: what a hypervisor driver needs. */
export interface NwFilterBindings {
  nwfilterBindingCreateXML(xml: string, flags: number): Promise<NwFilterBindingRef>
  nwfilterBindingDelete(portdev: string): Promise<void>
}

export interface NwFilterDriver extends NwFilterBindings {
  listNwFilters(): NwFilterRef[]
  nwfilterLookupByName(name: string): NwFilterRef
  nwfilterLookupByUUID(uuid: string): NwFilterRef
  nwfilterGetXMLDesc(ref: NwFilterRef, flags: number): string
  nwfilterDefineXML(xml: string, flags: number): Promise<NwFilterRef>
  nwfilterUndefine(ref: NwFilterRef): Promise<void>
  listNwFilterBindings(): NwFilterBindingRef[]
  nwfilterBindingLookupByPortDev(portdev: string): NwFilterBindingRef
  nwfilterBindingGetXMLDesc(portdev: string, flags: number): string
}
