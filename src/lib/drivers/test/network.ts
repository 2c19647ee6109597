/** The test driver's networks (virNetworkDriver of test:///default), kept in the TestHost. */
import {EventEmitter} from 'node:events'
import {ErrorDomain, errors} from '../../errors.js'
import {formatNetworkXml, parseNetworkXml, type NetworkDef} from '../../conf/network.js'
import {parseUuid} from '../../uuid.js'
import {matchObject} from '../list-filter.js'
import type {NetworkDriver, NetworkRef, ObjectEventMsg} from '../types.js'
import type {TestHost, TestObject} from './host.js'

type Net = TestObject<NetworkDef>

export class TestNetworkDriver implements NetworkDriver {
  readonly events = new EventEmitter()

  constructor(private readonly host: TestHost) {
    this.events.setMaxListeners(0)
  }

  private get nets(): Map<string, Net> {
    return this.host.networks
  }

  private getNet(uuid: string): Net {
    const n = this.nets.get(parseUuid(uuid) ?? uuid)
    if (!n) throw errors.noNetwork(`no network with matching uuid '${uuid}'`)
    return n
  }

  private emit(n: Net, event: number): void {
    this.events.emit('network', {kind: 'lifecycle', ref: {name: n.def.name, uuid: n.def.uuid}, event, detail: 0} satisfies ObjectEventMsg)
  }

  listNetworks(flags: number): NetworkRef[] {
    return [...this.nets.values()].filter((n) => matchObject(n, flags)).map((n) => ({name: n.def.name, uuid: n.def.uuid}))
  }

  numOfNetworks(active: boolean): number {
    return [...this.nets.values()].filter((n) => n.active === active).length
  }

  lookupNetworkByName(name: string): NetworkRef {
    for (const n of this.nets.values()) if (n.def.name === name) return {name, uuid: n.def.uuid}
    throw errors.noNetwork(`no network with matching name '${name}'`)
  }

  lookupNetworkByUuid(uuid: string): NetworkRef {
    const n = this.getNet(uuid)
    return {name: n.def.name, uuid: n.def.uuid}
  }

  private add(def: NetworkDef, persistent: boolean): Net {
    for (const n of this.nets.values()) {
      if (n.def.name === def.name && n.def.uuid !== def.uuid) {
        throw errors.operationFailed(ErrorDomain.NETWORK, `network '${def.name}' already exists with uuid ${n.def.uuid}`)
      }
    }
    const existing = this.nets.get(def.uuid)
    if (existing) {
      if (existing.def.name !== def.name) {
        throw errors.operationFailed(ErrorDomain.NETWORK, `network '${existing.def.name}' is already defined with uuid ${def.uuid}`)
      }
      if (!persistent && existing.active) throw errors.operationInvalid(ErrorDomain.NETWORK, `network '${def.name}' is already active`)
      existing.def = def
      existing.persistent ||= persistent
      return existing
    }
    const n = {def, active: false, persistent, autostart: false}
    this.nets.set(def.uuid, n)
    return n
  }

  networkDefineXML(xml: string): NetworkRef {
    const n = this.add(parseNetworkXml(xml), true)
    this.emit(n, 0)
    return {name: n.def.name, uuid: n.def.uuid}
  }

  networkCreateXML(xml: string): NetworkRef {
    const n = this.add(parseNetworkXml(xml), false)
    n.active = true
    this.emit(n, 2)
    return {name: n.def.name, uuid: n.def.uuid}
  }

  networkCreate(uuid: string): void {
    const n = this.getNet(uuid)
    if (n.active) throw errors.operationInvalid(ErrorDomain.NETWORK, `network '${n.def.name}' is already active`)
    n.active = true
    this.emit(n, 2)
  }

  networkDestroy(uuid: string): void {
    const n = this.getNet(uuid)
    if (!n.active) throw errors.operationInvalid(ErrorDomain.NETWORK, `network '${n.def.name}' is not active`)
    n.active = false
    this.emit(n, 3)
    if (!n.persistent) this.nets.delete(n.def.uuid)
  }

  networkUndefine(uuid: string): void {
    const n = this.getNet(uuid)
    if (!n.persistent) throw errors.operationInvalid(ErrorDomain.NETWORK, `network '${n.def.name}' is not persistent`)
    n.persistent = false
    n.autostart = false
    this.emit(n, 1)
    if (!n.active) this.nets.delete(n.def.uuid)
  }

  networkGetXMLDesc(uuid: string): string {
    return formatNetworkXml(this.getNet(uuid).def)
  }

  networkGetBridgeName(uuid: string): string {
    const n = this.getNet(uuid)
    if (!n.def.bridge?.name) throw errors.internal(ErrorDomain.NETWORK, `network '${n.def.name}' does not have a bridge name.`)
    return n.def.bridge.name
  }

  networkGetAutostart(uuid: string): boolean {
    return this.getNet(uuid).autostart
  }

  networkSetAutostart(uuid: string, on: boolean): void {
    const n = this.getNet(uuid)
    if (!n.persistent) throw errors.operationInvalid(ErrorDomain.NETWORK, 'cannot set autostart for transient network')
    n.autostart = on
  }

  networkIsActive(uuid: string): boolean {
    return this.getNet(uuid).active
  }

  networkIsPersistent(uuid: string): boolean {
    return this.getNet(uuid).persistent
  }
}
