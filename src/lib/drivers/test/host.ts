/**
 * The in-memory host behind test:///default that the test driver's network and storage drivers
 * share: its networks and storage pools (the domains are in the hypervisor driver's list). It
 * starts with libvirt's defaults: network `default` and pool `default-pool`, both active.
 */
import {parseNetworkXml, type NetworkDef} from '../../conf/network.js'
import {parsePoolXml, type PoolDef} from '../../conf/pool.js'
import {TEST_NETWORK_XML, TEST_POOL_CAPACITY, TEST_POOL_XML} from './defaults.js'

/** A network or pool of the test host. */
export interface TestObject<Def> {
  def: Def
  active: boolean
  persistent: boolean
  autostart: boolean
}

export class TestHost {
  readonly networks = new Map<string, TestObject<NetworkDef>>()
  readonly pools = new Map<string, TestObject<PoolDef>>()

  constructor() {
    const net = parseNetworkXml(TEST_NETWORK_XML)
    this.networks.set(net.uuid, {def: net, active: true, persistent: true, autostart: false})
    const pool = parsePoolXml(TEST_POOL_XML)
    pool.capacity = Number(TEST_POOL_CAPACITY)
    pool.allocation = 0
    pool.available = Number(TEST_POOL_CAPACITY)
    this.pools.set(pool.uuid, {def: pool, active: true, persistent: true, autostart: false})
  }
}
