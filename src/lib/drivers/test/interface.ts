/**
 * The test driver's host interfaces (test:///default) as libvirt's test driver keeps them: in memory,
 * starting with `eth1` active; define/undefine, start/destroy and change-begin/commit/rollback
 * transactions (a rollback restores the definitions of the snapshot, every one inactive, as libvirt's does).
 */
import {ErrorCode, ErrorDomain, VirError, errors} from '../../errors.js'
import {formatInterfaceXml, parseInterfaceXml, type IfaceDefinition} from '../../conf/interface.js'
import {ListInterfacesFlags, type IfaceRef, type InterfaceDriver} from '../interface-types.js'
import {checkFlags as checkFlagsOf} from '../host-types.js'

const D = ErrorDomain.TEST
/** VIR_ERR_NO_INTERFACE, VIR_ERR_MULTIPLE_INTERFACES */
const NO_INTERFACE = 57
const MULTIPLE_INTERFACES = 59

export const TEST_INTERFACE_XML = `<interface type='ethernet' name='eth1'>
  <start mode='onboot'/>
  <mtu size='1492'/>
  <protocol family='ipv4'>
    <ip address='192.168.0.5' prefix='24'/>
    <route gateway='192.168.0.1'/>
  </protocol>
  <mac address='aa:bb:cc:dd:ee:ff'/>
</interface>`

interface Obj {
  def: IfaceDefinition
  active: boolean
}

const notValid = () => new VirError(ErrorCode.OPERATION_INVALID, D, 'Requested operation is not valid')
const noIface = (detail: string) => new VirError(NO_INTERFACE, D, `Interface not found: ${detail}`, {str1: 'Interface not found: %s', str2: detail})

function checkFlags(flags: number, allowed: number, fn: string): void {
  checkFlagsOf(flags, allowed, fn, D)
}

export class TestInterfaceDriver implements InterfaceDriver {
  private objs = new Map<string, Obj>()
  private backup?: IfaceDefinition[]

  constructor() {
    const def = parseInterfaceXml(TEST_INTERFACE_XML)
    this.objs.set(def.name, {def, active: true})
  }

  private ref(o: Obj): IfaceRef {
    return {name: o.def.name, mac: o.def.mac ?? ''}
  }

  private get(name: string): Obj {
    const o = this.objs.get(name)
    if (!o) throw noIface(`no interface with matching name '${name}'`)
    return o
  }

  private sorted(): Obj[] {
    return [...this.objs.values()].sort((a, b) => (a.def.name < b.def.name ? -1 : 1))
  }

  listAllInterfaces(flags: number): IfaceRef[] {
    checkFlags(flags, ListInterfacesFlags.INACTIVE | ListInterfacesFlags.ACTIVE, 'testConnectListAllInterfaces')
    const both = (flags & (ListInterfacesFlags.INACTIVE | ListInterfacesFlags.ACTIVE)) === 0
    return this.sorted()
      .filter((o) => both || (o.active ? flags & ListInterfacesFlags.ACTIVE : flags & ListInterfacesFlags.INACTIVE))
      .map((o) => this.ref(o))
  }

  listInterfaceNames(active: boolean): string[] {
    return this.sorted()
      .filter((o) => o.active === active)
      .map((o) => o.def.name)
  }

  interfaceLookupByName(name: string): IfaceRef {
    return this.ref(this.get(name))
  }

  interfaceLookupByMAC(mac: string): IfaceRef {
    const found = this.sorted().filter((o) => (o.def.mac ?? '').toLowerCase() === mac.toLowerCase())
    if (found.length === 0) throw noIface(`no interface with matching mac '${mac}'`)
    if (found.length > 1) throw new VirError(MULTIPLE_INTERFACES, D, 'multiple matching interfaces found')
    return this.ref(found[0])
  }

  interfaceGetXMLDesc(name: string, flags: number): string {
    checkFlags(flags, 1, 'testInterfaceGetXMLDesc')
    return formatInterfaceXml(this.get(name).def)
  }

  interfaceIsActive(name: string): boolean {
    return this.get(name).active
  }

  interfaceDefineXML(xml: string, flags: number): IfaceRef {
    checkFlags(flags, 1, 'testInterfaceDefineXML')
    const def = parseInterfaceXml(xml)
    const old = this.objs.get(def.name)
    const o = {def, active: old?.active ?? false}
    this.objs.set(def.name, o)
    return this.ref(o)
  }

  interfaceUndefine(name: string): void {
    this.get(name)
    this.objs.delete(name)
  }

  interfaceCreate(name: string, flags: number): void {
    checkFlags(flags, 0, 'testInterfaceCreate')
    const o = this.get(name)
    if (o.active) throw notValid()
    o.active = true
  }

  interfaceDestroy(name: string, flags: number): void {
    checkFlags(flags, 0, 'testInterfaceDestroy')
    const o = this.get(name)
    if (!o.active) throw notValid()
    o.active = false
  }

  interfaceChangeBegin(flags: number): void {
    checkFlags(flags, 0, 'testInterfaceChangeBegin')
    if (this.backup) throw errors.operationInvalid(D, 'there is another transaction running.')
    this.backup = [...this.objs.values()].map((o) => structuredClone(o.def))
  }

  interfaceChangeCommit(flags: number): void {
    checkFlags(flags, 0, 'testInterfaceChangeCommit')
    if (!this.backup) throw errors.operationInvalid(D, 'no transaction running, nothing to be committed.')
    this.backup = undefined
  }

  interfaceChangeRollback(flags: number): void {
    checkFlags(flags, 0, 'testInterfaceChangeRollback')
    if (!this.backup) throw errors.operationInvalid(D, 'no transaction running, nothing to rollback.')
    this.objs = new Map(this.backup.map((def) => [def.name, {def, active: false}]))
    this.backup = undefined
  }
}
