/** The node device driver's set-up step, for libvirtd and virtnodedevd (one of server.ts's driver hooks). */
import type {DriverRegistry} from '../drivers/registry.js'

export const nodedevHook = {
  driver: 'nodedev',
  setup: async (d: {registry: DriverRegistry}): Promise<void> => {
    const {createNodeDevDriver} = await import('../drivers/nodedev/driver.js')
    const driver = createNodeDevDriver()
    d.registry.nodedev = () => driver
  },
}
