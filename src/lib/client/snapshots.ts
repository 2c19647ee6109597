/**
 * Domain snapshots from the client side, as virsh's snapshot-* commands present them: plain data
 * (for --json) built from the DOMAIN_SNAPSHOT_* procedures.
 */
import {remote, type DomainHandle, type SnapshotHandle} from '../rpc/programs/remote.js'
import type {Connection} from './connection.js'

const P = remote.procs

/** virDomainSnapshotCreateFlags the CLI offers. */
export const SnapshotCreate = {REDEFINE: 1, CURRENT: 2, NO_METADATA: 4, HALT: 8, DISK_ONLY: 16, ATOMIC: 128} as const
/** virDomainSnapshotRevertFlags. */
export const SnapshotRevert = {RUNNING: 1, PAUSED: 2, FORCE: 4} as const
/** virDomainSnapshotDeleteFlags. */
export const SnapshotDelete = {CHILDREN: 1, METADATA_ONLY: 2, CHILDREN_ONLY: 4} as const
/** virDomainSnapshotListFlags used here. */
export const SnapshotListFlag = {ROOTS: 1, DESCENDANTS: 1, LEAVES: 4, INACTIVE: 32, ACTIVE: 64, TOPOLOGICAL: 1024} as const

export interface SnapshotSummary {
  name: string
  /** Seconds since the epoch. */
  creationTime: number
  state: string
  parent: string | null
  description: string | null
  current: boolean
}

export interface SnapshotDetails extends SnapshotSummary {
  domain: string
  location: string
  children: number
  descendants: number
  metadata: boolean
}

/** The few fields of snapshot XML the CLI shows (the XML is libvirt's; read it simply). */
function field(xml: string, re: RegExp): string | null {
  const m = re.exec(xml)
  return m ? unescape(m[1]) : null
}

function unescape(s: string): string {
  return s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&apos;/g, "'")
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&')
}

/** Reads the summary fields from snapshot XML (only the top level: the embedded domain has its own `<name>`). */
export function summaryFromXml(xml: string, current: boolean): SnapshotSummary {
  const top = xml.split(/<domain[ >]/)[0]
  return {
    name: field(top, /<name>([^<]*)<\/name>/) ?? '',
    creationTime: Number(field(top, /<creationTime>(\d+)<\/creationTime>/) ?? 0),
    state: field(top, /<state>([^<]*)<\/state>/) ?? '',
    parent: field(top, /<parent>\s*<name>([^<]*)<\/name>/),
    description: field(top, /<description>([^<]*)<\/description>/),
    current,
  }
}

export function snapshotHandle(dom: DomainHandle, name: string): SnapshotHandle {
  return {name, dom}
}

/** Checks the snapshot exists and returns its handle (NO_DOMAIN_SNAPSHOT otherwise). */
export async function findSnapshot(conn: Connection, dom: DomainHandle, name: string): Promise<SnapshotHandle> {
  return (await conn.call(P.DOMAIN_SNAPSHOT_LOOKUP_BY_NAME, {dom, name, flags: 0})).snap
}

export async function currentSnapshotName(conn: Connection, dom: DomainHandle): Promise<string | null> {
  const {result} = await conn.call(P.DOMAIN_HAS_CURRENT_SNAPSHOT, {dom, flags: 0})
  if (!result) return null
  return (await conn.call(P.DOMAIN_SNAPSHOT_CURRENT, {dom, flags: 0})).snap.name
}

/** Lists snapshots (ROOTS, LEAVES... flags as virDomainListAllSnapshots), sorted by name as virsh does. */
export async function listSnapshots(conn: Connection, dom: DomainHandle, flags = 0, from?: string): Promise<SnapshotSummary[]> {
  const handles = from
    ? (await conn.call(P.DOMAIN_SNAPSHOT_LIST_ALL_CHILDREN, {snapshot: snapshotHandle(dom, from), need_results: 1, flags})).snapshots
    : (await conn.call(P.DOMAIN_LIST_ALL_SNAPSHOTS, {dom, need_results: 1, flags})).snapshots
  const current = await currentSnapshotName(conn, dom)
  const out = await Promise.all(
    handles.map(async (snap) => summaryFromXml((await conn.call(P.DOMAIN_SNAPSHOT_GET_XML_DESC, {snap, flags: 0})).xml, snap.name === current)),
  )
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
}

/** virsh snapshot-list --tree: roots first, each child under its parent. */
export function snapshotTree(list: SnapshotSummary[]): string {
  const names = new Set(list.map((s) => s.name))
  const kids = new Map<string | null, SnapshotSummary[]>()
  for (const s of list) {
    const p = s.parent !== null && names.has(s.parent) ? s.parent : null
    kids.set(p, [...(kids.get(p) ?? []), s])
  }
  const lines: string[] = []
  const walk = (s: SnapshotSummary, prefix: string, last: boolean, root: boolean): void => {
    lines.push(root ? s.name : `${prefix}+- ${s.name}`)
    const children = kids.get(s.name) ?? []
    const inner = root ? '  ' : `${prefix}${last ? '    ' : '|   '}`
    children.forEach((c, i) => {
      lines.push(`${inner}|`)
      walk(c, inner, i === children.length - 1, false)
    })
  }
  for (const r of kids.get(null) ?? []) walk(r, '', true, true)
  return lines.join('\n')
}

export async function snapshotInfo(conn: Connection, dom: DomainHandle, name: string): Promise<SnapshotDetails> {
  const snap = await findSnapshot(conn, dom, name)
  const xml = (await conn.call(P.DOMAIN_SNAPSHOT_GET_XML_DESC, {snap, flags: 0})).xml
  const {current} = await conn.call(P.DOMAIN_SNAPSHOT_IS_CURRENT, {snap, flags: 0})
  const {num: children} = await conn.call(P.DOMAIN_SNAPSHOT_NUM_CHILDREN, {snap, flags: 0})
  const {num: descendants} = await conn.call(P.DOMAIN_SNAPSHOT_NUM_CHILDREN, {snap, flags: SnapshotListFlag.DESCENDANTS})
  const {metadata} = await conn.call(P.DOMAIN_SNAPSHOT_HAS_METADATA, {snap, flags: 0})
  const external = /snapshot='external'/.test(xml.split(/<domain[ >]/)[0])
  return {
    ...summaryFromXml(xml, current !== 0),
    domain: dom.name,
    location: external ? 'external' : 'internal',
    children,
    descendants,
    metadata: metadata !== 0,
  }
}

export async function snapshotXml(conn: Connection, dom: DomainHandle, name: string, secure = false): Promise<string> {
  const snap = await findSnapshot(conn, dom, name)
  return (await conn.call(P.DOMAIN_SNAPSHOT_GET_XML_DESC, {snap, flags: secure ? 1 : 0})).xml
}

/** snapshot-create-as: builds the XML from a name and description. */
export function snapshotXmlFor(name?: string, description?: string): string {
  const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
  const parts = ['<domainsnapshot>']
  if (name !== undefined) parts.push(`  <name>${esc(name)}</name>`)
  if (description !== undefined) parts.push(`  <description>${esc(description)}</description>`)
  parts.push('</domainsnapshot>')
  return parts.join('\n') + '\n'
}

export async function createSnapshot(conn: Connection, dom: DomainHandle, xml: string, flags = 0): Promise<string> {
  return (await conn.call(P.DOMAIN_SNAPSHOT_CREATE_XML, {dom, xml_desc: xml, flags})).snap.name
}

export async function revertSnapshot(conn: Connection, dom: DomainHandle, name: string, flags = 0): Promise<void> {
  await conn.call(P.DOMAIN_REVERT_TO_SNAPSHOT, {snap: await findSnapshot(conn, dom, name), flags})
}

export async function deleteSnapshot(conn: Connection, dom: DomainHandle, name: string, flags = 0): Promise<void> {
  await conn.call(P.DOMAIN_SNAPSHOT_DELETE, {snap: await findSnapshot(conn, dom, name), flags})
}
