/**
 * How each driver is set up in a daemon that hosts it (libvirtd, or the driver's own modular
 * daemon): which module to load, what it is given, where it is registered.
 */
import {daemonPaths, driverStateDirs} from './paths.js'
import type {Daemon} from './server.js'
import {expectStorage, linkGuestsToStorage, setupStorage, volumesFor} from './storage-wiring.js'
import {networkPortsFor} from './network-ports.js'

export interface DriverHook {
  driver: string
  /** The URI scheme of a hypervisor driver: set up before the others, its opens wait for it alone. */
  hypervisor?: string
  setup: (d: Daemon) => Promise<void>
}

/** The daemons of these run a service (their own program) instead of drivers. */
const SERVICES = new Set(['log', 'lock'])

/** Driver set-up steps, run for libvirtd and for the driver's own modular daemon. */
export const DRIVER_HOOKS: DriverHook[] = [
  {
    driver: 'log',
    setup: async (d) => {
      if (d.name !== 'virtlogd') return // libvirtd does not host virtlogd
      const {setupLogDaemon} = await import('../services/log/server.js')
      d.addService(setupLogDaemon(d))
    },
  },
  {
    driver: 'lock',
    setup: async (d) => {
      if (d.name !== 'virtlockd') return
      const {setupLockDaemon} = await import('../services/lock/server.js')
      d.addService(setupLockDaemon(d))
    },
  },
  {
    driver: 'storage',
    setup: (d) => setupStorage(d),
  },
  {
    driver: 'qemu',
    hypervisor: 'qemu',
    setup: async (d) => {
      const {QemuDriver, DEFAULT_EMULATOR} = await import('../drivers/qemu/driver.js')
      const {AbsentQemuDriver, isExecutableFile} = await import('./qemu-absent.js')
      if (!isExecutableFile(DEFAULT_EMULATOR)) {
        // Like libvirtd: the QEMU driver stays, with no guests; calls that need QEMU fail.
        d.log.warn(
          `qemu: cannot find QEMU binary ${DEFAULT_EMULATOR}: the QEMU driver runs without an emulator (restart the daemon after installing QEMU)`,
        )
        d.addHypervisor('qemu', new AbsentQemuDriver(d.paths.mode, DEFAULT_EMULATOR))
        return
      }
      // virtlogd and virtlockd of the same root and mode, used whenever their sockets answer.
      const helperSocket = (daemon: 'virtlogd' | 'virtlockd') => daemonPaths({daemon, mode: d.paths.mode, root: d.paths.root}).sockRw
      // Created at start-up so it reattaches to the guests that outlived the previous daemon.
      const qemu = await QemuDriver.create({
        mode: d.paths.mode,
        dirs: driverStateDirs(d.paths, 'qemu'),
        capsCacheDir: `${d.paths.cacheDir}/qemu/capabilities`,
        log: d.log,
        logd: {socket: helperSocket('virtlogd'), client: await import('../services/log/client.js')},
        lockd: {socket: helperSocket('virtlockd'), client: await import('../services/lock/client.js')},
        volumes: await volumesFor(d),
        networkPorts: await networkPortsFor(d),
        hostUuid: d.config.host_uuid,
      })
      linkGuestsToStorage(d, qemu)
      d.addHypervisor('qemu', qemu)
      d.afterReady(() => qemu.autostart())
    },
  },
  {
    driver: 'network',
    setup: async (d) => {
      if (d.paths.mode !== 'system') return // like libvirt: virtual networks need a privileged daemon
      const {setupNetworkDriver} = await import('../drivers/network/setup.js')
      const network = await setupNetworkDriver({paths: d.paths, log: d.log})
      d.registry.network = () => network
      // Part of the set-up, as in libvirt: a client's network calls wait for it (startup-gate.ts),
      // so it sees autostarted networks running.
      await network.autostart()
    },
  },
  {
    driver: 'secret',
    setup: async (d) => {
      const {createSecretDriver} = await import('../drivers/secret/driver.js')
      const dirs = driverStateDirs(d.paths, 'secrets')
      const driver = createSecretDriver({configDir: dirs.configDir, runDir: dirs.runDir, logger: d.log})
      d.registry.secret = () => driver
    },
  },
  {driver: 'interface', setup: async (d) => (await import('../drivers/interface/driver.js')).setupInterfaceDriver(d.registry)},
  {driver: 'nwfilter', setup: async (d) => (await import('./nwfilter-wiring.js')).setupNwFilter(d)},
  {
    driver: 'nodedev',
    setup: async (d) => {
      const {createNodeDevDriver} = await import('../drivers/nodedev/driver.js')
      const driver = createNodeDevDriver()
      d.registry.nodedev = () => driver
    },
  },
]

/** What a daemon's start-up needs of the gate that holds its clients' calls (startup-gate.ts). */
export interface StartupHooks {
  expectHypervisor(scheme: string): void
  hypervisorDone(scheme: string): void
}

/** The hooks of the drivers the daemon hosts: hypervisors first, then the others in table order. */
function hostedDrivers(hosts: (driver: string) => boolean): DriverHook[] {
  const hooks = DRIVER_HOOKS.filter((h) => !SERVICES.has(h.driver) && hosts(h.driver))
  return [...hooks.filter((h) => h.hypervisor), ...hooks.filter((h) => !h.hypervisor)]
}

/**
 * Before the daemon listens: the log and lock daemons' own service (nothing else to serve, so its
 * failure stops the daemon), and the gate told which hypervisor drivers are coming.
 */
export async function setupServices(d: Daemon, hosts: (driver: string) => boolean, gate: StartupHooks): Promise<void> {
  for (const hook of DRIVER_HOOKS) if (SERVICES.has(hook.driver) && hosts(hook.driver)) await hook.setup(d)
  for (const hook of hostedDrivers(hosts)) if (hook.hypervisor) gate.expectHypervisor(hook.hypervisor)
  if (hosts('storage')) expectStorage(d)
}

/**
 * Runs the set-up of every driver the daemon hosts, hypervisors first. A driver whose set-up fails
 * (a tool it needs is missing, ...) is left out with one warning: the daemon and its other drivers
 * serve as usual, and the URIs of the missing driver get "no connection driver available".
 */
export async function setupDrivers(
  d: Daemon,
  hosts: (driver: string) => boolean,
  gate: StartupHooks,
  afterHypervisors?: () => Promise<void>,
): Promise<void> {
  let hypervisorsDone = false
  for (const hook of hostedDrivers(hosts)) {
    if (!hook.hypervisor && !hypervisorsDone) {
      hypervisorsDone = true
      await afterHypervisors?.()
    }
    const t0 = performance.now()
    try {
      await hook.setup(d)
      const cpu = process.cpuUsage()
      d.log.debug(
        `${hook.driver} driver set up in ${(performance.now() - t0).toFixed(0)} ms (process CPU ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms)`,
      )
    } catch (err) {
      d.log.warn(`${hook.driver} driver disabled: ${err instanceof Error ? err.message : String(err)}`)
    } finally {
      if (hook.hypervisor) gate.hypervisorDone(hook.hypervisor)
    }
  }
}
