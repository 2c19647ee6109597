/**
 * The migration cookie: libvirt's `<qemu-migration>` XML document that travels with each step of
 * the protocol (NUL-terminated, as libvirt sends it). The identity part (guest name and UUID, the
 * host's name and UUID) is checked on arrival as libvirt checks it; `<statistics>` carries the
 * source's completed job to the destination.
 */
import {attr, child, childrenNamed, el, parseXml, serializeXml, textEl, textOf} from '../../../conf/xml.js'
import {errors} from '../../../errors.js'
import {D} from '../context.js'

export interface CookieIdentity {
  name: string
  uuid: string
  hostname: string
  hostuuid: string
}

/** `<nbd port='N'><disk target='vdb' capacity='BYTES'/>...</nbd>`: the disks a storage migration copies, and the destination's NBD port. */
export interface CookieNbd {
  port?: number
  disks: Array<{target: string; capacity: bigint}>
}

export interface Cookie extends Partial<CookieIdentity> {
  /** `<statistics>` children, by element name (time_elapsed, downtime, memory_total, ...). */
  statistics?: Map<string, bigint>
  nbd?: CookieNbd
}

function formatNbd(n: CookieNbd) {
  const disks = n.disks.map((d) => el('disk', {target: d.target, capacity: d.capacity.toString()}))
  return el('nbd', n.port ? {port: String(n.port)} : {}, disks)
}

export function formatCookie(c: CookieIdentity & {statistics?: Map<string, bigint>; nbd?: CookieNbd}): Buffer {
  const kids = [textEl('name', c.name), textEl('uuid', c.uuid), textEl('hostname', c.hostname), textEl('hostuuid', c.hostuuid)]
  if (c.nbd) kids.push(formatNbd(c.nbd))
  if (c.statistics)
    kids.push(
      el(
        'statistics',
        {},
        [...c.statistics].map(([k, v]) => textEl(k, v.toString())),
      ),
    )
  return Buffer.from(`${serializeXml(el('qemu-migration', {}, kids))}\0`)
}

/** Parses a cookie (empty: none) and checks it names this guest and another host. */
export function parseCookie(buf: Buffer, local: {name?: string; uuid?: string; hostuuid: string}): Cookie {
  if (buf.length === 0) return {}
  if (buf[buf.length - 1] !== 0) throw errors.internal(D, 'Migration cookie was not NULL terminated')
  const root = parseXml(buf.subarray(0, buf.length - 1).toString('utf8'), 'qemu-migration', D)
  const get = (n: string): string | undefined => (child(root, n) ? textOf(child(root, n)) : undefined)
  const c: Cookie = {name: get('name'), uuid: get('uuid'), hostname: get('hostname'), hostuuid: get('hostuuid')}
  if (c.name === undefined) throw errors.internal(D, 'missing name element in migration data')
  if (local.name !== undefined && c.name !== local.name) {
    throw errors.internal(D, `Incoming cookie data had unexpected name ${c.name} vs ${local.name}`)
  }
  if (c.uuid === undefined) throw errors.internal(D, 'missing uuid element in migration data')
  if (local.uuid !== undefined && c.uuid !== local.uuid) {
    throw errors.internal(D, `Incoming cookie data had unexpected UUID ${c.uuid} vs ${local.uuid}`)
  }
  if (c.hostname === undefined) throw errors.internal(D, 'missing hostname element in migration data')
  if (c.hostuuid === undefined) throw errors.internal(D, 'missing hostuuid element in migration data')
  if (c.hostuuid.toLowerCase() === local.hostuuid.toLowerCase()) throw errors.internal(D, `Attempt to migrate guest to the same host ${c.hostuuid}`)
  const stats = child(root, 'statistics')
  if (stats) {
    c.statistics = new Map()
    for (const e of stats.children) {
      if (e.kind !== 'element') continue
      const v = textOf(e).trim()
      if (/^-?\d+$/.test(v)) c.statistics.set(e.name, BigInt(v))
    }
  }
  const nbd = child(root, 'nbd')
  if (nbd) {
    const port = attr(nbd, 'port')
    if (port !== undefined && !/^\d+$/.test(port)) throw errors.internal(D, `Malformed nbd port '${port}'`)
    c.nbd = {port: port === undefined ? undefined : Number(port), disks: []}
    for (const d of childrenNamed(nbd, 'disk')) {
      const target = attr(d, 'target')
      const cap = attr(d, 'capacity') ?? '0'
      if (target === undefined || !/^\d+$/.test(cap)) throw errors.internal(D, 'Malformed disk target')
      c.nbd.disks.push({target, capacity: BigInt(cap)})
    }
  }
  for (const f of childrenNamed(root, 'feature')) {
    const name = attr(f, 'name') ?? ''
    // lockstate: libvirtd's lock manager state; with no leases (the "nop" manager) there is nothing to carry over.
    if (name === 'lockstate' && !child(child(root, 'lockstate'), 'leases')?.children.length) continue
    throw errors.internal(D, `Unsupported migration cookie feature ${name}`)
  }
  return c
}
