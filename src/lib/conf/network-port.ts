/**
 * Network port XML (libvirt's `<networkport>`): the connection of one guest interface to a network,
 * created by the hypervisor driver through the network port API.
 */
import {ErrorDomain, errors} from '../errors.js'
import {attr, child, el, parseXml, serializeXml, textEl, textOf} from './xml.js'
import {expectRoot, uuidOrNew} from './values.js'

export interface NetworkPortDef {
  uuid: string
  owner?: {name: string; uuid: string}
  mac: string
  /** How the port is plugged: into a bridge the network manages ('network') or the admin's ('bridge'). */
  plug?: {type: 'network' | 'bridge'; bridge: string}
}

const N = ErrorDomain.NETWORK
export const MAC_RE = /^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/

export function parseNetworkPortXml(xml: string): NetworkPortDef {
  const root = parseXml(xml, 'networkport_definition', N)
  expectRoot(root, 'networkport', N)
  const uuid = uuidOrNew(root, N)
  const o = child(root, 'owner')
  let owner: NetworkPortDef['owner']
  if (o) {
    const name = textOf(child(o, 'name'))
    const ouuid = textOf(child(o, 'uuid'))
    if (!name) throw errors.xmlError(N, 'Missing owner name in network port')
    if (!ouuid) throw errors.xmlError(N, 'Missing owner UUID in network port')
    owner = {name, uuid: ouuid}
  }
  const mac = attr(child(root, 'mac'), 'address')
  if (mac === undefined) throw errors.xmlError(N, 'Missing network port mac address')
  if (!MAC_RE.test(mac)) throw errors.xmlError(N, `Unable to parse mac '${mac}'`)
  const p = child(root, 'plug')
  let plug: NetworkPortDef['plug']
  const type = attr(p, 'type')
  if (p && (type === 'network' || type === 'bridge')) plug = {type, bridge: attr(p, 'bridge') ?? ''}
  return {uuid, owner, mac: mac.toLowerCase(), plug}
}

export function formatNetworkPortXml(p: NetworkPortDef): string {
  return serializeXml(
    el('networkport', undefined, [
      textEl('uuid', p.uuid),
      p.owner ? el('owner', undefined, [textEl('name', p.owner.name), textEl('uuid', p.owner.uuid)]) : undefined,
      el('mac', {address: p.mac}),
      p.plug ? el('plug', {type: p.plug.type, bridge: p.plug.bridge, ...(p.plug.type === 'network' ? {macTableManager: 'kernel'} : {})}) : undefined,
    ]),
  )
}
