/** The REMOTE handlers of network filters and filter bindings. */
import {ErrorDomain, errors} from '../../errors.js'
import {apiName} from '../../rpc/dispatch.js'
import type {RpcConnection} from '../../rpc/server.js'
import type {NwFilterDriver, NwFilterRef} from '../../drivers/nwfilter-types.js'
import {uuidToString} from '../../uuid.js'
import {P, st, toObj, type On} from './context.js'

/** libvirt's answer when the connection has no network-filter driver, naming the public API. */
function drv(conn: RpcConnection, proc: string): NwFilterDriver {
  const d = st(conn).drivers.nwfilter
  if (!d) throw errors.noSupport(ErrorDomain.NWFILTER, apiName(proc))
  return d
}

const ref = (h: {name: string; uuid: Buffer}): NwFilterRef => ({name: h.name, uuid: uuidToString(h.uuid)})

export function registerNwFilters(on: On): void {
  on(P.NWFILTER_LOOKUP_BY_NAME, (conn, {name}) => ({nwfilter: toObj(drv(conn, 'NWFILTER_LOOKUP_BY_NAME').nwfilterLookupByName(name))}))
  on(P.NWFILTER_LOOKUP_BY_UUID, (conn, {uuid}) => ({nwfilter: toObj(drv(conn, 'NWFILTER_LOOKUP_BY_UUID').nwfilterLookupByUUID(uuidToString(uuid)))}))
  on(P.NWFILTER_GET_XML_DESC, (conn, {nwfilter, flags}) => ({xml: drv(conn, 'NWFILTER_GET_XML_DESC').nwfilterGetXMLDesc(ref(nwfilter), flags)}))
  on(P.CONNECT_NUM_OF_NWFILTERS, (conn) => ({num: drv(conn, 'CONNECT_NUM_OF_NWFILTERS').listNwFilters().length}))
  on(P.CONNECT_LIST_NWFILTERS, (conn, {maxnames}) => ({
    names: drv(conn, 'CONNECT_LIST_NWFILTERS')
      .listNwFilters()
      .map((f) => f.name)
      .slice(0, Math.max(0, maxnames)),
  }))
  on(P.NWFILTER_DEFINE_XML, async (conn, {xml}) => ({nwfilter: toObj(await drv(conn, 'NWFILTER_DEFINE_XML').nwfilterDefineXML(xml, 0))}))
  on(P.NWFILTER_DEFINE_XML_FLAGS, async (conn, {xml, flags}) => ({
    nwfilter: toObj(await drv(conn, 'NWFILTER_DEFINE_XML_FLAGS').nwfilterDefineXML(xml, flags)),
  }))
  on(P.NWFILTER_UNDEFINE, (conn, {nwfilter}) => drv(conn, 'NWFILTER_UNDEFINE').nwfilterUndefine(ref(nwfilter)))
  on(P.CONNECT_LIST_ALL_NWFILTERS, (conn, {need_results, flags}) => {
    const d = drv(conn, 'CONNECT_LIST_ALL_NWFILTERS')
    if (flags)
      throw errors.invalidArg(ErrorDomain.NWFILTER, `unsupported flags (0x${flags.toString(16)}) in function nwfilterConnectListAllNWFilters`)
    const l = d.listNwFilters()
    return {filters: need_results ? l.map(toObj) : [], ret: l.length}
  })
  on(P.NWFILTER_BINDING_LOOKUP_BY_PORT_DEV, (conn, {name}) => ({
    nwfilter: drv(conn, 'NWFILTER_BINDING_LOOKUP_BY_PORT_DEV').nwfilterBindingLookupByPortDev(name),
  }))
  on(P.NWFILTER_BINDING_GET_XML_DESC, (conn, {nwfilter, flags}) => ({
    xml: drv(conn, 'NWFILTER_BINDING_GET_XML_DESC').nwfilterBindingGetXMLDesc(nwfilter.portdev, flags),
  }))
  on(P.NWFILTER_BINDING_CREATE_XML, async (conn, {xml, flags}) => ({
    nwfilter: await drv(conn, 'NWFILTER_BINDING_CREATE_XML').nwfilterBindingCreateXML(xml, flags),
  }))
  on(P.NWFILTER_BINDING_DELETE, (conn, {nwfilter}) => drv(conn, 'NWFILTER_BINDING_DELETE').nwfilterBindingDelete(nwfilter.portdev))
  on(P.CONNECT_LIST_ALL_NWFILTER_BINDINGS, (conn, {need_results, flags}) => {
    const d = drv(conn, 'CONNECT_LIST_ALL_NWFILTER_BINDINGS')
    if (flags)
      throw errors.invalidArg(ErrorDomain.NWFILTER, `unsupported flags (0x${flags.toString(16)}) in function nwfilterConnectListAllNWFilterBindings`)
    const l = d.listNwFilterBindings()
    return {bindings: need_results ? l : [], ret: l.length}
  })
}
