/**
 * Domain XML <-> DomainDef.
 *
 * Only the parts vctl acts on are modelled as typed fields. The whole parsed document is kept in
 * `root` (and each modelled device keeps its own element in `xml`), so formatting regenerates the
 * modelled parts from the typed fields and carries everything else over untouched: unknown
 * elements, unmodelled attributes of modelled elements (e.g. `<driver cache='none'>`), device
 * addresses, aliases, and so on.
 */

import {randomBytes, randomUUID} from 'node:crypto'

import {ErrorCode, ErrorDomain, VirError, errors} from '../errors.js'
import {type XmlElement, attr, child, childrenNamed, el, parseXml, rawTextOf, textOf} from './xml.js'
import {DISK_SOURCE_ATTR} from './domain-format.js'
import {expectRoot, intAttr, invalidAttr, parseScaled, parseUIntStrict, requireName, uuidOrNew} from './values.js'

export {domainToXml, formatDomainXml} from './domain-format.js'
export {expectRoot, intAttr, parseScaled, parseScaledBytes, parseUuid, requireName, unitScale, uuidOrNew} from './values.js'

// libvirt's virErrorNumber values not (yet) listed in errors.ts.
const VIR_ERR_NO_TARGET = 20

export interface DomainDisk {
  /** file | block | dir | network | volume | nvme | vhostuser | vhostvdpa (default file). */
  type: string
  /** disk | cdrom | floppy | lun (default disk). */
  device: string
  driverName?: string
  driverType?: string
  /** `<source file=...>` for type file, `dev=` for block, `dir=` for dir; other types keep their source element as is. */
  source?: string
  target: string
  bus?: string
  readonly: boolean
  /** The element this disk was parsed from; unmodelled content is carried over when formatting. */
  xml?: XmlElement
}

export interface DomainInterface {
  type: string
  /** Lowercase `aa:bb:cc:dd:ee:ff`. Generated (52:54:00:xx:xx:xx) at parse time when absent, as libvirt does. */
  mac?: string
  /** All attributes of `<source>` (e.g. {network: 'default'} or {bridge: 'br0'}). */
  source?: Record<string, string>
  model?: string
  xml?: XmlElement
}

export interface DomainChr {
  /** pty | file | dev | pipe | unix | tcp | udp | null | vc | stdio | spicevmc | ... (default pty). */
  type: string
  /** `<source path=...>`. */
  path?: string
  /** `<target port=...>`; assigned (highest used + 1) at parse time when absent. */
  targetPort?: number
  /** `<target type=...>`, e.g. 'serial' for a console or 'isa-serial' for a serial port. */
  targetType?: string
  /** The device's alias while the domain runs (`<alias name=...>` of the live XML), e.g. 'serial0'. */
  alias?: string
  xml?: XmlElement
}

export interface DomainGraphics {
  type: string
  /** -1 means "pick one when started" (always the case when autoport is set). */
  port?: number
  autoport?: boolean
  listen?: string
  xml?: XmlElement
}

export interface DomainDevices {
  emulator?: string
  disks: DomainDisk[]
  interfaces: DomainInterface[]
  serials: DomainChr[]
  consoles: DomainChr[]
  graphics: DomainGraphics[]
}

export interface DomainOs {
  type: string
  arch?: string
  machine?: string
  kernel?: string
  initrd?: string
  cmdline?: string
  /** Boot device order: fd | hd | cdrom | network. */
  boot: string[]
}

export interface DomainDef {
  type: string
  name: string
  uuid: string
  title?: string
  description?: string
  memoryKiB: number
  currentMemoryKiB: number
  /** Maximum vCPUs (`<vcpu>` content). */
  vcpus: number
  /** Online vCPUs at boot (`<vcpu current=...>`), equal to vcpus when not given. */
  currentVcpus: number
  os: DomainOs
  cpu?: {mode?: string; model?: string}
  onPoweroff: string
  onReboot: string
  onCrash: string
  devices: DomainDevices
  /** The document as parsed; the source of everything not modelled above. */
  root: XmlElement
}

export interface DomainLiveInfo {
  id?: number
  active?: boolean
}

/** How formatDomainXml writes a definition. */
export interface DomainFormatOptions extends DomainLiveInfo {
  /**
   * Include secrets (graphics `passwd`), as libvirt does for VIR_DOMAIN_XML_SECURE and for what
   * a driver writes to its own files. Default false: they are left out.
   */
  secure?: boolean
}

// ---------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------

/** libvirt's virDomainVirtType names: a domain's `type`, and what domcapabilities accepts as virttype. */
export const VIRT_TYPES: ReadonlySet<string> = new Set([
  'none',
  'qemu',
  'kqemu',
  'kvm',
  'xen',
  'lxc',
  'uml',
  'openvz',
  'test',
  'vmware',
  'hyperv',
  'vbox',
  'phyp',
  'parallels',
  'bhyve',
  'vz',
  'hvf',
])
const OS_TYPES = new Set(['hvm', 'xen', 'linux', 'exe', 'uml', 'xenpvh'])
const BOOT_DEVS = new Set(['fd', 'hd', 'cdrom', 'network'])
const DISK_TYPES = new Set(['file', 'block', 'dir', 'network', 'volume', 'nvme', 'vhostuser', 'vhostvdpa'])
const DISK_DEVICES = new Set(['disk', 'cdrom', 'floppy', 'lun'])
const LIFECYCLE: Record<string, Set<string>> = {
  on_poweroff: new Set(['destroy', 'restart', 'preserve', 'rename-restart']),
  on_reboot: new Set(['destroy', 'restart', 'preserve', 'rename-restart']),
  on_crash: new Set(['destroy', 'restart', 'preserve', 'rename-restart', 'coredump-destroy', 'coredump-restart']),
}

const D = ErrorDomain.DOMAIN

function generateMac(): string {
  const b = randomBytes(3)
  return `52:54:00:${b[0].toString(16).padStart(2, '0')}:${b[1].toString(16).padStart(2, '0')}:${b[2].toString(16).padStart(2, '0')}`
}

function parseMac(text: string): string | undefined {
  const parts = text.trim().split(/[:-]/)
  if (parts.length !== 6) return undefined
  let out = ''
  for (const p of parts) {
    if (!/^[0-9a-fA-F]{1,2}$/.test(p)) return undefined
    out += (out ? ':' : '') + p.toLowerCase().padStart(2, '0')
  }
  return out
}

function parseDisk(e: XmlElement): DomainDisk {
  const type = attr(e, 'type') ?? 'file'
  if (!DISK_TYPES.has(type)) throw invalidAttr(D, 'type', 'disk', type)
  const device = attr(e, 'device') ?? 'disk'
  if (!DISK_DEVICES.has(device)) throw invalidAttr(D, 'device', 'disk', device)
  const driver = child(e, 'driver')
  const srcEl = child(e, 'source')
  const srcAttr = DISK_SOURCE_ATTR[type]
  const source = srcAttr ? attr(srcEl, srcAttr) : undefined
  const targetEl = child(e, 'target')
  const target = attr(targetEl, 'dev')
  if (!target) {
    const what = source ?? attr(srcEl, 'name') ?? attr(srcEl, 'volume')
    throw new VirError(VIR_ERR_NO_TARGET, D, what ? `missing target information for device ${what}` : 'missing target information for device')
  }
  return {
    type,
    device,
    driverName: attr(driver, 'name'),
    driverType: attr(driver, 'type'),
    source: source || undefined,
    target,
    bus: attr(targetEl, 'bus'),
    readonly: child(e, 'readonly') !== undefined,
    xml: e,
  }
}

function parseInterface(e: XmlElement): DomainInterface {
  const type = attr(e, 'type')
  if (type === undefined) throw errors.xmlError(D, "Missing required attribute 'type' in element 'interface'")
  const macText = attr(child(e, 'mac'), 'address')
  let mac: string
  if (macText === undefined) {
    mac = generateMac()
  } else {
    const parsed = parseMac(macText)
    if (parsed === undefined) throw errors.internal(D, `unable to parse mac address '${macText}'`)
    mac = parsed
  }
  const srcEl = child(e, 'source')
  let source: Record<string, string> | undefined
  if (srcEl) {
    source = {}
    for (const [k, v] of srcEl.attrs) source[k] = v
  }
  return {type, mac, source, model: attr(child(e, 'model'), 'type'), xml: e}
}

function parseChr(e: XmlElement): DomainChr {
  const targetEl = child(e, 'target')
  return {
    type: attr(e, 'type') ?? 'pty',
    path: attr(child(e, 'source'), 'path'),
    targetPort: intAttr(targetEl, 'port', D),
    targetType: attr(targetEl, 'type'),
    xml: e,
  }
}

/** libvirt numbers character devices without a port after the highest one in use. */
function assignPorts(list: DomainChr[]): void {
  let max = -1
  for (const c of list) if (c.targetPort !== undefined && c.targetPort > max) max = c.targetPort
  for (const c of list) if (c.targetPort === undefined) c.targetPort = ++max
}

function parseGraphics(e: XmlElement): DomainGraphics {
  const type = attr(e, 'type')
  if (type === undefined) throw errors.xmlError(D, "Missing required attribute 'type' in element 'graphics'")
  let port = intAttr(e, 'port', D, false)
  const auto = attr(e, 'autoport')
  let autoport: boolean | undefined
  if (auto !== undefined) {
    if (auto !== 'yes' && auto !== 'no') throw invalidAttr(D, 'autoport', 'graphics', auto)
    autoport = auto === 'yes'
  }
  if (port === -1) autoport = true
  if (type === 'vnc' && port === undefined && autoport === undefined) autoport = true
  // libvirt shows port='-1' for an autoport VNC display, and no port at all for an autoport SPICE one.
  if (autoport === true && type === 'spice') port = undefined
  else if (autoport === true && (type === 'vnc' || port !== undefined)) port = -1
  let listen = attr(e, 'listen')
  if (listen === undefined) {
    for (const l of childrenNamed(e, 'listen')) {
      if (attr(l, 'type') === 'address' && attr(l, 'address') !== undefined) {
        listen = attr(l, 'address')
        break
      }
    }
  }
  return {type, port, autoport, listen, xml: e}
}

function parseLifecycle(root: XmlElement, name: string, dflt: string): string {
  const e = child(root, name)
  if (e === undefined) return dflt
  const v = textOf(e)
  if (v === '') return dflt
  if (!LIFECYCLE[name].has(v)) throw errors.internal(D, `unknown ${name} action: ${v}`)
  return v
}

function memoryFromNuma(root: XmlElement): number {
  const numa = child(child(root, 'cpu'), 'numa')
  if (numa === undefined) return 0
  let total = 0
  for (const cell of childrenNamed(numa, 'cell')) {
    const m = attr(cell, 'memory')
    if (m === undefined) continue
    const tmp = el('memory', {unit: attr(cell, 'unit')}, [m])
    total += parseScaled(tmp, './cpu/numa/cell/@memory', 'KiB', 'KiB', D)
  }
  return total
}

export interface ParseDomainOptions {
  /** Name shown in XML syntax errors, default 'domain_definition'. */
  docName?: string
}

/** Parses domain XML (as given to virDomainDefineXML / virDomainCreateXML). */
export function parseDomainXml(xml: string, opts: ParseDomainOptions = {}): DomainDef {
  const root = parseXml(xml, opts.docName ?? 'domain_definition', D)
  return domainFromXml(root)
}

/** Builds a DomainDef from an already parsed `<domain>` element (kept as `root`). */
export function domainFromXml(root: XmlElement): DomainDef {
  expectRoot(root, 'domain', D)

  const type = attr(root, 'type')
  if (type === undefined) throw errors.internal(D, 'missing domain type attribute')
  if (!VIRT_TYPES.has(type)) throw errors.internal(D, `invalid domain type ${type}`)

  const name = requireName(root, D)
  if (name.includes('/')) throw errors.xmlError(D, `name ${name} cannot contain '/'`)
  // libvirt's virXMLCheckIllegalChars, which reports in the XML error domain.
  if (name.includes('\n')) throw errors.xmlDetail(ErrorDomain.XML, 'invalid char in name: \n')
  const uuid = uuidOrNew(root, D)

  const titleEl = child(root, 'title')
  const title = titleEl ? rawTextOf(titleEl) || undefined : undefined
  if (title !== undefined && title.includes('\n')) throw errors.xmlError(D, "Domain title can't contain newlines")
  const descEl = child(root, 'description')
  const description = descEl ? rawTextOf(descEl) || undefined : undefined

  // Memory.
  const memEl = child(root, 'memory')
  let memoryKiB = memEl ? parseScaled(memEl, './memory[1]', 'KiB', 'KiB', D) : 0
  const numaMem = memoryFromNuma(root)
  if (numaMem > 0) memoryKiB = numaMem
  if (memoryKiB === 0) {
    throw errors.xmlError(D, 'Memory size must be specified via <memory> or in the <numa> configuration')
  }
  const curEl = child(root, 'currentMemory')
  let currentMemoryKiB = curEl ? parseScaled(curEl, './currentMemory[1]', 'KiB', 'KiB', D) : 0
  if (currentMemoryKiB === 0 || currentMemoryKiB > memoryKiB) currentMemoryKiB = memoryKiB

  // vCPUs.
  const vcpuEl = child(root, 'vcpu')
  let vcpus = 1
  let currentVcpus = 1
  if (vcpuEl) {
    const n = parseUIntStrict(textOf(vcpuEl))
    if (n === undefined) throw errors.xmlError(D, 'maximum vcpus count must be an integer')
    if (n === 0) throw errors.xmlError(D, 'maximum vcpus count must be at least 1')
    vcpus = n
    currentVcpus = n
    const cur = attr(vcpuEl, 'current')
    if (cur !== undefined) {
      const c = parseUIntStrict(cur)
      if (c === undefined) throw errors.xmlError(D, 'current vcpus count must be an integer')
      if (c > vcpus) throw errors.internal(D, 'maximum vCPU count must not be less than current vCPU count')
      if (c > 0) currentVcpus = c
    }
  }

  // OS.
  const osEl = child(root, 'os')
  const typeEl = child(osEl, 'type')
  let osType = textOf(typeEl)
  if (osType === '') {
    if (textOf(child(root, 'bootloader')) !== '') osType = 'xen'
    else throw errors.xmlError(D, 'an os <type> must be specified')
  }
  if (!OS_TYPES.has(osType)) throw new VirError(ErrorCode.OS_TYPE, D, `unknown OS type ${osType}`)
  const boot: string[] = []
  if (osEl) {
    for (const b of childrenNamed(osEl, 'boot')) {
      const dev = attr(b, 'dev')
      if (dev === undefined) continue
      if (!BOOT_DEVS.has(dev)) throw invalidAttr(D, 'dev', 'boot', dev)
      boot.push(dev)
    }
  }
  const kernel = textOf(child(osEl, 'kernel')) || undefined
  const os: DomainOs = {
    type: osType,
    arch: attr(typeEl, 'arch'),
    machine: attr(typeEl, 'machine'),
    kernel,
    initrd: textOf(child(osEl, 'initrd')) || undefined,
    cmdline: rawTextOf(child(osEl, 'cmdline')) || undefined,
    boot,
  }

  // CPU.
  const cpuEl = child(root, 'cpu')
  const cpu = cpuEl ? {mode: attr(cpuEl, 'mode'), model: textOf(child(cpuEl, 'model')) || undefined} : undefined

  // Devices.
  const devices: DomainDevices = {disks: [], interfaces: [], serials: [], consoles: [], graphics: []}
  const devEl = child(root, 'devices')
  let perDeviceBoot = false
  if (devEl) {
    for (const c of devEl.children) {
      if (c.kind !== 'element') continue
      switch (c.name) {
        case 'emulator':
          devices.emulator = textOf(c) || undefined
          break
        case 'disk':
          devices.disks.push(parseDisk(c))
          break
        case 'interface':
          devices.interfaces.push(parseInterface(c))
          break
        case 'serial':
          devices.serials.push(parseChr(c))
          break
        case 'console':
          devices.consoles.push(parseChr(c))
          break
        case 'graphics':
          devices.graphics.push(parseGraphics(c))
          break
      }
      if (!perDeviceBoot && child(c, 'boot') !== undefined) perDeviceBoot = true
    }
  }
  assignPorts(devices.serials)
  assignPorts(devices.consoles)
  // Without any boot configuration an HVM guest boots from its first disk; libvirt spells that out (also beside a <kernel>).
  if (osType === 'hvm' && boot.length === 0 && !perDeviceBoot) boot.push('hd')

  return {
    type,
    name,
    uuid,
    title,
    description,
    memoryKiB,
    currentMemoryKiB,
    vcpus,
    currentVcpus,
    os,
    cpu,
    onPoweroff: parseLifecycle(root, 'on_poweroff', 'destroy'),
    onReboot: parseLifecycle(root, 'on_reboot', 'restart'),
    onCrash: parseLifecycle(root, 'on_crash', 'destroy'),
    devices,
    root,
  }
}

/**
 * What libvirt's QEMU driver checks when it validates a definition (define, create): QEMU takes
 * VNC passwords of at most 8 bytes. Other drivers (the test driver) accept any length.
 */
export function checkVncPasswords(def: DomainDef): void {
  for (const g of def.devices.graphics) {
    const pw = g.type === 'vnc' ? attr(g.xml, 'passwd') : undefined
    const n = pw === undefined ? 0 : Buffer.byteLength(pw, 'utf8')
    if (n > 8) throw errors.configUnsupported(ErrorDomain.QEMU, `VNC password is ${n} characters long, only 8 permitted`)
  }
}

/** A new DomainDef with libvirt's defaults and no kept XML, for programmatic creation. */
export function newDomainDef(init: Pick<DomainDef, 'type' | 'name' | 'memoryKiB'> & Partial<Omit<DomainDef, 'root'>>): DomainDef {
  return {
    uuid: randomUUID(),
    currentMemoryKiB: init.memoryKiB,
    vcpus: 1,
    currentVcpus: init.vcpus ?? 1,
    os: {type: 'hvm', boot: []},
    onPoweroff: 'destroy',
    onReboot: 'restart',
    onCrash: 'destroy',
    devices: {disks: [], interfaces: [], serials: [], consoles: [], graphics: []},
    ...init,
    root: el('domain'),
  }
}
