/**
 * Network filters over RPC: the CLI's calls (list, XML, define, undefine, bindings) and the binding
 * half virtqemud uses to filter its guests' taps through virtnwfilterd, as libvirt's modular
 * daemons do (shaped like drivers/nwfilter-types.ts's NwFilterBindings; the client library does not
 * import the driver side).
 */
import {remote} from '../rpc/programs/remote.js'
import {uuidToString} from '../uuid.js'
import type {Connection} from './connection.js'
import {LazyConnection} from './lazy-connection.js'

const P = remote.procs

export interface NwFilterInfo {
  name: string
  uuid: string
}

export interface NwFilterBindingInfo {
  portdev: string
  filtername: string
}

export async function listNwFilters(c: Connection): Promise<NwFilterInfo[]> {
  const {filters} = await c.call(P.CONNECT_LIST_ALL_NWFILTERS, {need_results: 1, flags: 0})
  return filters.map((f) => ({name: f.name, uuid: uuidToString(f.uuid)})).sort((a, b) => a.name.localeCompare(b.name))
}

async function handle(c: Connection, nameOrUuid: string) {
  if (/^[0-9a-fA-F-]{32,36}$/.test(nameOrUuid)) {
    try {
      return (await c.call(P.NWFILTER_LOOKUP_BY_UUID, {uuid: Buffer.from(nameOrUuid.replace(/-/g, ''), 'hex')})).nwfilter
    } catch {
      /* a name that looks like a UUID */
    }
  }
  return (await c.call(P.NWFILTER_LOOKUP_BY_NAME, {name: nameOrUuid})).nwfilter
}

export async function nwfilterXml(c: Connection, nameOrUuid: string): Promise<string> {
  return (await c.call(P.NWFILTER_GET_XML_DESC, {nwfilter: await handle(c, nameOrUuid), flags: 0})).xml
}

export async function defineNwFilter(c: Connection, xml: string): Promise<NwFilterInfo> {
  const {nwfilter} = await c.call(P.NWFILTER_DEFINE_XML, {xml})
  return {name: nwfilter.name, uuid: uuidToString(nwfilter.uuid)}
}

export async function undefineNwFilter(c: Connection, nameOrUuid: string): Promise<void> {
  await c.call(P.NWFILTER_UNDEFINE, {nwfilter: await handle(c, nameOrUuid)})
}

export async function listNwFilterBindings(c: Connection): Promise<NwFilterBindingInfo[]> {
  const {bindings} = await c.call(P.CONNECT_LIST_ALL_NWFILTER_BINDINGS, {need_results: 1, flags: 0})
  return bindings.map((b) => ({portdev: b.portdev, filtername: b.filtername}))
}

/** virtnwfilterd's bindings for virtqemud: one connection, opened on first use and again after it drops. */
export class RemoteNwFilterBindings {
  private readonly conn: LazyConnection

  /** `socket`: virtnwfilterd's read-write socket. */
  constructor(socket: string) {
    this.conn = new LazyConnection(`nwfilter:///system?socket=${encodeURIComponent(socket)}`)
  }

  private call<T>(fn: (c: Connection) => Promise<T>): Promise<T> {
    return this.conn.call(fn)
  }

  nwfilterBindingCreateXML(xml: string, flags: number): Promise<NwFilterBindingInfo> {
    return this.call(async (c) => (await c.call(P.NWFILTER_BINDING_CREATE_XML, {xml, flags})).nwfilter)
  }

  nwfilterBindingDelete(portdev: string): Promise<void> {
    return this.call(async (c) => {
      const {nwfilter} = await c.call(P.NWFILTER_BINDING_LOOKUP_BY_PORT_DEV, {name: portdev})
      await c.call(P.NWFILTER_BINDING_DELETE, {nwfilter})
    })
  }
}

/**
 * The IPv4 address virtnetworkd's DHCP leases give `mac` (on any active network), for
 * virtnwfilterd's IP learning. One connection, opened on first use and again after it drops.
 */
export function remoteLeaseLookup(socket: string): (mac: string) => Promise<string | undefined> {
  const conn = new LazyConnection(`network:///system?socket=${encodeURIComponent(socket)}`)
  const lookup = async (c: Connection, mac: string): Promise<string | undefined> => {
    const {nets} = await c.call(P.CONNECT_LIST_ALL_NETWORKS, {need_results: 1, flags: 2})
    for (const net of nets) {
      const {leases} = await c.call(P.NETWORK_GET_DHCP_LEASES, {net, mac, need_results: 1, flags: 0})
      const v4 = leases.find((l) => l.type === 0 && l.mac?.toLowerCase() === mac.toLowerCase())
      if (v4) return v4.ipaddr
    }
    return undefined
  }
  // virtnetworkd not running (yet): no lease known, as when no network has one. Errors of the calls themselves go on.
  return async (mac) => {
    let opened = false
    try {
      return await conn.call((c) => {
        opened = true
        return lookup(c, mac)
      })
    } catch (err) {
      if (opened) throw err
      return undefined
    }
  }
}
