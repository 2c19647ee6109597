/**
 * The `default` network, as libvirt's packaging installs it: NAT on virbr0, 192.168.122.0/24,
 * DHCP .2-.254, autostart. A system-mode daemon that finds no network definitions defines it,
 * unless 192.168.122.0/24 is already routed on the host (then it warns and leaves it out).
 */
import {listRoutes} from './bridge.js'
import {overlaps, parseCidr} from './addr.js'
import type {BridgeNetworkDriver} from './driver.js'
import type {LogSink} from '../types.js'

export const DEFAULT_NETWORK_XML = `<network>
  <name>default</name>
  <forward mode='nat'/>
  <bridge name='virbr0' stp='on' delay='0'/>
  <ip address='192.168.122.1' netmask='255.255.255.0'>
    <dhcp>
      <range start='192.168.122.2' end='192.168.122.254'/>
    </dhcp>
  </ip>
</network>
`

/** Defines and marks autostart the default network when the driver has no networks yet. */
export async function ensureDefaultNetwork(driver: BridgeNetworkDriver, log: LogSink): Promise<void> {
  if (!driver.isEmpty()) return
  const subnet = parseCidr('192.168.122.0/24')
  for (const r of listRoutes()) {
    const s = parseCidr(r.dst)
    if (s && subnet && overlaps(s, subnet)) {
      log.warn(`not defining the default network: 192.168.122.0/24 is already routed on this host (${r.dev ?? r.dst})`)
      return
    }
  }
  const ref = await driver.networkDefineXML(DEFAULT_NETWORK_XML)
  await driver.networkSetAutostart(ref.uuid, true)
  log.info('defined the default network (virbr0, 192.168.122.0/24, autostart)')
}
