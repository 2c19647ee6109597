/** The REMOTE handlers of domains: lists, lookups, definitions, lifecycle, XML, state, stats. */
import {ErrorCode, ErrorDomain, VirError} from '../../errors.js'
import {uuidToString} from '../../uuid.js'
import {P, hv, toDom, u, then, type On} from './context.js'

/** virDomainXMLFlags a read-only connection may not ask for: SECURE, MIGRATABLE. */
const DOMAIN_XML_RO_DENIED = 1 | 8
/** virConnectListAllDomainsFlags: active, inactive. */
const LIST_DOMAINS_ACTIVE = 1
const LIST_DOMAINS_INACTIVE = 2

export function registerDomains(on: On): void {
  on(P.CONNECT_LIST_ALL_DOMAINS, (conn, {need_results, flags}) => {
    const list = hv(conn).listDomains(flags)
    return {domains: need_results ? list.map(toDom) : [], ret: list.length}
  })
  on(P.CONNECT_NUM_OF_DOMAINS, (conn) => ({num: hv(conn).numOfDomains(true)}))
  on(P.CONNECT_NUM_OF_DEFINED_DOMAINS, (conn) => ({num: hv(conn).numOfDomains(false)}))
  on(P.CONNECT_LIST_DOMAINS, (conn, {maxids}) => ({
    ids: hv(conn)
      .listDomains(LIST_DOMAINS_ACTIVE)
      .map((d) => d.id)
      .slice(0, Math.max(0, maxids)),
  }))
  on(P.CONNECT_LIST_DEFINED_DOMAINS, (conn, {maxnames}) => ({
    names: hv(conn)
      .listDomains(LIST_DOMAINS_INACTIVE)
      .map((d) => d.name)
      .slice(0, Math.max(0, maxnames)),
  }))
  on(P.DOMAIN_LOOKUP_BY_ID, (conn, {id}) => ({dom: toDom(hv(conn).lookupById(id))}))
  on(P.DOMAIN_LOOKUP_BY_NAME, (conn, {name}) => ({dom: toDom(hv(conn).lookupByName(name))}))
  on(P.DOMAIN_LOOKUP_BY_UUID, (conn, {uuid}) => ({dom: toDom(hv(conn).lookupByUuid(uuidToString(uuid)))}))
  on(P.DOMAIN_DEFINE_XML, (conn, {xml}) => then(hv(conn).defineXML(xml, 0), (r) => ({dom: toDom(r)})))
  on(P.DOMAIN_DEFINE_XML_FLAGS, (conn, {xml, flags}) => then(hv(conn).defineXML(xml, flags), (r) => ({dom: toDom(r)})))
  on(P.DOMAIN_CREATE_XML, (conn, {xml_desc, flags}) => then(hv(conn).createXML(xml_desc, flags), (r) => ({dom: toDom(r)})))
  on(P.DOMAIN_CREATE, (conn, {dom}) => then(hv(conn).create(u(dom), 0), () => undefined))
  on(P.DOMAIN_CREATE_WITH_FLAGS, (conn, {dom, flags}) => then(hv(conn).create(u(dom), flags), (r) => ({dom: toDom(r)})))
  on(P.DOMAIN_DESTROY, (conn, {dom}) => hv(conn).destroy(u(dom), 0))
  on(P.DOMAIN_DESTROY_FLAGS, (conn, {dom, flags}) => hv(conn).destroy(u(dom), flags))
  on(P.DOMAIN_SHUTDOWN, (conn, {dom}) => hv(conn).shutdown(u(dom), 0))
  on(P.DOMAIN_SHUTDOWN_FLAGS, (conn, {dom, flags}) => hv(conn).shutdown(u(dom), flags))
  on(P.DOMAIN_REBOOT, (conn, {dom, flags}) => hv(conn).reboot(u(dom), flags))
  on(P.DOMAIN_RESET, (conn, {dom}) => hv(conn).reset(u(dom)))
  on(P.DOMAIN_SUSPEND, (conn, {dom}) => hv(conn).suspend(u(dom)))
  on(P.DOMAIN_RESUME, (conn, {dom}) => hv(conn).resume(u(dom)))
  on(P.DOMAIN_UNDEFINE, (conn, {dom}) => hv(conn).undefine(u(dom), 0))
  on(P.DOMAIN_UNDEFINE_FLAGS, (conn, {dom, flags}) => hv(conn).undefine(u(dom), flags))
  on(P.DOMAIN_GET_XML_DESC, (conn, {dom, flags}) => {
    if (conn.readonly && flags & DOMAIN_XML_RO_DENIED) {
      const detail = 'virDomainGetXMLDesc with secure flag'
      throw new VirError(ErrorCode.OPERATION_DENIED, ErrorDomain.DOMAIN, `operation forbidden: ${detail}`, {
        str1: 'operation forbidden: %s',
        str2: detail,
      })
    }
    return {xml: hv(conn).getXMLDesc(u(dom), flags)}
  })
  on(P.DOMAIN_GET_INFO, (conn, {dom}) =>
    then(hv(conn).getInfo(u(dom)), (i) => ({state: i.state, maxMem: i.maxMemKiB, memory: i.memoryKiB, nrVirtCpu: i.nrVirtCpu, cpuTime: i.cpuTimeNs})),
  )
  on(P.DOMAIN_GET_STATE, (conn, {dom}) => hv(conn).getState(u(dom)))
  on(P.DOMAIN_GET_OS_TYPE, (conn, {dom}) => ({type: hv(conn).getOSType(u(dom))}))
  on(P.DOMAIN_GET_MAX_MEMORY, (conn, {dom}) => ({memory: hv(conn).getMaxMemory(u(dom))}))
  on(P.DOMAIN_GET_MAX_VCPUS, (conn, {dom}) => ({num: hv(conn).domainGetMaxVcpus(u(dom))}))
  on(P.DOMAIN_GET_AUTOSTART, (conn, {dom}) => ({autostart: hv(conn).getAutostart(u(dom)) ? 1 : 0}))
  on(P.DOMAIN_SET_AUTOSTART, (conn, {dom, autostart}) => hv(conn).setAutostart(u(dom), autostart !== 0))
  on(P.DOMAIN_IS_ACTIVE, (conn, {dom}) => ({active: hv(conn).isActive(u(dom)) ? 1 : 0}))
  on(P.DOMAIN_IS_PERSISTENT, (conn, {dom}) => ({persistent: hv(conn).isPersistent(u(dom)) ? 1 : 0}))
  on(P.DOMAIN_IS_UPDATED, (conn, {dom}) => ({updated: hv(conn).isUpdated(u(dom)) ? 1 : 0}))
  on(P.DOMAIN_HAS_MANAGED_SAVE_IMAGE, (conn, {dom}) => ({result: hv(conn).hasManagedSave(u(dom)) ? 1 : 0}))
  on(P.DOMAIN_GET_SECURITY_LABEL, (conn, {dom}) => {
    hv(conn).lookupByUuid(u(dom))
    return {label: '', enforcing: 0}
  })
  on(P.DOMAIN_GET_MESSAGES, (conn, {dom}) => ({msgs: hv(conn).getMessages(u(dom))}))
}
