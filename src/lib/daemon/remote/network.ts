/** The REMOTE handlers of virtual networks. */
import {uuidToString} from '../../uuid.js'
import {P, netDrv, toObj, u, then, type On} from './context.js'

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
}
