/** The REMOTE handlers of host interfaces. */
import {ErrorDomain, errors} from '../../errors.js'
import {apiName} from '../../rpc/dispatch.js'
import type {RpcConnection} from '../../rpc/server.js'
import type {IfaceRef, InterfaceDriver} from '../../drivers/interface-types.js'
import {P, st, then, type On} from './context.js'

/** libvirt's answer for a function the connection's driver lacks, naming the public API. */
const unsupported = (proc: string) => errors.noSupport(ErrorDomain.INTERFACE, apiName(proc))

function ifaceDrv(conn: RpcConnection, proc: string): InterfaceDriver {
  const d = st(conn).drivers.interface
  if (!d) throw unsupported(proc)
  return d
}

/** The driver's optional method, bound, or libvirt's "not supported" error. */
function optional<K extends keyof InterfaceDriver>(conn: RpcConnection, proc: string, key: K): NonNullable<InterfaceDriver[K]> {
  const d = ifaceDrv(conn, proc)
  const fn = d[key]
  if (typeof fn !== 'function') throw unsupported(proc)
  return fn.bind(d) as NonNullable<InterfaceDriver[K]>
}

const toIface = (r: IfaceRef) => ({name: r.name, mac: r.mac})

export function registerInterfaces(on: On): void {
  on(P.CONNECT_NUM_OF_INTERFACES, (conn) => then(ifaceDrv(conn, 'CONNECT_NUM_OF_INTERFACES').listInterfaceNames(true), (l) => ({num: l.length})))
  on(P.CONNECT_LIST_INTERFACES, (conn, {maxnames}) =>
    then(ifaceDrv(conn, 'CONNECT_LIST_INTERFACES').listInterfaceNames(true), (l) => ({names: l.slice(0, Math.max(0, maxnames))})),
  )
  on(P.CONNECT_NUM_OF_DEFINED_INTERFACES, (conn) =>
    then(ifaceDrv(conn, 'CONNECT_NUM_OF_DEFINED_INTERFACES').listInterfaceNames(false), (l) => ({num: l.length})),
  )
  on(P.CONNECT_LIST_DEFINED_INTERFACES, (conn, {maxnames}) =>
    then(ifaceDrv(conn, 'CONNECT_LIST_DEFINED_INTERFACES').listInterfaceNames(false), (l) => ({names: l.slice(0, Math.max(0, maxnames))})),
  )
  on(P.CONNECT_LIST_ALL_INTERFACES, (conn, {need_results, flags}) =>
    then(ifaceDrv(conn, 'CONNECT_LIST_ALL_INTERFACES').listAllInterfaces(flags), (l) => ({
      ifaces: need_results ? l.map(toIface) : [],
      ret: l.length,
    })),
  )
  on(P.INTERFACE_LOOKUP_BY_NAME, (conn, {name}) =>
    then(ifaceDrv(conn, 'INTERFACE_LOOKUP_BY_NAME').interfaceLookupByName(name), (r) => ({iface: toIface(r)})),
  )
  on(P.INTERFACE_LOOKUP_BY_MAC_STRING, (conn, {mac}) =>
    then(ifaceDrv(conn, 'INTERFACE_LOOKUP_BY_MAC_STRING').interfaceLookupByMAC(mac), (r) => ({iface: toIface(r)})),
  )
  on(P.INTERFACE_GET_XML_DESC, (conn, {iface, flags}) =>
    then(ifaceDrv(conn, 'INTERFACE_GET_XML_DESC').interfaceGetXMLDesc(iface.name, flags), (xml) => ({xml})),
  )
  on(P.INTERFACE_IS_ACTIVE, (conn, {iface}) =>
    then(ifaceDrv(conn, 'INTERFACE_IS_ACTIVE').interfaceIsActive(iface.name), (a) => ({active: a ? 1 : 0})),
  )
  on(P.INTERFACE_DEFINE_XML, (conn, {xml, flags}) =>
    then(optional(conn, 'INTERFACE_DEFINE_XML', 'interfaceDefineXML')(xml, flags), (r) => ({iface: toIface(r)})),
  )
  on(P.INTERFACE_UNDEFINE, (conn, {iface}) => optional(conn, 'INTERFACE_UNDEFINE', 'interfaceUndefine')(iface.name))
  on(P.INTERFACE_CREATE, (conn, {iface, flags}) => optional(conn, 'INTERFACE_CREATE', 'interfaceCreate')(iface.name, flags))
  on(P.INTERFACE_DESTROY, (conn, {iface, flags}) => optional(conn, 'INTERFACE_DESTROY', 'interfaceDestroy')(iface.name, flags))
  on(P.INTERFACE_CHANGE_BEGIN, (conn, {flags}) => optional(conn, 'INTERFACE_CHANGE_BEGIN', 'interfaceChangeBegin')(flags))
  on(P.INTERFACE_CHANGE_COMMIT, (conn, {flags}) => optional(conn, 'INTERFACE_CHANGE_COMMIT', 'interfaceChangeCommit')(flags))
  on(P.INTERFACE_CHANGE_ROLLBACK, (conn, {flags}) => optional(conn, 'INTERFACE_CHANGE_ROLLBACK', 'interfaceChangeRollback')(flags))
}
