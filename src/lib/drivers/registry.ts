/**
 * Which drivers a daemon hosts and how a CONNECT_OPEN URI maps onto them. The monolithic daemon
 * hosts every driver; a modular daemon hosts one.
 */
import {ErrorCode, ErrorDomain, VirError} from '../errors.js'
import {parseUri, serverName} from '../uri.js'
import type {ConnectionDrivers, HypervisorDriver, NetworkDriver, SecretDriver, StorageDriver} from './types.js'
import type {InterfaceDriver} from './interface-types.js'
import type {NodeDeviceDriver} from './nodedev-types.js'
import type {NwFilterDriver} from './nwfilter-types.js'

export interface RegisteredHypervisor {
  /** URI scheme, e.g. "test", "qemu". */
  scheme: string
  /** Loads the driver on first use (drivers that probe the host start lazily). */
  get(): Promise<HypervisorDriver> | HypervisorDriver
}

export class DriverRegistry {
  readonly hypervisors = new Map<string, RegisteredHypervisor>()
  network?: () => NetworkDriver | Promise<NetworkDriver>
  storage?: () => StorageDriver | Promise<StorageDriver>
  secret?: () => SecretDriver | Promise<SecretDriver>
  interface?: () => InterfaceDriver | Promise<InterfaceDriver>
  nodedev?: () => NodeDeviceDriver | Promise<NodeDeviceDriver>
  nwfilter?: () => NwFilterDriver | Promise<NwFilterDriver>
  /** The URI chosen when a client opens with an empty name. */
  defaultUri: string
  /** Whether connections are system-wide (`/system`) or per-user (`/session`). */
  readonly mode: 'system' | 'session'

  constructor(mode: 'system' | 'session', defaultUri: string) {
    this.mode = mode
    this.defaultUri = defaultUri
  }

  addHypervisor(h: RegisteredHypervisor): void {
    this.hypervisors.set(h.scheme, h)
  }

  /** Resolves a CONNECT_OPEN name to the drivers the connection will use. */
  async open(name: string | null): Promise<ConnectionDrivers> {
    const raw = name && name.length ? name : this.defaultUri
    const noDriver = () =>
      new VirError(ErrorCode.NO_CONNECT, ErrorDomain.NONE, `no connection driver available for ${raw}`, {
        str1: 'no connection driver available for %s',
        str2: raw,
      })
    let uri
    try {
      uri = parseUri(raw)
    } catch {
      throw noDriver()
    }
    const canonical = serverName(uri)
    const drivers: ConnectionDrivers = {uri: canonical}
    const hv = this.hypervisors.get(uri.driver)
    if (hv) {
      const driver = await hv.get()
      driver.checkUriPath(uri.path)
      drivers.hypervisor = driver
      drivers.uri = driver.canonicalUri(uri.path)
      // The test driver keeps its own networks and pools, like libvirt's.
      if (driver.own) {
        drivers.network = driver.own.network
        drivers.storage = driver.own.storage
        drivers.interface = driver.own.interface
        drivers.nodedev = driver.own.nodedev
        return drivers
      }
    } else if (!['network', 'storage', 'secret', 'nodedev', 'nwfilter', 'interface'].includes(uri.driver)) {
      throw noDriver()
    } else if (uri.path !== `/${this.mode}`) {
      throw noDriver()
    }
    if (this.network) drivers.network = await this.network()
    if (this.storage) drivers.storage = await this.storage()
    if (this.secret) drivers.secret = await this.secret()
    if (this.interface) drivers.interface = await this.interface()
    if (this.nodedev) drivers.nodedev = await this.nodedev()
    if (this.nwfilter) drivers.nwfilter = await this.nwfilter()
    if (!drivers.hypervisor && !drivers[uri.driver as 'network' | 'storage' | 'secret' | 'interface' | 'nodedev' | 'nwfilter']) throw noDriver()
    return drivers
  }
}
