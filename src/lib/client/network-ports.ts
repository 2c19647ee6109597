/**
 * The network port API over RPC: what virtqemud uses to get ports for its guests' interfaces from
 * virtnetworkd, as libvirt's modular daemons do. One connection, opened on first use and again
 * after it drops. Shaped like drivers/network-port-types.ts's NetworkPorts (the client library
 * does not import the driver side).
 */
import {remote} from '../rpc/programs/remote.js'
import {uuidToBytes, uuidToString} from '../uuid.js'
import type {Connection} from './connection.js'
import {LazyConnection} from './lazy-connection.js'

const P = remote.procs

interface NetRef {
  name: string
  uuid: string
}

export class RemoteNetworkPorts {
  private readonly conn: LazyConnection

  /** `socket`: virtnetworkd's read-write socket. */
  constructor(socket: string) {
    this.conn = new LazyConnection(`network:///system?socket=${encodeURIComponent(socket)}`)
  }

  private call<T>(fn: (c: Connection) => Promise<T>): Promise<T> {
    return this.conn.call(fn)
  }

  private static handle(r: NetRef) {
    return {name: r.name, uuid: uuidToBytes(r.uuid)}
  }

  lookupNetworkByName(name: string): Promise<NetRef> {
    return this.call(async (c) => {
      const {net} = await c.call(P.NETWORK_LOOKUP_BY_NAME, {name})
      return {name: net.name, uuid: uuidToString(net.uuid)}
    })
  }

  private async netHandle(c: Connection, uuid: string) {
    const {net} = await c.call(P.NETWORK_LOOKUP_BY_UUID, {uuid: uuidToBytes(uuid)})
    return RemoteNetworkPorts.handle({name: net.name, uuid: uuidToString(net.uuid)})
  }

  networkPortCreateXML(netUuid: string, xml: string, flags: number): Promise<{net: NetRef; uuid: string}> {
    return this.call(async (c) => {
      const {port} = await c.call(P.NETWORK_PORT_CREATE_XML, {network: await this.netHandle(c, netUuid), xml, flags})
      return {net: {name: port.net.name, uuid: uuidToString(port.net.uuid)}, uuid: uuidToString(port.uuid)}
    })
  }

  networkPortGetXMLDesc(netUuid: string, portUuid: string, flags: number): Promise<string> {
    return this.call(async (c) => {
      const port = {net: await this.netHandle(c, netUuid), uuid: uuidToBytes(portUuid)}
      return (await c.call(P.NETWORK_PORT_GET_XML_DESC, {port, flags})).xml
    })
  }

  networkPortDelete(netUuid: string, portUuid: string, flags: number): Promise<void> {
    return this.call(async (c) => {
      const port = {net: await this.netHandle(c, netUuid), uuid: uuidToBytes(portUuid)}
      await c.call(P.NETWORK_PORT_DELETE, {port, flags})
    })
  }

  networkGetDhcpLeases(netUuid: string, mac: string | null, flags: number) {
    return this.call(
      async (c) => (await c.call(P.NETWORK_GET_DHCP_LEASES, {net: await this.netHandle(c, netUuid), mac, need_results: 1, flags})).leases,
    )
  }

  close(): Promise<void> {
    return this.conn.close()
  }
}
