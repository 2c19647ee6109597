/**
 * Domain snapshot XML (`<domainsnapshot>`) <-> SnapshotDef, as libvirt's snapshot_conf reads and
 * writes it: name, description, state, parent, creationTime, memory, disks, the domain definition
 * it was taken from (`<domain>`, and `<inactiveDomain>` when the guest ran with a different
 * persistent definition), and in a driver's own files the `<active>` flag (current snapshot).
 */
import {VirError, errors} from '../errors.js'
import {domainFromXml, domainToXml, formatDomainXml, parseDomainXml, type DomainDef} from './domain.js'
import {expectRoot} from './values.js'
import {attr, child, el, elementChildren, parseXml, serializeXml, textEl, textOf, type XmlElement} from './xml.js'

/** virDomainSnapshotState names (the domain's state when the snapshot was taken). */
export const SNAPSHOT_STATES = ['nostate', 'running', 'blocked', 'paused', 'shutdown', 'shutoff', 'crashed', 'pmsuspended', 'disk-snapshot'] as const
/** virDomainSnapshotLocation names. */
export const SNAPSHOT_LOCATIONS = ['default', 'no', 'internal', 'external', 'manual'] as const

export const ErrorDomainSnapshot = 35
/** virErrorNumber values of snapshots. */
export const SnapshotError = {INVALID_DOMAIN_SNAPSHOT: 71, NO_DOMAIN_SNAPSHOT: 72} as const

export interface SnapshotDiskDef {
  name: string
  /** no | internal | external | manual (undefined: not given). */
  snapshot?: string
}

export interface SnapshotDef {
  name: string
  description?: string
  /** running | paused | shutoff | disk-snapshot ... (set by the driver when taken). */
  state?: string
  parent?: string
  /** Seconds since the epoch. */
  creationTime?: number
  /** Memory location: no | internal | external. */
  memory?: string
  memoryFile?: string
  disks: SnapshotDiskDef[]
  /** The domain's definition when the snapshot was taken. */
  domain?: DomainDef
  /** The persistent definition, when the guest ran with another one. */
  inactiveDomain?: DomainDef
}

export interface SnapshotParseOptions {
  /** Error domain of the driver (VIR_FROM_QEMU, VIR_FROM_TEST...). */
  errDomain: number
  /** VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE: the XML describes an existing snapshot (state, times, domain). */
  redefine?: boolean
  /** The driver's own file: `<active>` is read too. */
  internal?: boolean
}

/** Snapshot names: anything but '/' (they name files), libvirt's rule. */
export function checkSnapshotName(name: string, errDomain: number): void {
  if (name.includes('/')) throw errors.xmlError(errDomain, `invalid snapshot name '${name}': name can't contain '/'`)
}

function enumAttr(e: XmlElement, name: string, values: readonly string[], errDomain: number): string | undefined {
  const v = attr(e, name)
  if (v === undefined) return undefined
  if (!values.includes(v) || v === values[0]) {
    throw errors.xmlError(errDomain, `Invalid value for attribute '${name}' in element '${e.name}': '${v}'.`)
  }
  return v
}

function parseDisk(e: XmlElement, errDomain: number): SnapshotDiskDef {
  const name = attr(e, 'name')
  if (name === undefined) throw errors.internal(errDomain, 'missing name from disk snapshot element')
  let snapshot = enumAttr(e, 'snapshot', SNAPSHOT_LOCATIONS, errDomain)
  const type = attr(e, 'type')
  if (type === 'volume' || type === 'dir') throw errors.xmlError(errDomain, `unsupported disk snapshot type '${type}'`)
  const path = attr(child(e, 'source'), 'file') ?? attr(child(e, 'source'), 'dev')
  if (path !== undefined && !path.startsWith('/')) throw errors.xmlError(errDomain, `disk snapshot image path '${path}' must be absolute`)
  if (snapshot === undefined && (path !== undefined || child(e, 'driver') !== undefined)) snapshot = 'external'
  return {name, snapshot}
}

function parseDomainIn(e: XmlElement): DomainDef {
  return domainFromXml({...e, name: 'domain'})
}

/** Parses snapshot XML; `current` is the `<active>` flag of a driver's own file. */
export function parseSnapshotXml(xml: string, opts: SnapshotParseOptions): {def: SnapshotDef; current: boolean} {
  const D = opts.errDomain
  const root = parseXml(xml, '(domain_snapshot)', D)
  expectRoot(root, 'domainsnapshot', D)
  const nameEl = child(root, 'name')
  if (nameEl === undefined && opts.redefine) throw errors.xmlError(D, 'a redefined snapshot must have a name')
  const def: SnapshotDef = {name: nameEl ? textOf(nameEl) : '', disks: []}
  const description = child(root, 'description')
  if (description) def.description = textOf(description)
  let offline = false
  if (opts.redefine) {
    const ct = textOf(child(root, 'creationTime'))
    if (!/^-?\d+$/.test(ct)) throw errors.internal(D, 'missing creationTime from existing snapshot')
    def.creationTime = Number(ct)
    const parent = textOf(child(child(root, 'parent'), 'name'))
    if (parent) def.parent = parent
    const stateEl = child(root, 'state')
    if (!stateEl) throw errors.xmlError(D, 'missing state from existing snapshot')
    const state = textOf(stateEl)
    if (!SNAPSHOT_STATES.includes(state as (typeof SNAPSHOT_STATES)[number]) || state === 'nostate') {
      throw errors.configUnsupported(D, `Invalid state '${state}' in domain snapshot XML`)
    }
    def.state = state
    offline = state === 'shutoff' || state === 'disk-snapshot'
    const dom = child(root, 'domain')
    if (dom && attr(dom, 'type') !== undefined) def.domain = parseDomainIn(dom)
    const inactive = child(root, 'inactiveDomain')
    if (inactive) def.inactiveDomain = parseDomainIn(inactive)
  }
  const mem = child(root, 'memory')
  if (mem) {
    def.memoryFile = attr(mem, 'file')
    def.memory = enumAttr(mem, 'snapshot', SNAPSHOT_LOCATIONS, D)
    if (def.memory === 'manual') throw errors.xmlError(D, "'manual' memory snapshot mode not supported")
  }
  if (def.memory === undefined) {
    if (def.memoryFile !== undefined) def.memory = 'external'
    else if (opts.redefine) def.memory = offline ? 'no' : 'internal'
  }
  if (def.memoryFile !== undefined && def.memory !== 'external') {
    throw errors.xmlError(D, `memory filename '${def.memoryFile}' requires external snapshot`)
  }
  if (def.memoryFile === undefined && def.memory === 'external') throw errors.xmlError(D, 'external memory snapshots require a filename')
  if (offline && def.memory !== undefined && def.memory !== 'no') {
    throw errors.xmlError(D, 'memory state cannot be saved with offline or disk-only snapshot')
  }
  const disks = child(root, 'disks')
  if (disks) def.disks = elementChildren(disks).map((d) => parseDisk(d, D))
  let current = false
  if (opts.internal) {
    const active = textOf(child(root, 'active'))
    if (!/^-?\d+$/.test(active)) throw errors.internal(D, "Could not find 'active' element")
    current = Number(active) !== 0
  }
  if (def.name) checkSnapshotName(def.name, D)
  return {def, current}
}

export interface SnapshotFormatOptions {
  /** VIR_DOMAIN_SNAPSHOT_XML_SECURE: graphics passwords in the embedded definitions. */
  secure?: boolean
  /** For the driver's own file: write `<active>` with this value. */
  internalCurrent?: boolean
}

function embeddedDomain(def: DomainDef, rootName: string, secure: boolean): XmlElement {
  const e = domainToXml(def, {active: false, secure})
  return {...e, name: rootName}
}

/** Formats a snapshot as libvirt does (virDomainSnapshotDefFormat). */
export function formatSnapshotXml(def: SnapshotDef, opts: SnapshotFormatOptions = {}): string {
  const secure = opts.secure ?? false
  const kids: (XmlElement | undefined)[] = [textEl('name', def.name)]
  if (def.description !== undefined) kids.push(textEl('description', def.description))
  if (def.state !== undefined) kids.push(textEl('state', def.state))
  if (def.parent !== undefined) kids.push(el('parent', undefined, [textEl('name', def.parent)]))
  if (def.creationTime !== undefined) kids.push(textEl('creationTime', def.creationTime))
  if (def.memory !== undefined) kids.push(el('memory', {snapshot: def.memory, file: def.memoryFile}))
  if (def.disks.length > 0)
    kids.push(
      el(
        'disks',
        undefined,
        def.disks.map((d) => el('disk', {name: d.name, snapshot: d.snapshot})),
      ),
    )
  if (def.domain) kids.push(embeddedDomain(def.domain, 'domain', secure))
  if (def.inactiveDomain) kids.push(embeddedDomain(def.inactiveDomain, 'inactiveDomain', secure))
  if (opts.internalCurrent !== undefined) kids.push(textEl('active', opts.internalCurrent ? 1 : 0))
  return serializeXml(el('domainsnapshot', undefined, kids))
}

/** libvirt's "Domain snapshot not found: <detail>" (NO_DOMAIN_SNAPSHOT). */
export function noSnapshot(errDomain: number, detail: string): VirError {
  return new VirError(SnapshotError.NO_DOMAIN_SNAPSHOT, errDomain, `Domain snapshot not found: ${detail}`, {
    str1: 'Domain snapshot not found: %s',
    str2: detail,
  })
}

/** The disks of `dom` a default snapshot covers: every disk with a source that is writable. */
export function defaultSnapshotDisks(dom: DomainDef, given: SnapshotDiskDef[], errDomain: number): SnapshotDiskDef[] {
  const byName = new Map<string, SnapshotDiskDef>()
  for (const g of given) {
    const disk = dom.devices.disks.find((d) => d.target === g.name || d.source === g.name)
    if (!disk) throw errors.invalidArg(errDomain, `no disk named '${g.name}'`)
    if (byName.has(disk.target)) throw errors.invalidArg(errDomain, `disk '${g.name}' specified twice`)
    byName.set(disk.target, {name: disk.target, snapshot: g.snapshot})
  }
  return dom.devices.disks.map((d) => {
    const g = byName.get(d.target)
    const ro = d.readonly || d.device === 'cdrom' || d.source === undefined
    return {name: d.target, snapshot: g?.snapshot ?? (ro ? 'no' : 'internal')}
  })
}

/** A deep copy of a definition (what a snapshot keeps must not change with the domain). */
export function cloneDomainDef(def: DomainDef): DomainDef {
  return parseDomainXml(formatDomainXml(def, {secure: true}))
}
