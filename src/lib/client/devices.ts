/**
 * Device hotplug from the client side, as virsh's attach-/detach-/change-media commands do it: the
 * device XML is built (or found in the domain's XML) here and sent with the modification flags.
 */
import {remote, type DomainHandle} from '../rpc/programs/remote.js'
import {ErrorCode, ErrorDomain, VirError} from '../errors.js'
import {attr, child, childrenNamed, el, parseXml, serializeXml, type XmlElement} from '../conf/xml.js'
import type {Connection} from './connection.js'

const P = remote.procs

/** virDomainModificationImpact (+ FORCE of virDomainDeviceModifyFlags). */
export const Affect = {CURRENT: 0, LIVE: 1, CONFIG: 2, FORCE: 4} as const

export interface AffectOptions {
  live?: boolean
  config?: boolean
  /** libvirt's --persistent: the definition, and the running guest too when it runs. */
  persistent?: boolean
}

/** The flags virsh sends for --live / --config / --persistent (CURRENT when none). */
export function affectFlags(dom: DomainHandle, o: AffectOptions): number {
  let f = (o.live ? Affect.LIVE : 0) | (o.config ? Affect.CONFIG : 0)
  if (o.persistent) f |= Affect.CONFIG | (dom.id !== -1 ? Affect.LIVE : 0)
  return f
}

export async function attachDevice(conn: Connection, dom: DomainHandle, xml: string, flags: number): Promise<void> {
  await conn.call(P.DOMAIN_ATTACH_DEVICE_FLAGS, {dom, xml, flags})
}

export async function detachDevice(conn: Connection, dom: DomainHandle, xml: string, flags: number): Promise<void> {
  await conn.call(P.DOMAIN_DETACH_DEVICE_FLAGS, {dom, xml, flags})
}

export async function updateDevice(conn: Connection, dom: DomainHandle, xml: string, flags: number): Promise<void> {
  await conn.call(P.DOMAIN_UPDATE_DEVICE_FLAGS, {dom, xml, flags})
}

export async function detachDeviceAlias(conn: Connection, dom: DomainHandle, alias: string, flags: number): Promise<void> {
  await conn.call(P.DOMAIN_DETACH_DEVICE_ALIAS, {dom, alias, flags})
}

export interface DiskSpec {
  source?: string
  target: string
  /** file (default) or block. */
  type?: string
  /** disk (default), cdrom or floppy. */
  device?: string
  bus?: string
  format?: string
  readonly?: boolean
}

/** A `<disk>` element as virsh attach-disk writes it. */
export function diskXml(s: DiskSpec): string {
  const type = s.type ?? 'file'
  const kids: XmlElement[] = []
  if (s.format) kids.push(el('driver', {name: 'qemu', type: s.format}))
  if (s.source !== undefined) kids.push(el('source', {[type === 'block' ? 'dev' : 'file']: s.source}))
  kids.push(el('target', {dev: s.target, bus: s.bus}))
  if (s.readonly) kids.push(el('readonly'))
  return serializeXml(el('disk', {type, device: s.device ?? 'disk'}, kids))
}

export interface InterfaceSpec {
  /** network, bridge or user. */
  type: string
  source?: string
  mac?: string
  model?: string
}

/** An `<interface>` element as virsh attach-interface writes it. */
export function interfaceXml(s: InterfaceSpec): string {
  const kids: XmlElement[] = []
  if (s.source !== undefined) kids.push(el('source', {[s.type === 'bridge' ? 'bridge' : 'network']: s.source}))
  if (s.mac) kids.push(el('mac', {address: s.mac}))
  if (s.model) kids.push(el('model', {type: s.model}))
  return serializeXml(el('interface', {type: s.type}, kids))
}

/** The domain's XML the flags act on (the definition for --config, else the current one). */
async function domainXml(conn: Connection, dom: DomainHandle, flags: number): Promise<XmlElement> {
  const inactive = (flags & Affect.CONFIG) !== 0 && (flags & Affect.LIVE) === 0
  const r = await conn.call(P.DOMAIN_GET_XML_DESC, {dom, flags: inactive ? 2 : 0})
  return parseXml(r.xml, 'domain')
}

function notFound(what: string): VirError {
  return new VirError(ErrorCode.OPERATION_FAILED, ErrorDomain.NONE, what)
}

/** The disk of the domain whose target or source is `name` (virsh: "No disk found whose source path or target is X"). */
export async function findDisk(conn: Connection, dom: DomainHandle, name: string, flags: number): Promise<XmlElement> {
  const devs = child(await domainXml(conn, dom, flags), 'devices')
  const disk = childrenNamed(devs, 'disk').find((d) => {
    const src = child(d, 'source')
    return attr(child(d, 'target'), 'dev') === name || (src !== undefined && [attr(src, 'file'), attr(src, 'dev'), attr(src, 'dir')].includes(name))
  })
  if (!disk) throw notFound(`No disk found whose source path or target is ${name}`)
  return disk
}

/** The interfaces of the domain of a type, narrowed to one MAC when given (virsh's detach-interface rules). */
export async function findInterface(conn: Connection, dom: DomainHandle, type: string, mac: string | undefined, flags: number): Promise<XmlElement> {
  const devs = child(await domainXml(conn, dom, flags), 'devices')
  const all = childrenNamed(devs, 'interface').filter((i) => attr(i, 'type') === type)
  if (all.length === 0) throw notFound(`No interface found whose type is ${type}`)
  const hits = mac === undefined ? all : all.filter((i) => attr(child(i, 'mac'), 'address')?.toLowerCase() === mac.toLowerCase())
  if (hits.length === 0) throw notFound(`No interface with MAC address ${mac ?? ''} was found`)
  if (hits.length > 1) {
    throw notFound(
      mac === undefined
        ? `Domain has ${hits.length} interfaces. Please specify which one to detach using --mac`
        : `Domain has multiple interfaces matching MAC address ${mac}.`,
    )
  }
  return hits[0]
}

/** Changes (or with `source` undefined, ejects) the medium of a cdrom or floppy, keeping the rest of its XML. */
export async function changeMedia(
  conn: Connection,
  dom: DomainHandle,
  target: string,
  source: string | undefined,
  flags: number,
  opts: {insert?: boolean} = {},
): Promise<void> {
  const disk = await findDisk(conn, dom, target, flags)
  const dev = attr(disk, 'device')
  if (dev !== 'cdrom' && dev !== 'floppy') throw notFound(`The disk device '${target}' is not removable`)
  const oldSrc = child(disk, 'source')
  if (opts.insert && oldSrc !== undefined) throw notFound(`The disk device '${target}' already has media`)
  const kept = disk.children.filter((c) => !(c.kind === 'element' && ['source', 'alias', 'backingStore'].includes(c.name)))
  if (source !== undefined) {
    const key = attr(disk, 'type') === 'block' ? 'dev' : 'file'
    const i = kept.findIndex((c) => c.kind === 'element' && c.name === 'target')
    kept.splice(i < 0 ? 0 : i, 0, el('source', {[key]: source}))
  }
  await updateDevice(conn, dom, serializeXml({...disk, children: kept}), flags)
}
