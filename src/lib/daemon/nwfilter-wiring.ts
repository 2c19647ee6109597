/**
 * The network-filter driver in a daemon: libvirtd learns guests' IP addresses from its own network
 * driver's DHCP leases, virtnwfilterd asks virtnetworkd for them over RPC.
 */
import type {Daemon} from './server.js'
import {daemonPaths} from './paths.js'

export async function setupNwFilter(d: Daemon): Promise<void> {
  if (d.paths.mode !== 'system') return // like libvirt: filtering guests' traffic needs a privileged daemon
  const {setupNwFilterDriver} = await import('../drivers/nwfilter/setup.js')
  let learnIp
  if (d.name !== 'libvirtd') {
    const {remoteLeaseLookup} = await import('../client/nwfilters.js')
    learnIp = remoteLeaseLookup(daemonPaths({daemon: 'virtnetworkd', mode: d.paths.mode, root: d.paths.root}).sockRw)
  }
  d.registry.nwfilter = await setupNwFilterDriver(d, learnIp)
}
