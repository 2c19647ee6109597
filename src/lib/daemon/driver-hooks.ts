/**
 * How each driver is set up in a daemon that hosts it (libvirtd, or the driver's own modular
 * daemon): which module to load, what it is given, where it is registered.
 */
import {daemonPaths, driverStateDirs} from './paths.js'
import type {Daemon} from './server.js'
import {linkGuestsToStorage, setupStorage, volumesFor} from './storage-wiring.js'
import {networkPortsFor} from './network-ports.js'

interface DriverHook {
  driver: string
  setup: (d: Daemon) => Promise<void>
}

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
    setup: async (d) => {
      const {QemuDriver} = await import('../drivers/qemu/driver.js')
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
      // Before the sockets accept, as libvirt does: clients see autostarted networks running.
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
  {
    driver: 'nodedev',
    setup: async (d) => {
      const {createNodeDevDriver} = await import('../drivers/nodedev/driver.js')
      const driver = createNodeDevDriver()
      d.registry.nodedev = () => driver
    },
  },
]
