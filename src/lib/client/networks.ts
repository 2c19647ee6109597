/**
 * Virtual networks as vctl's `network` commands present them: plain data (for --json) built from
 * the NETWORK_* procedures, with virsh's lookups (name, then UUID) and its messages.
 */
import {ErrorCode, VirError} from '../errors.js'
import {remote, type NetworkHandle} from '../rpc/programs/remote.js'
import {isUuid, uuidToBytes, uuidToString} from '../uuid.js'
import type {Connection} from './connection.js'

const P = remote.procs

/** virConnectListAllNetworksFlags: INACTIVE 1, ACTIVE 2. */
const LIST_INACTIVE = 1
const LIST_ACTIVE = 2
/** VIR_NETWORK_XML_INACTIVE. */
const XML_INACTIVE = 1

/** virNetworkUpdateCommand and virNetworkUpdateSection by the names virsh's net-update takes. */
export const UpdateCommands = {modify: 1, delete: 2, add: 3, 'add-last': 3, 'add-first': 4} as const
export const UpdateSections = {
  bridge: 1,
  domain: 2,
  ip: 3,
  'ip-dhcp-host': 4,
  'ip-dhcp-range': 5,
  forward: 6,
  'forward-interface': 7,
  'forward-pf': 8,
  portgroup: 9,
  'dns-host': 10,
  'dns-txt': 11,
  'dns-srv': 12,
} as const

export interface NetworkSummary {
  name: string
  uuid: string
  active: boolean
  autostart: boolean
  persistent: boolean
}

export interface NetworkInfo extends NetworkSummary {
  bridge: string | null
}

export interface DhcpLease {
  expiry: number
  mac: string | null
  type: 'ipv4' | 'ipv6'
  address: string
  prefix: number
  hostname: string | null
  clientId: string | null
  iface: string
}

/** A network by name, then UUID; "failed to get network 'X'" as virsh says when there is none. */
export async function findNetwork(conn: Connection, ident: string): Promise<NetworkHandle> {
  try {
    return (await conn.call(P.NETWORK_LOOKUP_BY_NAME, {name: ident})).net
  } catch (err) {
    if (!(err instanceof VirError) || err.code !== ErrorCode.NO_NETWORK) throw err
    if (isUuid(ident)) {
      try {
        return (await conn.call(P.NETWORK_LOOKUP_BY_UUID, {uuid: uuidToBytes(ident)})).net
      } catch {
        /* the name's error is the one to report */
      }
    }
    throw new VirError(err.code, err.domain, `failed to get network '${ident}'`)
  }
}

async function summary(conn: Connection, net: NetworkHandle): Promise<NetworkSummary> {
  const [a, p, s] = await Promise.all([
    conn.call(P.NETWORK_IS_ACTIVE, {net}),
    conn.call(P.NETWORK_IS_PERSISTENT, {net}),
    conn.call(P.NETWORK_GET_AUTOSTART, {net}),
  ])
  return {name: net.name, uuid: uuidToString(net.uuid), active: a.active === 1, persistent: p.persistent === 1, autostart: s.autostart === 1}
}

/** Networks sorted by name (active ones only unless `all`). */
export async function listNetworks(conn: Connection, all: boolean): Promise<NetworkSummary[]> {
  const {nets} = await conn.call(P.CONNECT_LIST_ALL_NETWORKS, {need_results: 1, flags: all ? LIST_ACTIVE | LIST_INACTIVE : LIST_ACTIVE})
  const out = await Promise.all(nets.map((n) => summary(conn, n)))
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
}

export async function networkInfo(conn: Connection, net: NetworkHandle): Promise<NetworkInfo> {
  const s = await summary(conn, net)
  let bridge: string | null = null
  try {
    bridge = (await conn.call(P.NETWORK_GET_BRIDGE_NAME, {net})).name
  } catch {
    /* a network without a bridge */
  }
  return {...s, bridge}
}

export async function defineNetwork(conn: Connection, xml: string): Promise<NetworkHandle> {
  return (await conn.call(P.NETWORK_DEFINE_XML, {xml})).net
}

export async function createNetwork(conn: Connection, xml: string): Promise<NetworkHandle> {
  return (await conn.call(P.NETWORK_CREATE_XML, {xml})).net
}

export async function startNetwork(conn: Connection, net: NetworkHandle): Promise<void> {
  await conn.call(P.NETWORK_CREATE, {net})
}

export async function destroyNetwork(conn: Connection, net: NetworkHandle): Promise<void> {
  await conn.call(P.NETWORK_DESTROY, {net})
}

export async function undefineNetwork(conn: Connection, net: NetworkHandle): Promise<void> {
  await conn.call(P.NETWORK_UNDEFINE, {net})
}

export async function networkXml(conn: Connection, net: NetworkHandle, inactive: boolean): Promise<string> {
  return (await conn.call(P.NETWORK_GET_XML_DESC, {net, flags: inactive ? XML_INACTIVE : 0})).xml
}

export async function setNetworkAutostart(conn: Connection, net: NetworkHandle, on: boolean): Promise<void> {
  await conn.call(P.NETWORK_SET_AUTOSTART, {net, autostart: on ? 1 : 0})
}

export interface UpdateOptions {
  command: keyof typeof UpdateCommands
  section: keyof typeof UpdateSections
  xml: string
  parentIndex?: number
  live?: boolean
  config?: boolean
}

export async function updateNetwork(conn: Connection, net: NetworkHandle, o: UpdateOptions): Promise<void> {
  const flags = (o.live ? 1 : 0) | (o.config ? 2 : 0)
  await conn.call(P.NETWORK_UPDATE, {
    net,
    command: UpdateCommands[o.command],
    section: UpdateSections[o.section],
    parentIndex: o.parentIndex ?? -1,
    xml: o.xml,
    flags,
  })
}

export async function networkLeases(conn: Connection, net: NetworkHandle, mac?: string): Promise<DhcpLease[]> {
  const {leases} = await conn.call(P.NETWORK_GET_DHCP_LEASES, {net, mac: mac ?? null, need_results: 1, flags: 0})
  return leases
    .map((l) => ({
      expiry: Number(l.expirytime),
      mac: l.mac,
      type: l.type === 1 ? ('ipv6' as const) : ('ipv4' as const),
      address: l.ipaddr,
      prefix: l.prefix,
      hostname: l.hostname,
      clientId: l.clientid,
      iface: l.iface,
    }))
    .sort((a, b) => ((a.mac ?? '') < (b.mac ?? '') ? -1 : (a.mac ?? '') > (b.mac ?? '') ? 1 : 0))
}
