/**
 * The network driver (libvirt's bridge network driver) on real Linux networking: a table of the
 * NetworkDriver calls, delegating to one file per concern: define.ts (checks, bridge name, MAC),
 * lifecycle.ts (bridge, nft, dnsmasq; reattach), store.ts (files), ports.ts (port API),
 * update.ts (net-update), leases.ts, default-net.ts (the `default` network).
 */
import {EventEmitter} from 'node:events'

import {ErrorDomain, errors} from '../../errors.js'
import {formatNetworkXml, parseNetworkXml, type NetworkDef} from '../../conf/network.js'
import {parseUuid} from '../../uuid.js'
import {matchObject} from '../list-filter.js'
import type {NetworkDriver, NetworkRef, ObjectEventMsg} from '../types.js'
import type {NetworkDhcpLease, NetworkPortRef} from '../network-port-types.js'
import {bridgeOf, defOf, type NetCtx, type NetObj, type NetworkDriverOptions} from './context.js'
import {prepareDef} from './define.js'
import {liveDefOf, pathsOf, reattachNetwork, startNetwork, stopNetwork} from './lifecycle.js'
import {readLeases} from './leases.js'
import {createPort, deletePort, listPorts, lookupPort, portXml} from './ports.js'
import {ensureDirs, loadAll, removeConfig, removeLive, saveConfig, saveLive, setAutostartLink} from './store.js'
import {updateNetwork} from './update.js'
import {removeDnsmasqFiles} from './dnsmasq.js'

const N = ErrorDomain.NETWORK
/** virNetworkEventLifecycleType. */
export const NetworkEvent = {DEFINED: 0, UNDEFINED: 1, STARTED: 2, STOPPED: 3} as const
/** VIR_NETWORK_XML_INACTIVE. */
const XML_INACTIVE = 1

export class BridgeNetworkDriver implements NetworkDriver {
  readonly events = new EventEmitter()
  private readonly ctx: NetCtx
  /** Changes run one at a time, in order. */
  private queue: Promise<unknown> = Promise.resolve()

  private constructor(opts: NetworkDriverOptions, nets: Map<string, NetObj>) {
    this.events.setMaxListeners(0)
    this.ctx = {opts, nets, events: this.events}
  }

  /** Loads the definitions and reattaches to the networks that outlived the previous daemon. */
  static async create(opts: NetworkDriverOptions): Promise<BridgeNetworkDriver> {
    ensureDirs(opts.dirs)
    const d = new BridgeNetworkDriver(opts, loadAll(opts.dirs, opts.log))
    for (const [uuid, n] of d.ctx.nets) {
      if (!n.live) continue
      let alive = false
      try {
        alive = await reattachNetwork(d.ctx, n.live)
      } catch (err) {
        opts.log.error(`network '${n.live.name}': reattaching failed: ${(err as Error).message}`)
      }
      if (alive) {
        opts.log.info(`network '${n.live.name}' is running, reattached`)
        continue
      }
      opts.log.warn(`network '${n.live.name}' is no longer running`)
      removeLive(opts.dirs, n.live.name)
      n.live = undefined
      n.ports.clear()
      if (!n.config) d.ctx.nets.delete(uuid)
    }
    return d
  }

  private serial<T>(fn: () => Promise<T> | T): Promise<T> {
    const p = this.queue.then(fn)
    this.queue = p.catch(() => undefined)
    return p
  }

  private emit(def: NetworkDef, event: number): void {
    this.events.emit('network', {kind: 'lifecycle', ref: {name: def.name, uuid: def.uuid}, event, detail: 0} satisfies ObjectEventMsg)
  }

  private get(uuid: string): NetObj {
    const n = this.ctx.nets.get(parseUuid(uuid) ?? uuid)
    if (!n) throw errors.noNetwork(`no network with matching uuid '${uuid}'`)
    return n
  }

  private static refOf(def: NetworkDef): NetworkRef {
    return {name: def.name, uuid: def.uuid}
  }

  /** Starts every inactive network marked autostart (at daemon start). */
  async autostart(): Promise<void> {
    if (!this.ctx.opts.hostNetworkAllowed) {
      const some = [...this.ctx.nets.values()].some((n) => n.autostart && !n.live)
      if (some) this.ctx.opts.log.warn('not autostarting networks: this daemon runs under --root in the host network namespace')
      return
    }
    for (const n of this.ctx.nets.values()) {
      if (!n.autostart || n.live || !n.config) continue
      try {
        await this.serial(() => this.startObj(n))
      } catch (err) {
        this.ctx.opts.log.error(`autostart of network '${n.config.name}' failed: ${(err as Error).message}`)
      }
    }
  }

  /** Whether the driver has any definition at all (the default network is made only when not). */
  isEmpty(): boolean {
    return this.ctx.nets.size === 0
  }

  listNetworks(flags: number): NetworkRef[] {
    return [...this.ctx.nets.values()]
      .filter((n) => matchObject({active: !!n.live, persistent: !!n.config, autostart: n.autostart}, flags))
      .map((n) => BridgeNetworkDriver.refOf(defOf(n)))
  }

  numOfNetworks(active: boolean): number {
    return [...this.ctx.nets.values()].filter((n) => !!n.live === active).length
  }

  lookupNetworkByName(name: string): NetworkRef {
    for (const n of this.ctx.nets.values()) if (defOf(n).name === name) return BridgeNetworkDriver.refOf(defOf(n))
    throw errors.noNetwork(`no network with matching name '${name}'`)
  }

  lookupNetworkByUuid(uuid: string): NetworkRef {
    return BridgeNetworkDriver.refOf(defOf(this.get(uuid)))
  }

  networkDefineXML(xml: string): Promise<NetworkRef> {
    const def = parseNetworkXml(xml)
    return this.serial(async () => {
      const existing = prepareDef(this.ctx, def)
      await saveConfig(this.ctx.opts.dirs, def)
      const n: NetObj = existing ?? {autostart: false, ports: new Map()}
      n.config = def
      this.ctx.nets.set(def.uuid, n)
      this.emit(def, NetworkEvent.DEFINED)
      return BridgeNetworkDriver.refOf(def)
    })
  }

  networkCreateXML(xml: string): Promise<NetworkRef> {
    const def = parseNetworkXml(xml)
    return this.serial(async () => {
      const existing = prepareDef(this.ctx, def)
      if (existing?.live) throw errors.operationInvalid(N, `network '${def.name}' is already active`)
      const live = liveDefOf(def)
      await startNetwork(this.ctx, live)
      const n: NetObj = existing ?? {autostart: false, ports: new Map()}
      n.live = live
      this.ctx.nets.set(def.uuid, n)
      await saveLive(this.ctx.opts.dirs, n)
      this.emit(def, NetworkEvent.STARTED)
      return BridgeNetworkDriver.refOf(def)
    })
  }

  private async startObj(n: NetObj): Promise<void> {
    if (n.live || !n.config) throw errors.operationInvalid(N, 'network is already active')
    const live = liveDefOf(n.config)
    await startNetwork(this.ctx, live)
    n.live = live
    n.ports.clear()
    await saveLive(this.ctx.opts.dirs, n)
    this.emit(live, NetworkEvent.STARTED)
  }

  networkCreate(uuid: string): Promise<void> {
    const n = this.get(uuid)
    return this.serial(() => this.startObj(n))
  }

  networkDestroy(uuid: string): Promise<void> {
    const n = this.get(uuid)
    return this.serial(async () => {
      const live = n.live
      if (!live) throw errors.operationInvalid(N, `network '${defOf(n).name}' is not active`)
      await stopNetwork(this.ctx, live)
      removeLive(this.ctx.opts.dirs, live.name)
      n.live = undefined
      n.ports.clear()
      if (!n.config) {
        this.ctx.nets.delete(live.uuid)
        removeDnsmasqFiles(pathsOf(this.ctx, live.name), true)
      }
      this.emit(live, NetworkEvent.STOPPED)
    })
  }

  networkUndefine(uuid: string): Promise<void> {
    const n = this.get(uuid)
    return this.serial(() => {
      const config = n.config
      if (!config) throw errors.operationInvalid(N, `network '${defOf(n).name}' is not persistent`)
      removeConfig(this.ctx.opts.dirs, config.name)
      n.config = undefined
      n.autostart = false
      this.emit(config, NetworkEvent.UNDEFINED)
      if (!n.live) {
        this.ctx.nets.delete(config.uuid)
        removeDnsmasqFiles(pathsOf(this.ctx, config.name), true)
      }
    })
  }

  networkGetXMLDesc(uuid: string, flags: number): string {
    const n = this.get(uuid)
    const def = flags & XML_INACTIVE && n.config ? n.config : defOf(n)
    return formatNetworkXml(def)
  }

  networkGetBridgeName(uuid: string): string {
    const def = defOf(this.get(uuid))
    const br = bridgeOf(def)
    if (!br) throw errors.internal(N, `network '${def.name}' does not have a bridge name.`)
    return br
  }

  networkGetAutostart(uuid: string): boolean {
    return this.get(uuid).autostart
  }

  networkSetAutostart(uuid: string, on: boolean): Promise<void> {
    const n = this.get(uuid)
    return this.serial(() => {
      if (!n.config) throw errors.operationInvalid(N, 'cannot set autostart for transient network')
      setAutostartLink(this.ctx.opts.dirs, n.config.name, on)
      n.autostart = on
    })
  }

  networkIsActive(uuid: string): boolean {
    return !!this.get(uuid).live
  }

  networkIsPersistent(uuid: string): boolean {
    return !!this.get(uuid).config
  }

  networkUpdate(uuid: string, command: number, section: number, parentIndex: number, xml: string, flags: number): Promise<void> {
    const n = this.get(uuid)
    return this.serial(() => updateNetwork(this.ctx, n, {command, section, parentIndex, xml, flags}))
  }

  networkGetDhcpLeases(uuid: string, mac: string | null): NetworkDhcpLease[] {
    const n = this.get(uuid)
    const live = n.live
    if (!live) return []
    const all = readLeases(pathsOf(this.ctx, live.name).leases, live, bridgeOf(live))
    return mac === null ? all : all.filter((l) => l.mac !== null && l.mac === mac.toLowerCase())
  }

  networkListAllPorts(uuid: string): NetworkPortRef[] {
    return listPorts(this.get(uuid))
  }

  networkPortLookupByUuid(netUuid: string, portUuid: string): NetworkPortRef {
    return lookupPort(this.get(netUuid), portUuid)
  }

  networkPortCreateXML(netUuid: string, xml: string): Promise<NetworkPortRef> {
    const n = this.get(netUuid)
    return this.serial(() => createPort(this.ctx, n, xml))
  }

  networkPortGetXMLDesc(netUuid: string, portUuid: string): string {
    return portXml(this.get(netUuid), portUuid)
  }

  networkPortDelete(netUuid: string, portUuid: string): Promise<void> {
    const n = this.get(netUuid)
    return this.serial(() => deletePort(this.ctx, n, portUuid))
  }

  async shutdownDriver(): Promise<void> {
    await this.queue
  }
}
