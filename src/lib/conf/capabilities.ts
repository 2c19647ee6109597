/**
 * Host capabilities XML (virConnectGetCapabilities), laid out like libvirt's: a blank line after
 * the opening tag and after the host and each guest section.
 */

import {type XmlElement, el, serializeXml, textEl} from './xml.js'

export interface CapsMachine {
  name: string
  canonical?: string
  maxCpus?: number
  deprecated?: boolean
}

/**
 * A guest feature: either a name (toggleable ones get libvirt's usual defaults: acpi/apic/hap on
 * and toggleable, disksnapshot on and fixed) or an explicit toggle description.
 */
export type CapsGuestFeature = string | {name: string; default?: 'on' | 'off'; toggle?: boolean}

export interface CapsGuest {
  /** hvm | xen | linux | exe | uml */
  osType: string
  arch: string
  wordsize: number
  emulator?: string
  loader?: string
  machines: CapsMachine[]
  /** Domain types for this guest; the schema accepts qemu, kqemu, kvm, xen, uml, lxc, openvz, test. */
  domains: {type: string; emulator?: string; machines?: CapsMachine[]}[]
  features?: CapsGuestFeature[]
}

export interface HostCapabilities {
  hostUuid: string
  arch: string
  cpuModel?: string
  cpuVendor?: string
  /** Host CPU feature names (`<feature name=.../>`). */
  cpuFeatures?: string[]
  microcode?: number
  signature?: {family: number; model: number; stepping: number}
  counter?: {frequency: number; scaling: boolean}
  topology?: {sockets: number; dies?: number; cores: number; threads: number}
  /** Physical address bits (`<maxphysaddr mode='emulate'>`). */
  physBits?: number
  /** Supported page sizes in KiB (e.g. [4, 2048]). */
  pageSizesKiB?: number[]
  iommu?: boolean
  /** Migration URI transports (tcp, rdma, ...); when given, `<migration_features>` with `<live/>` is printed. */
  migrationTransports?: string[]
  cells?: CapsCell[]
  caches?: {id: number; level: number; type: string; size: number; unit: string; cpus: string}[]
  secModels: {model: string; doi: string; baseLabels?: Array<[string, string]>}[]
  guests: CapsGuest[]
}

/** A NUMA cell: plain CPU ids, or with their socket/die/core/siblings as libvirt shows them on a real host. */
export interface CapsCell {
  id: number
  memoryKiB: number
  /** [size KiB, count] */
  pages?: Array<[number, number]>
  distances?: Array<[number, number]>
  cpus: Array<number | {id: number; socketId: number; dieId: number; coreId: number; siblings: string}>
}

const TOGGLE_DEFAULTS: Record<string, {default: 'on' | 'off'; toggle: boolean}> = {
  acpi: {default: 'on', toggle: true},
  apic: {default: 'on', toggle: false},
  hap: {default: 'on', toggle: true},
  disksnapshot: {default: 'on', toggle: false},
}

function machineEl(m: CapsMachine): XmlElement {
  return textEl('machine', m.name, {canonical: m.canonical, maxCpus: m.maxCpus, deprecated: m.deprecated ? 'yes' : undefined})
}

function featureEl(f: CapsGuestFeature): XmlElement {
  const name = typeof f === 'string' ? f : f.name
  const dflt = TOGGLE_DEFAULTS[name]
  if (dflt === undefined) return el(name)
  const d = typeof f === 'string' ? dflt.default : (f.default ?? dflt.default)
  const t = typeof f === 'string' ? dflt.toggle : (f.toggle ?? dflt.toggle)
  return el(name, {default: d, toggle: t ? 'yes' : 'no'})
}

function hostEl(c: HostCapabilities): XmlElement {
  const cpu = el('cpu', {}, [
    textEl('arch', c.arch),
    c.cpuModel !== undefined ? textEl('model', c.cpuModel) : undefined,
    c.cpuVendor !== undefined ? textEl('vendor', c.cpuVendor) : undefined,
    c.microcode !== undefined ? el('microcode', {version: c.microcode}) : undefined,
    c.signature ? el('signature', {family: c.signature.family, model: c.signature.model, stepping: c.signature.stepping}) : undefined,
    c.counter ? el('counter', {name: 'tsc', frequency: c.counter.frequency, scaling: c.counter.scaling ? 'yes' : 'no'}) : undefined,
    c.topology
      ? el('topology', {
          sockets: c.topology.sockets,
          dies: c.topology.dies ?? 1,
          cores: c.topology.cores,
          threads: c.topology.threads,
        })
      : undefined,
    c.physBits !== undefined ? el('maxphysaddr', {mode: 'emulate', bits: c.physBits}) : undefined,
    ...(c.cpuFeatures ?? []).map((name) => el('feature', {name})),
    ...(c.pageSizesKiB ?? []).map((size) => el('pages', {unit: 'KiB', size})),
  ])
  const children: (XmlElement | undefined)[] = [
    textEl('uuid', c.hostUuid),
    cpu,
    el('power_management'),
    el('iommu', {support: c.iommu ? 'yes' : 'no'}),
  ]
  if (c.migrationTransports !== undefined) {
    children.push(
      el('migration_features', {}, [
        el('live'),
        c.migrationTransports.length > 0
          ? el(
              'uri_transports',
              {},
              c.migrationTransports.map((t) => textEl('uri_transport', t)),
            )
          : undefined,
      ]),
    )
  }
  if (c.cells && c.cells.length > 0) {
    children.push(el('topology', {}, [el('cells', {num: c.cells.length}, c.cells.map(cellEl))]))
  }
  if (c.caches && c.caches.length > 0) {
    children.push(
      el(
        'cache',
        {},
        c.caches.map((b) => el('bank', {id: b.id, level: b.level, type: b.type, size: b.size, unit: b.unit, cpus: b.cpus})),
      ),
    )
  }
  for (const s of c.secModels) {
    children.push(
      el('secmodel', {}, [
        textEl('model', s.model),
        textEl('doi', s.doi),
        ...(s.baseLabels ?? []).map(([type, label]) => textEl('baselabel', label, {type})),
      ]),
    )
  }
  return el('host', {}, children)
}

function cellEl(cell: CapsCell): XmlElement {
  return el('cell', {id: cell.id}, [
    textEl('memory', cell.memoryKiB, {unit: 'KiB'}),
    ...(cell.pages ?? []).map(([size, n]) => textEl('pages', n, {unit: 'KiB', size})),
    cell.distances
      ? el(
          'distances',
          {},
          cell.distances.map(([id, value]) => el('sibling', {id, value})),
        )
      : undefined,
    el(
      'cpus',
      {num: cell.cpus.length},
      cell.cpus.map((c) =>
        typeof c === 'number'
          ? el('cpu', {id: c})
          : el('cpu', {id: c.id, socket_id: c.socketId, die_id: c.dieId, core_id: c.coreId, siblings: c.siblings}),
      ),
    ),
  ])
}

function guestEl(g: CapsGuest): XmlElement {
  const arch = el('arch', {name: g.arch}, [
    textEl('wordsize', g.wordsize),
    g.emulator !== undefined ? textEl('emulator', g.emulator) : undefined,
    g.loader !== undefined ? textEl('loader', g.loader) : undefined,
    ...g.machines.map(machineEl),
    ...g.domains.map((d) =>
      el('domain', {type: d.type}, [d.emulator !== undefined ? textEl('emulator', d.emulator) : undefined, ...(d.machines ?? []).map(machineEl)]),
    ),
  ])
  const children: XmlElement[] = [textEl('os_type', g.osType), arch]
  if (g.features && g.features.length > 0) children.push(el('features', {}, g.features.map(featureEl)))
  return el('guest', {}, children)
}

/** Formats host capabilities XML. */
export function formatCapabilities(caps: HostCapabilities): string {
  const doc = el('capabilities', {}, [hostEl(caps), ...caps.guests.map(guestEl)])
  const text = serializeXml(doc)
  // libvirt separates the sections with blank lines.
  return text
    .replace('<capabilities>\n', '<capabilities>\n\n')
    .replace('\n  </host>\n', '\n  </host>\n\n')
    .replace(/\n {2}<\/guest>\n/g, '\n  </guest>\n\n')
}
