/**
 * The network port API: a hypervisor driver asks for a port on a running network for each guest
 * interface; the port says which bridge to plug the guest's tap into. Ports are kept in the
 * network's live state, so they survive a daemon restart with the guests that own them.
 */
import {ErrorDomain, VirError, errors} from '../../errors.js'
import {formatNetworkPortXml, parseNetworkPortXml} from '../../conf/network-port.js'
import {parseUuid} from '../../uuid.js'
import type {NetworkPortRef} from '../network-port-types.js'
import {isBridge} from './bridge.js'
import {bridgeOf, managesBridge, type NetCtx, type NetObj} from './context.js'
import {saveLive} from './store.js'

const N = ErrorDomain.NETWORK
/** virErrorNumber values of the port API (not in errors.ts's list). */
const NETWORK_PORT_EXIST = 106
const NO_NETWORK_PORT = 107

function noPort(uuid: string): VirError {
  return new VirError(NO_NETWORK_PORT, N, `Network port not found: no network port with matching uuid '${uuid}'`, {
    str1: 'Network port not found: %s',
    str2: `no network port with matching uuid '${uuid}'`,
  })
}

function ref(n: NetObj, uuid: string): NetworkPortRef {
  const d = n.live ?? n.config
  return {net: {name: d?.name ?? '', uuid: d?.uuid ?? ''}, uuid}
}

export function listPorts(n: NetObj): NetworkPortRef[] {
  return [...n.ports.keys()].map((u) => ref(n, u))
}

export function lookupPort(n: NetObj, uuid: string): NetworkPortRef {
  const u = parseUuid(uuid) ?? uuid
  if (!n.ports.has(u)) throw noPort(uuid)
  return ref(n, u)
}

export function portXml(n: NetObj, uuid: string): string {
  const p = n.ports.get(parseUuid(uuid) ?? uuid)
  if (!p) throw noPort(uuid)
  return formatNetworkPortXml(p)
}

export async function createPort(ctx: NetCtx, n: NetObj, xml: string): Promise<NetworkPortRef> {
  const live = n.live
  if (!live) throw errors.operationInvalid(N, `network '${(n.config ?? {name: ''}).name}' is not active`)
  const port = parseNetworkPortXml(xml)
  if (n.ports.has(port.uuid)) {
    throw new VirError(NETWORK_PORT_EXIST, N, `network port already exists: with uuid ${port.uuid}`, {
      str1: 'network port already exists: %s',
      str2: `with uuid ${port.uuid}`,
    })
  }
  const bridge = bridgeOf(live)
  if (!isBridge(bridge)) {
    throw errors.systemError(N, `Cannot get interface MTU on '${bridge}': No such device`)
  }
  port.plug = {type: managesBridge(live) ? 'network' : 'bridge', bridge}
  n.ports.set(port.uuid, port)
  await saveLive(ctx.opts.dirs, n)
  return ref(n, port.uuid)
}

export async function deletePort(ctx: NetCtx, n: NetObj, uuid: string): Promise<void> {
  const u = parseUuid(uuid) ?? uuid
  if (!n.ports.delete(u)) throw noPort(uuid)
  await saveLive(ctx.opts.dirs, n)
}
