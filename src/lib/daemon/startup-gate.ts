/**
 * Serving clients while the drivers start. A daemon listens (or takes over systemd's sockets) before
 * its drivers are set up, then sets up the hypervisor drivers first and the others after them. A
 * client sees what libvirtd's clients see, only sooner:
 *
 * - CONNECT_OPEN of a hypervisor URI (qemu:///system) waits for that driver's set-up (for QEMU:
 *   its capabilities, definitions and the guests it reattaches to), not for the others;
 * - the calls a client makes first on such a connection (EARLY: versions, host facts, listing and
 *   looking up domains, domain events) are answered at once;
 * - every other call waits until every driver is set up (storage pools, networks with their
 *   autostart, filters, ...), and the connection has its network, storage, ... drivers by then;
 * - CONNECT_OPEN of any other URI (network:///system, ...) waits for every driver.
 *
 * libvirtd answers nothing before all its drivers' state initialisation; its C start-up is fast.
 */
import {DriverRegistry} from '../drivers/registry.js'
import type {ConnectionDrivers} from '../drivers/types.js'
import type {HandlerResult} from '../rpc/dispatch.js'
import type {ProcDef} from '../rpc/program.js'
import type {RpcConnection} from '../rpc/server.js'
import {parseUri} from '../uri.js'

/** Procedures that need no more than the connection's hypervisor driver (and CONNECT_OPEN itself). */
const EARLY = new Set([
  'CONNECT_OPEN',
  'CONNECT_CLOSE',
  'CONNECT_GET_TYPE',
  'CONNECT_GET_VERSION',
  'CONNECT_GET_LIB_VERSION',
  'CONNECT_GET_HOSTNAME',
  'CONNECT_GET_URI',
  'CONNECT_GET_CAPABILITIES',
  'CONNECT_GET_MAX_VCPUS',
  'CONNECT_SUPPORTS_FEATURE',
  'CONNECT_IS_SECURE',
  'CONNECT_REGISTER_CLOSE_CALLBACK',
  'CONNECT_UNREGISTER_CLOSE_CALLBACK',
  'AUTH_LIST',
  'AUTH_POLKIT',
  'AUTH_SASL_INIT',
  'AUTH_SASL_START',
  'AUTH_SASL_STEP',
  'NODE_GET_INFO',
  'NODE_GET_FREE_MEMORY',
  'NODE_GET_SECURITY_MODEL',
  'CONNECT_LIST_ALL_DOMAINS',
  'CONNECT_LIST_DOMAINS',
  'CONNECT_NUM_OF_DOMAINS',
  'CONNECT_LIST_DEFINED_DOMAINS',
  'CONNECT_NUM_OF_DEFINED_DOMAINS',
  'CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY',
  'CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY',
  'CONNECT_DOMAIN_EVENT_REGISTER',
  'CONNECT_DOMAIN_EVENT_DEREGISTER',
  'CONNECT_DOMAIN_EVENT_REGISTER_ANY',
  'CONNECT_DOMAIN_EVENT_DEREGISTER_ANY',
  'DOMAIN_LOOKUP_BY_ID',
  'DOMAIN_LOOKUP_BY_NAME',
  'DOMAIN_LOOKUP_BY_UUID',
  'DOMAIN_GET_INFO',
  'DOMAIN_GET_STATE',
  'DOMAIN_IS_ACTIVE',
  'DOMAIN_IS_PERSISTENT',
  'DOMAIN_GET_AUTOSTART',
  'DOMAIN_HAS_MANAGED_SAVE_IMAGE',
])

/** Whether a procedure is answered before every driver is set up. */
export function answeredEarly(procName: string): boolean {
  return EARLY.has(procName)
}

type Handler<A, R> = (conn: RpcConnection, args: A) => HandlerResult<R>

export class StartupGate {
  private readonly registry: DriverRegistry
  /** Set once every driver's set-up has run: opens go straight to the registry. */
  private opened = false
  /** Set once the early connections have their other drivers: calls go straight to their handlers. */
  private served = false
  private readonly hypervisors = new Map<string, {done: Promise<void>; resolve: () => void}>()
  /** Drivers of connections opened early, to complete with the other drivers. */
  private readonly early = new Set<ConnectionDrivers>()
  private resolveReady!: () => void
  /** Resolves once every driver is set up and every connection has them. */
  readonly ready = new Promise<void>((r) => (this.resolveReady = r))
  private resolveWanted!: () => void
  /** Resolves once a client waits for more than the hypervisors (see othersNeeded). */
  readonly othersWanted = new Promise<void>((r) => (this.resolveWanted = r))

  constructor(registry: DriverRegistry) {
    this.registry = registry
  }

  /** Whether every driver is set up (and calls are no longer held). */
  get complete(): boolean {
    return this.served
  }

  /** A hypervisor driver (URI scheme) that will be set up: opens of its URIs wait for it. Call before listening. */
  expectHypervisor(scheme: string): void {
    let resolve!: () => void
    const done = new Promise<void>((r) => (resolve = r))
    this.hypervisors.set(scheme, {done, resolve})
  }

  /** The set-up of a hypervisor driver has run (the driver registered, or left out after a failure). */
  hypervisorDone(scheme: string): void {
    this.hypervisors.get(scheme)?.resolve()
  }

  /**
   * Something needs the drivers other than the hypervisors: a held call, an open of another URI, or
   * (the daemon's call) a client that went away, which leaves the process free for them.
   */
  othersNeeded(): void {
    this.resolveWanted()
  }

  /** Every driver's set-up has run: the early connections get their other drivers, held calls go on. */
  async finish(): Promise<void> {
    if (this.opened) return
    this.opened = true
    for (const h of this.hypervisors.values()) h.resolve()
    const early = [...this.early]
    this.early.clear()
    try {
      await Promise.all(early.map((d) => this.addOthers(d)))
    } finally {
      this.served = true
      this.resolveReady()
    }
  }

  /** CONNECT_OPEN: the connection's drivers, waiting for as much of the start-up as the URI needs. */
  async open(name: string | null): Promise<ConnectionDrivers> {
    if (this.opened) return this.registry.open(name)
    let scheme: string | undefined
    try {
      scheme = parseUri(name && name.length ? name : this.registry.defaultUri).driver
    } catch {
      return this.registry.open(name) // the registry reports the bad URI
    }
    const pending = this.hypervisors.get(scheme)
    if (!pending) {
      // The test driver (its own networks, pools...) is there from the start; anything else needs everything.
      if (!this.registry.hypervisors.has(scheme)) {
        this.othersNeeded()
        await this.ready
      }
      return this.registry.open(name)
    }
    await pending.done
    if (this.opened) return this.registry.open(name)
    // The hypervisor alone: the registry's other drivers are added when they are set up.
    const only = new DriverRegistry(this.registry.mode, this.registry.defaultUri)
    for (const h of this.registry.hypervisors.values()) only.addHypervisor(h)
    const drivers = await only.open(name)
    if (drivers.hypervisor?.own) return drivers
    if (this.opened) await this.addOthers(drivers)
    else this.early.add(drivers)
    return drivers
  }

  /** A handler that waits for the start-up unless its procedure is answered early. */
  wrap<A, R>(def: ProcDef<A, R>, fn: Handler<A, R>): Handler<A, R> {
    if (answeredEarly(def.name)) return fn
    return (conn, args) => {
      if (this.served) return fn(conn, args)
      this.othersNeeded()
      return this.ready.then(() => fn(conn, args))
    }
  }

  /** Adds the registry's network, storage, ... drivers to a connection opened with its hypervisor only. */
  private async addOthers(d: ConnectionDrivers): Promise<void> {
    const r = this.registry
    if (r.network) d.network = await r.network()
    if (r.storage) d.storage = await r.storage()
    if (r.secret) d.secret = await r.secret()
    if (r.interface) d.interface = await r.interface()
    if (r.nodedev) d.nodedev = await r.nodedev()
    if (r.nwfilter) d.nwfilter = await r.nwfilter()
  }
}
