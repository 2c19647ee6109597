/** The REMOTE handlers of virtual networks. */
import {ErrorDomain, errors} from '../../errors.js'
import {uuidToBytes, uuidToString} from '../../uuid.js'
import type {NetworkDriver} from '../../drivers/types.js'
import type {NetworkPortRef} from '../../drivers/network-port-types.js'
import type {RpcConnection} from '../../rpc/server.js'
import {P, netDrv, toObj, u, then, type On} from './context.js'

/** A NetworkDriver method the connection's network driver may lack (the test driver has no ports). */
function need<K extends keyof NetworkDriver>(conn: RpcConnection, name: K): NonNullable<NetworkDriver[K]> {
  const d = netDrv(conn)
  const fn = d[name]
  if (typeof fn !== 'function') throw errors.noSupport(ErrorDomain.NETWORK, name)
  return (fn as (...a: unknown[]) => unknown).bind(d) as NonNullable<NetworkDriver[K]>
}

const toPort = (p: NetworkPortRef) => ({net: toObj(p.net), uuid: uuidToBytes(p.uuid)})

/** virConnectListAllNetworksFlags: inactive, active (the other way round from domains). */
const LIST_NET_INACTIVE = 1
const LIST_NET_ACTIVE = 2

export function registerNetworks(on: On): void {
  on(P.CONNECT_LIST_ALL_NETWORKS, (conn, {need_results, flags}) => {
    const list = netDrv(conn).listNetworks(flags)
    return {nets: need_results ? list.map(toObj) : [], ret: list.length}
  })
  on(P.CONNECT_NUM_OF_NETWORKS, (conn) => ({num: netDrv(conn).numOfNetworks(true)}))
  on(P.CONNECT_NUM_OF_DEFINED_NETWORKS, (conn) => ({num: netDrv(conn).numOfNetworks(false)}))
  on(P.CONNECT_LIST_NETWORKS, (conn, {maxnames}) => ({
    names: netDrv(conn)
      .listNetworks(LIST_NET_ACTIVE)
      .map((n) => n.name)
      .slice(0, Math.max(0, maxnames)),
  }))
  on(P.CONNECT_LIST_DEFINED_NETWORKS, (conn, {maxnames}) => ({
    names: netDrv(conn)
      .listNetworks(LIST_NET_INACTIVE)
      .map((n) => n.name)
      .slice(0, Math.max(0, maxnames)),
  }))
  on(P.NETWORK_LOOKUP_BY_NAME, (conn, {name}) => ({net: toObj(netDrv(conn).lookupNetworkByName(name))}))
  on(P.NETWORK_LOOKUP_BY_UUID, (conn, {uuid}) => ({net: toObj(netDrv(conn).lookupNetworkByUuid(uuidToString(uuid)))}))
  on(P.NETWORK_DEFINE_XML, (conn, {xml}) => then(netDrv(conn).networkDefineXML(xml), (r) => ({net: toObj(r)})))
  on(P.NETWORK_DEFINE_XML_FLAGS, (conn, {xml}) => then(netDrv(conn).networkDefineXML(xml), (r) => ({net: toObj(r)})))
  on(P.NETWORK_CREATE_XML, (conn, {xml}) => then(netDrv(conn).networkCreateXML(xml), (r) => ({net: toObj(r)})))
  on(P.NETWORK_CREATE_XML_FLAGS, (conn, {xml}) => then(netDrv(conn).networkCreateXML(xml), (r) => ({net: toObj(r)})))
  on(P.NETWORK_CREATE, (conn, {net}) => netDrv(conn).networkCreate(u(net)))
  on(P.NETWORK_DESTROY, (conn, {net}) => netDrv(conn).networkDestroy(u(net)))
  on(P.NETWORK_UNDEFINE, (conn, {net}) => netDrv(conn).networkUndefine(u(net)))
  on(P.NETWORK_GET_XML_DESC, (conn, {net, flags}) => ({xml: netDrv(conn).networkGetXMLDesc(u(net), flags)}))
  on(P.NETWORK_GET_BRIDGE_NAME, (conn, {net}) => ({name: netDrv(conn).networkGetBridgeName(u(net))}))
  on(P.NETWORK_GET_AUTOSTART, (conn, {net}) => ({autostart: netDrv(conn).networkGetAutostart(u(net)) ? 1 : 0}))
  on(P.NETWORK_SET_AUTOSTART, (conn, {net, autostart}) => netDrv(conn).networkSetAutostart(u(net), autostart !== 0))
  on(P.NETWORK_IS_ACTIVE, (conn, {net}) => ({active: netDrv(conn).networkIsActive(u(net)) ? 1 : 0}))
  on(P.NETWORK_IS_PERSISTENT, (conn, {net}) => ({persistent: netDrv(conn).networkIsPersistent(u(net)) ? 1 : 0}))
  on(P.NETWORK_UPDATE, (conn, a) => need(conn, 'networkUpdate')(u(a.net), a.command, a.section, a.parentIndex, a.xml, a.flags))
  on(P.NETWORK_GET_DHCP_LEASES, (conn, {net, mac, need_results, flags}) =>
    then(need(conn, 'networkGetDhcpLeases')(u(net), mac, flags), (leases) => ({leases: need_results ? leases : [], ret: leases.length})),
  )
  on(P.NETWORK_LIST_ALL_PORTS, (conn, {network, need_results, flags}) => {
    const ports = need(conn, 'networkListAllPorts')(u(network), flags)
    return {ports: need_results ? ports.map(toPort) : [], ret: ports.length}
  })
  on(P.NETWORK_PORT_LOOKUP_BY_UUID, (conn, {network, uuid}) => ({
    port: toPort(need(conn, 'networkPortLookupByUuid')(u(network), uuidToString(uuid))),
  }))
  on(P.NETWORK_PORT_CREATE_XML, (conn, {network, xml, flags}) =>
    then(need(conn, 'networkPortCreateXML')(u(network), xml, flags), (p) => ({port: toPort(p)})),
  )
  on(P.NETWORK_PORT_GET_XML_DESC, (conn, {port, flags}) => ({
    xml: need(conn, 'networkPortGetXMLDesc')(u(port.net), uuidToString(port.uuid), flags),
  }))
  on(P.NETWORK_PORT_DELETE, (conn, {port, flags}) => need(conn, 'networkPortDelete')(u(port.net), uuidToString(port.uuid), flags))
  // vctl's ports carry no bandwidth or other tunables: no parameters to read, none accepted.
  on(P.NETWORK_PORT_GET_PARAMETERS, (conn, {port}) => {
    need(conn, 'networkPortLookupByUuid')(u(port.net), uuidToString(port.uuid))
    return {params: [], nparams: 0}
  })
  on(P.NETWORK_PORT_SET_PARAMETERS, (conn, {port, params}) => {
    need(conn, 'networkPortLookupByUuid')(u(port.net), uuidToString(port.uuid))
    if (params.length) throw errors.invalidArg(ErrorDomain.NETWORK, `parameter '${params[0].field}' not supported`)
  })
}
