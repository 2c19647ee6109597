/**
 * The REMOTE procedures of virtual networks (NETWORK_*, and the connection's network lists and events),
 * in procedure-number order.
 */
import * as t from '../../codec.js'
import {proc} from '../../program.js'
import {
  LIST_MAX,
  NETWORK,
  autostart,
  callbackId,
  intRet,
  listAll,
  nameList,
  names,
  net,
  networkHandle,
  num,
  registerAny,
  retNet,
  s,
  xmlArg,
  xmlFlags,
  xmlRet,
} from './types.js'

/** remote_nonnull_network_port. */
export const networkPortHandle = t.struct({net: networkHandle, uuid: t.uuid})
export type NetworkPortHandle = t.TypeOf<typeof networkPortHandle>
const retPort = t.struct({port: networkPortHandle})
const DHCP_LEASES_MAX = 65536
const PORT_PARAMETERS_MAX = 16

/** remote_network_dhcp_lease. */
const dhcpLease = t.struct({
  iface: s,
  expirytime: t.hyper,
  type: t.int,
  mac: t.optString,
  iaid: t.optString,
  ipaddr: s,
  prefix: t.uint,
  hostname: t.optString,
  clientid: t.optString,
})

export const networkProcs = {
  CONNECT_LIST_DEFINED_NETWORKS: proc(36, names, nameList, {ro: true, errDomain: NETWORK}),
  CONNECT_LIST_NETWORKS: proc(38, names, nameList, {ro: true, errDomain: NETWORK}),
  NETWORK_CREATE: proc(39, net, t.voidType, {errDomain: NETWORK}),
  NETWORK_CREATE_XML: proc(40, xmlArg, retNet, {errDomain: NETWORK}),
  NETWORK_DEFINE_XML: proc(41, xmlArg, retNet, {errDomain: NETWORK}),
  NETWORK_DESTROY: proc(42, net, t.voidType, {errDomain: NETWORK}),
  NETWORK_GET_XML_DESC: proc(43, t.struct({net: networkHandle, flags: t.uint}), xmlRet, {ro: true, errDomain: NETWORK}),
  NETWORK_GET_AUTOSTART: proc(44, net, autostart, {ro: true, errDomain: NETWORK}),
  NETWORK_GET_BRIDGE_NAME: proc(45, net, t.struct({name: s}), {ro: true, errDomain: NETWORK}),
  NETWORK_LOOKUP_BY_NAME: proc(46, t.struct({name: s}), retNet, {ro: true, errDomain: NETWORK}),
  NETWORK_LOOKUP_BY_UUID: proc(47, t.struct({uuid: t.uuid}), retNet, {ro: true, errDomain: NETWORK}),
  NETWORK_SET_AUTOSTART: proc(48, t.struct({net: networkHandle, autostart: t.int}), t.voidType, {errDomain: NETWORK}),
  NETWORK_UNDEFINE: proc(49, net, t.voidType, {errDomain: NETWORK}),
  CONNECT_NUM_OF_DEFINED_NETWORKS: proc(50, t.voidType, num, {ro: true, errDomain: NETWORK}),
  CONNECT_NUM_OF_NETWORKS: proc(52, t.voidType, num, {ro: true, errDomain: NETWORK}),
  NETWORK_IS_ACTIVE: proc(152, net, intRet('active'), {ro: true, errDomain: NETWORK}),
  NETWORK_IS_PERSISTENT: proc(153, net, intRet('persistent'), {ro: true, errDomain: NETWORK}),
  CONNECT_LIST_ALL_NETWORKS: proc(283, listAll, t.struct({nets: t.array(networkHandle, LIST_MAX), ret: t.uint}), {ro: true, errDomain: NETWORK}),
  NETWORK_UPDATE: proc(291, t.struct({net: networkHandle, command: t.uint, section: t.uint, parentIndex: t.int, xml: s, flags: t.uint}), t.voidType, {
    errDomain: NETWORK,
  }),
  CONNECT_NETWORK_EVENT_REGISTER_ANY: proc(313, registerAny(networkHandle), callbackId, {ro: true, errDomain: NETWORK}),
  CONNECT_NETWORK_EVENT_DEREGISTER_ANY: proc(314, callbackId, t.voidType, {ro: true, errDomain: NETWORK}),
  NETWORK_GET_DHCP_LEASES: proc(
    341,
    t.struct({net: networkHandle, mac: t.optString, need_results: t.int, flags: t.uint}),
    t.struct({leases: t.array(dhcpLease, DHCP_LEASES_MAX), ret: t.uint}),
    {ro: true, errDomain: NETWORK},
  ),
  NETWORK_LIST_ALL_PORTS: proc(
    404,
    t.struct({network: networkHandle, need_results: t.int, flags: t.uint}),
    t.struct({ports: t.array(networkPortHandle, LIST_MAX), ret: t.uint}),
    {ro: true, errDomain: NETWORK},
  ),
  NETWORK_PORT_LOOKUP_BY_UUID: proc(405, t.struct({network: networkHandle, uuid: t.uuid}), retPort, {ro: true, errDomain: NETWORK}),
  NETWORK_PORT_CREATE_XML: proc(406, t.struct({network: networkHandle, xml: s, flags: t.uint}), retPort, {errDomain: NETWORK}),
  NETWORK_PORT_GET_PARAMETERS: proc(
    407,
    t.struct({port: networkPortHandle, nparams: t.int, flags: t.uint}),
    t.struct({params: t.typedParams(PORT_PARAMETERS_MAX), nparams: t.int}),
    {ro: true, errDomain: NETWORK},
  ),
  NETWORK_PORT_SET_PARAMETERS: proc(408, t.struct({port: networkPortHandle, params: t.typedParams(PORT_PARAMETERS_MAX), flags: t.uint}), t.voidType, {
    errDomain: NETWORK,
  }),
  NETWORK_PORT_GET_XML_DESC: proc(409, t.struct({port: networkPortHandle, flags: t.uint}), xmlRet, {ro: true, errDomain: NETWORK}),
  NETWORK_PORT_DELETE: proc(410, t.struct({port: networkPortHandle, flags: t.uint}), t.voidType, {errDomain: NETWORK}),
  NETWORK_DEFINE_XML_FLAGS: proc(432, xmlFlags, retNet, {errDomain: NETWORK}),
  NETWORK_CREATE_XML_FLAGS: proc(437, xmlFlags, retNet, {errDomain: NETWORK}),
}
