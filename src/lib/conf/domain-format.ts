/**
 * DomainDef -> domain XML: the typed fields regenerate their elements, in libvirt's element order,
 * merged into the kept document so everything unmodelled is carried over.
 */

import type {DomainChr, DomainDef, DomainDisk, DomainFormatOptions, DomainGraphics, DomainInterface} from './domain.js'
import {type XmlElement, attr, child, childOrder, childrenNamed, dropIfEmpty, el, patchElement, reassemble, serializeXml, textEl} from './xml.js'

/** Which `<source>` attribute holds the disk's source, per disk type (others are left alone). */
export const DISK_SOURCE_ATTR: Readonly<Record<string, string>> = {file: 'file', block: 'dev', dir: 'dir'}
const DISK_SOURCE_ATTRS = ['file', 'dev', 'dir'] as const

const DOMAIN_ORDER = childOrder([
  'name',
  'uuid',
  'genid',
  'title',
  'description',
  'metadata',
  'maxMemory',
  'memory',
  'currentMemory',
  'blkiotune',
  'memtune',
  'memoryBacking',
  'vcpu',
  'vcpus',
  'iothreads',
  'iothreadids',
  'defaultiothread',
  'cputune',
  'numatune',
  'resource',
  'sysinfo',
  'bootloader',
  'bootloader_args',
  'os',
  'idmap',
  'features',
  'cpu',
  'clock',
  'on_poweroff',
  'on_reboot',
  'on_crash',
  'on_lockfailure',
  'pm',
  'perf',
  'devices',
  'seclabel',
  'keywrap',
  'launchSecurity',
])
const OS_ORDER = childOrder([
  'type',
  'firmware',
  'loader',
  'nvram',
  'kernel',
  'initrd',
  'cmdline',
  'shim',
  'dtb',
  'acpi',
  'boot',
  'bootmenu',
  'smbios',
  'bios',
  'init',
  'initarg',
  'initenv',
  'initdir',
  'inituser',
  'initgroup',
])
const CPU_ORDER = childOrder(['model', 'vendor', 'microcode', 'signature', 'topology', 'cache', 'maxphysaddr', 'feature', 'numa'])
const DEVICES_ORDER = childOrder([
  'emulator',
  'disk',
  'controller',
  'lease',
  'filesystem',
  'interface',
  'smartcard',
  'serial',
  'parallel',
  'console',
  'channel',
  'input',
  'tpm',
  'graphics',
  'sound',
  'audio',
  'video',
  'hostdev',
  'redirdev',
  'redirfilter',
  'hub',
  'watchdog',
  'memballoon',
  'nvram',
  'rng',
  'panic',
  'shmem',
  'memory',
  'iommu',
  'vsock',
  'crypto',
  'pstore',
])
const DISK_ORDER = childOrder([
  'driver',
  'auth',
  'source',
  'backingStore',
  'backenddomain',
  'geometry',
  'blockio',
  'mirror',
  'target',
  'iotune',
  'throttlefilters',
  'readonly',
  'shareable',
  'transient',
  'serial',
  'wwn',
  'vendor',
  'product',
  'encryption',
  'boot',
  'alias',
  'address',
])
const INTERFACE_ORDER = childOrder([
  'mac',
  'source',
  'vlan',
  'virtualport',
  'ip',
  'route',
  'script',
  'downscript',
  'backenddomain',
  'target',
  'guest',
  'model',
  'driver',
  'backend',
  'filterref',
  'tune',
  'teaming',
  'link',
  'mtu',
  'coalesce',
  'port',
  'rom',
  'boot',
  'alias',
  'address',
])
const CHR_ORDER = childOrder(['source', 'protocol', 'log', 'target', 'alias', 'address'])
const GRAPHICS_ORDER = childOrder([
  'listen',
  'channel',
  'image',
  'jpeg',
  'zlib',
  'playback',
  'streaming',
  'clipboard',
  'mouse',
  'filetransfer',
  'gl',
  'audio',
])

function formatDisk(d: DomainDisk): XmlElement {
  const o = d.xml
  const replace: Record<string, XmlElement | undefined> = {
    driver: dropIfEmpty(
      patchElement(child(o, 'driver'), 'driver', [
        ['name', d.driverName],
        ['type', d.driverType],
      ]),
    ),
    target: patchElement(child(o, 'target'), 'target', [
      ['dev', d.target],
      ['bus', d.bus],
    ]),
    readonly: d.readonly ? el('readonly') : undefined,
  }
  const srcAttr = DISK_SOURCE_ATTR[d.type]
  const origSrc = child(o, 'source')
  if (srcAttr !== undefined) {
    replace.source = dropIfEmpty(
      patchElement(
        origSrc,
        'source',
        DISK_SOURCE_ATTRS.map((a) => [a, a === srcAttr ? d.source : undefined]),
      ),
    )
  }
  return reassemble(
    o,
    'disk',
    [
      ['type', d.type],
      ['device', d.device],
    ],
    DISK_ORDER,
    replace,
  )
}

function formatInterface(i: DomainInterface): XmlElement {
  const o = i.xml
  const origSrc = child(o, 'source')
  let source: XmlElement | undefined
  if (i.source !== undefined) {
    source = {kind: 'element', name: 'source', attrs: Object.entries(i.source), children: origSrc ? origSrc.children.slice() : []}
  }
  return reassemble(o, 'interface', [['type', i.type]], INTERFACE_ORDER, {
    mac: dropIfEmpty(patchElement(child(o, 'mac'), 'mac', [['address', i.mac]])),
    source,
    model: dropIfEmpty(patchElement(child(o, 'model'), 'model', [['type', i.model]])),
  })
}

function formatChr(name: string, c: DomainChr): XmlElement {
  const o = c.xml
  // The first console's pty (its path known once QEMU runs) is also written as tty=, as libvirt does.
  const tty = name === 'console' && c.type === 'pty' && (c.targetPort ?? 0) === 0 ? c.path : undefined
  return reassemble(
    o,
    name,
    [
      ['type', c.type],
      ['tty', tty],
    ],
    CHR_ORDER,
    {
      source: dropIfEmpty(patchElement(child(o, 'source'), 'source', [['path', c.path]])),
      target: dropIfEmpty(
        patchElement(child(o, 'target'), 'target', [
          ['type', c.targetType],
          ['port', c.targetPort],
        ]),
      ),
    },
  )
}

function formatGraphics(g: DomainGraphics, secure: boolean): XmlElement {
  const o = g.xml
  let port = g.port
  if (port === undefined && g.autoport === true && g.type === 'vnc') port = -1
  const listens: XmlElement[] = []
  let done = false
  for (const l of childrenNamed(o, 'listen')) {
    if (!done && attr(l, 'type') === 'address') {
      done = true
      if (g.listen !== undefined)
        listens.push(
          patchElement(l, 'listen', [
            ['type', 'address'],
            ['address', g.listen],
          ]),
        )
      else if (attr(l, 'address') === undefined) listens.push(l)
      continue
    }
    listens.push(l)
  }
  if (!done && g.listen !== undefined) listens.unshift(el('listen', {type: 'address', address: g.listen}))
  const out = reassemble(
    o,
    'graphics',
    [
      ['type', g.type],
      ['port', port],
      ['autoport', g.autoport === undefined ? undefined : g.autoport ? 'yes' : 'no'],
      ['listen', g.listen],
    ],
    GRAPHICS_ORDER,
    {listen: listens},
  )
  if (!secure) out.attrs = out.attrs.filter((a) => a[0] !== 'passwd')
  return out
}

/**
 * Produces domain XML from the typed fields merged into `def.root`, in libvirt's element order.
 * `id='N'` is written on the root element when `live.id` is given (>= 0) and `live.active` is not
 * false. Graphics passwords are left out unless `live.secure` is set.
 */
export function formatDomainXml(def: DomainDef, live: DomainFormatOptions = {}): string {
  return serializeXml(domainToXml(def, live))
}

/** Like formatDomainXml, returning the element instead of text. */
export function domainToXml(def: DomainDef, live: DomainFormatOptions = {}): XmlElement {
  const root = def.root
  const o = root.name === 'domain' ? root : undefined

  const vcpuOrig = child(o, 'vcpu')
  const vcpu = patchElement(
    vcpuOrig,
    'vcpu',
    [
      ['placement', attr(vcpuOrig, 'placement') ?? 'static'],
      ['cpuset', attr(vcpuOrig, 'cpuset')],
      ['current', def.currentVcpus !== def.vcpus ? def.currentVcpus : undefined],
    ],
    String(def.vcpus),
  )

  const osOrig = child(o, 'os')
  const os = reassemble(osOrig, 'os', [], OS_ORDER, {
    type: patchElement(
      child(osOrig, 'type'),
      'type',
      [
        ['arch', def.os.arch],
        ['machine', def.os.machine],
      ],
      def.os.type,
    ),
    kernel: def.os.kernel !== undefined ? textEl('kernel', def.os.kernel) : undefined,
    initrd: def.os.initrd !== undefined ? textEl('initrd', def.os.initrd) : undefined,
    cmdline: def.os.cmdline !== undefined ? textEl('cmdline', def.os.cmdline) : undefined,
    boot: def.os.boot.map((dev) => el('boot', {dev})),
  })

  let cpu: XmlElement | undefined
  if (def.cpu !== undefined) {
    const cpuOrig = child(o, 'cpu')
    const modelOrig = child(cpuOrig, 'model')
    cpu = dropIfEmpty(
      reassemble(cpuOrig, 'cpu', [['mode', def.cpu.mode]], CPU_ORDER, {
        model: def.cpu.model !== undefined ? patchElement(modelOrig, 'model', [], def.cpu.model) : undefined,
      }),
    )
  }

  const d = def.devices
  const devOrig = child(o, 'devices')
  const devices = reassemble(devOrig, 'devices', [], DEVICES_ORDER, {
    emulator: d.emulator !== undefined ? textEl('emulator', d.emulator) : undefined,
    disk: d.disks.map(formatDisk),
    interface: d.interfaces.map(formatInterface),
    serial: d.serials.map((c) => formatChr('serial', c)),
    console: d.consoles.map((c) => formatChr('console', c)),
    graphics: d.graphics.map((g) => formatGraphics(g, live.secure === true)),
  })

  const showId = live.id !== undefined && live.id >= 0 && live.active !== false
  return reassemble(
    o,
    'domain',
    [
      ['type', def.type],
      ['id', showId ? live.id : undefined],
    ],
    DOMAIN_ORDER,
    {
      name: textEl('name', def.name),
      uuid: textEl('uuid', def.uuid),
      title: def.title !== undefined ? textEl('title', def.title) : undefined,
      description: def.description !== undefined ? textEl('description', def.description) : undefined,
      memory: textEl('memory', def.memoryKiB, {unit: 'KiB'}),
      currentMemory: textEl('currentMemory', def.currentMemoryKiB, {unit: 'KiB'}),
      vcpu,
      os,
      cpu,
      on_poweroff: textEl('on_poweroff', def.onPoweroff),
      on_reboot: textEl('on_reboot', def.onReboot),
      on_crash: textEl('on_crash', def.onCrash),
      devices,
    },
  )
}
