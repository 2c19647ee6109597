/** The network ports the QEMU driver is given: in process in libvirtd, over RPC in virtqemud. */
import type {NetworkDriver} from '../drivers/types.js'
import type {NetworkPorts} from '../drivers/network-port-types.js'
import type {NwFilterBindings} from '../drivers/nwfilter-types.js'
import {ErrorDomain, errors} from '../errors.js'
import {daemonPaths} from './paths.js'
import type {Daemon} from './server.js'

/**
 * Where the QEMU driver gets network ports: libvirtd's own network driver (set up after it, so
 * looked up at each call), virtqemud's RPC client of virtnetworkd.
 */
export async function networkPortsFor(d: Pick<Daemon, 'name' | 'paths' | 'registry'>): Promise<NetworkPorts & {nwfilters: NwFilterBindings}> {
  if (d.name !== 'libvirtd') {
    const {RemoteNetworkPorts} = await import('../client/network-ports.js')
    const {RemoteNwFilterBindings} = await import('../client/nwfilters.js')
    const nwfilters = new RemoteNwFilterBindings(daemonPaths({daemon: 'virtnwfilterd', mode: d.paths.mode, root: d.paths.root}).sockRw)
    return Object.assign(new RemoteNetworkPorts(daemonPaths({daemon: 'virtnetworkd', mode: d.paths.mode, root: d.paths.root}).sockRw), {nwfilters})
  }
  const filters = async (): Promise<NwFilterBindings> => {
    const f = await d.registry.nwfilter?.()
    if (!f) throw errors.noSupport(ErrorDomain.NWFILTER, 'no network filter driver in this daemon')
    return f
  }
  const net = async (): Promise<NetworkPorts> => {
    const n = await d.registry.network?.()
    if (!n?.networkPortCreateXML || !n.networkPortGetXMLDesc || !n.networkPortDelete || !n.networkGetDhcpLeases) {
      throw errors.noSupport(ErrorDomain.NETWORK, 'no network driver in this daemon')
    }
    return n as NetworkDriver & NetworkPorts
  }
  return {
    lookupNetworkByName: async (name) => (await net()).lookupNetworkByName(name),
    networkPortCreateXML: async (n, xml, f) => (await net()).networkPortCreateXML(n, xml, f),
    networkPortGetXMLDesc: async (n, p, f) => (await net()).networkPortGetXMLDesc(n, p, f),
    networkPortDelete: async (n, p, f) => (await net()).networkPortDelete(n, p, f),
    networkGetDhcpLeases: async (n, mac, f) => (await net()).networkGetDhcpLeases(n, mac, f),
    nwfilters: {
      nwfilterBindingCreateXML: async (xml, f) => (await filters()).nwfilterBindingCreateXML(xml, f),
      nwfilterBindingDelete: async (dev) => (await filters()).nwfilterBindingDelete(dev),
    },
  }
}
