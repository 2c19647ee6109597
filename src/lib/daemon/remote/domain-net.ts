/** The REMOTE handlers of guest interfaces (domifstat, domifaddr). */
import {ErrorDomain, errors} from '../../errors.js'
import {P, hv, then, u, type On} from './context.js'

export function registerDomainNet(on: On): void {
  on(P.DOMAIN_INTERFACE_STATS, (conn, {dom, device}) => {
    const h = hv(conn)
    if (!h.interfaceStats) throw errors.noSupport(ErrorDomain.DOMAIN, 'virDomainInterfaceStats')
    return h.interfaceStats(u(dom), device)
  })
  on(P.DOMAIN_INTERFACE_ADDRESSES, (conn, {dom, source, flags}) => {
    const h = hv(conn)
    if (!h.interfaceAddresses) throw errors.noSupport(ErrorDomain.DOMAIN, 'virDomainInterfaceAddresses')
    return then(h.interfaceAddresses(u(dom), source, flags), (ifaces) => ({ifaces}))
  })
}
