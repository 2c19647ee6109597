import {spawnSync} from 'node:child_process'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import test, {type ExecutionContext} from 'ava'

import {ErrorCode, ErrorDomain, VirError} from '../src/lib/errors.js'
import {type DomainDef, formatDomainXml, parseDomainXml, parseUuid} from '../src/lib/conf/domain.js'
import {attr, child, childrenNamed, parseXml, serializeXml, textOf} from '../src/lib/conf/xml.js'

const tmp = mkdtempSync(join(tmpdir(), 'vctl-conf-domain-'))
test.after.always(() => rmSync(tmp, {recursive: true, force: true}))

let fileNo = 0
function assertValid(t: ExecutionContext, xml: string, schema: string): void {
  const file = join(tmp, `doc-${fileNo++}.xml`)
  writeFileSync(file, xml)
  const r = spawnSync('/usr/bin/virt-xml-validate', [file, schema], {encoding: 'utf8'})
  t.is(r.status, 0, `virt-xml-validate ${schema} failed:\n${r.stdout}${r.stderr}\n--- document ---\n${xml}`)
}

/** The typed view of a def: everything but the kept XML trees. */
function typed(def: DomainDef): unknown {
  return JSON.parse(JSON.stringify(def, (k, v: unknown) => (k === 'root' || k === 'xml' ? undefined : v))) as unknown
}

function domainError(t: ExecutionContext, xml: string): VirError {
  return t.throws<VirError>(() => parseDomainXml(xml), {instanceOf: VirError})
}

const MINIMAL_TEST = `<domain type='test'>
  <name>mini</name>
  <memory>8192</memory>
  <os><type>hvm</type></os>
</domain>`

const QEMU = `<domain type='qemu'>
  <name>guest1</name>
  <uuid>C7A5FDBDEDAF9455926AD65C16DB1809</uuid>
  <memory unit='MiB'>512</memory>
  <currentMemory unit='MiB'>384</currentMemory>
  <vcpu current='1'>2</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>/var/lib/vctl/vmlinuz</kernel>
    <initrd>/var/lib/vctl/initrd.img</initrd>
    <cmdline>console=ttyS0 root=/dev/vda rw</cmdline>
  </os>
  <features><acpi/><apic/></features>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='/var/lib/vctl/root.raw'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2' cache='none'/>
      <source file='/var/lib/vctl/data.qcow2'/>
      <target dev='hda' bus='ide'/>
    </disk>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='/var/lib/vctl/more.qcow2'/>
      <target dev='sda' bus='sata'/>
    </disk>
    <disk type='file' device='cdrom'>
      <driver name='qemu' type='raw'/>
      <source file='/var/lib/vctl/seed.iso'/>
      <target dev='hdc' bus='ide'/>
      <readonly/>
    </disk>
    <interface type='user'>
      <mac address='52:54:00:12:34:56'/>
      <model type='virtio'/>
    </interface>
    <serial type='file'>
      <source path='/var/log/vctl/guest1.serial'/>
      <target port='0'/>
    </serial>
    <serial type='pty'>
      <target port='1'/>
    </serial>
    <console type='pty'>
      <target type='serial' port='0'/>
    </console>
    <graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1'>
      <listen type='address' address='127.0.0.1'/>
    </graphics>
  </devices>
</domain>`

const WITH_UNKNOWN = `<domain type='kvm' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
  <bogus-top level='1'/>
  <name>keeper</name>
  <metadata><app:foo xmlns:app='http://x'/><app2:bar xmlns:app2='http://y'>text</app2:bar></metadata>
  <memory unit='KiB'>1048576</memory>
  <os><type>hvm</type><boot dev='cdrom'/><boot dev='hd'/><bootmenu enable='yes'/></os>
  <features><acpi/><pae/></features>
  <clock offset='localtime'><timer name='rtc' tickpolicy='catchup'/></clock>
  <pm><suspend-to-disk enabled='no'/></pm>
  <devices>
    <disk type='block' device='disk'>
      <driver name='qemu' type='raw' io='native'/>
      <source dev='/dev/vg/lv'/>
      <target dev='vdb' bus='virtio'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x07' function='0x0'/>
    </disk>
    <foo bar='1'/>
    <interface type='network'>
      <source network='default' portgroup='pg'/>
      <model type='e1000'/>
      <boot order='1'/>
    </interface>
    <memballoon model='virtio'/>
  </devices>
  <qemu:commandline><qemu:arg value='-S'/></qemu:commandline>
</domain>`

test('minimal test-driver domain: parse, defaults and schema-valid output', (t) => {
  const def = parseDomainXml(MINIMAL_TEST)
  t.is(def.type, 'test')
  t.is(def.name, 'mini')
  t.regex(def.uuid, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
  t.is(def.memoryKiB, 8192)
  t.is(def.currentMemoryKiB, 8192)
  t.is(def.vcpus, 1)
  t.is(def.currentVcpus, 1)
  t.is(def.os.type, 'hvm')
  t.deepEqual(def.os.boot, ['hd'])
  t.is(def.onPoweroff, 'destroy')
  t.is(def.onReboot, 'restart')
  t.is(def.onCrash, 'destroy')
  t.deepEqual(def.devices, {disks: [], interfaces: [], serials: [], consoles: [], graphics: []})
  const xml = formatDomainXml(def, {})
  t.is(
    xml,
    [
      "<domain type='test'>",
      '  <name>mini</name>',
      `  <uuid>${def.uuid}</uuid>`,
      "  <memory unit='KiB'>8192</memory>",
      "  <currentMemory unit='KiB'>8192</currentMemory>",
      "  <vcpu placement='static'>1</vcpu>",
      '  <os>',
      '    <type>hvm</type>',
      "    <boot dev='hd'/>",
      '  </os>',
      '  <on_poweroff>destroy</on_poweroff>',
      '  <on_reboot>restart</on_reboot>',
      '  <on_crash>destroy</on_crash>',
      '  <devices/>',
      '</domain>',
      '',
    ].join('\n'),
  )
  assertValid(t, xml, 'domain')
  // Two parses without a <uuid> get different ones.
  t.not(parseDomainXml(MINIMAL_TEST).uuid, def.uuid)
})

test('qemu domain with direct kernel boot, disks, cdrom, user net, serials and vnc', (t) => {
  const def = parseDomainXml(QEMU)
  t.is(def.uuid, 'c7a5fdbd-edaf-9455-926a-d65c16db1809')
  t.is(def.memoryKiB, 512 * 1024)
  t.is(def.currentMemoryKiB, 384 * 1024)
  t.is(def.vcpus, 2)
  t.is(def.currentVcpus, 1)
  t.deepEqual(
    {...def.os},
    {
      type: 'hvm',
      arch: 'x86_64',
      machine: 'pc',
      kernel: '/var/lib/vctl/vmlinuz',
      initrd: '/var/lib/vctl/initrd.img',
      cmdline: 'console=ttyS0 root=/dev/vda rw',
      // libvirt's post-parse spells out <boot dev='hd'/> for any HVM guest without boot configuration, a <kernel> or not.
      boot: ['hd'],
    },
  )
  t.is(def.devices.emulator, '/usr/bin/qemu-system-x86_64')
  t.deepEqual(
    def.devices.disks.map(({xml: _xml, ...d}) => d),
    [
      {
        type: 'file',
        device: 'disk',
        driverName: 'qemu',
        driverType: 'raw',
        source: '/var/lib/vctl/root.raw',
        target: 'vda',
        bus: 'virtio',
        readonly: false,
      },
      {
        type: 'file',
        device: 'disk',
        driverName: 'qemu',
        driverType: 'qcow2',
        source: '/var/lib/vctl/data.qcow2',
        target: 'hda',
        bus: 'ide',
        readonly: false,
      },
      {
        type: 'file',
        device: 'disk',
        driverName: 'qemu',
        driverType: 'qcow2',
        source: '/var/lib/vctl/more.qcow2',
        target: 'sda',
        bus: 'sata',
        readonly: false,
      },
      {
        type: 'file',
        device: 'cdrom',
        driverName: 'qemu',
        driverType: 'raw',
        source: '/var/lib/vctl/seed.iso',
        target: 'hdc',
        bus: 'ide',
        readonly: true,
      },
    ],
  )
  const [nic] = def.devices.interfaces
  t.is(nic.type, 'user')
  t.is(nic.mac, '52:54:00:12:34:56')
  t.is(nic.source, undefined)
  t.is(nic.model, 'virtio')
  t.deepEqual(
    def.devices.serials.map((s) => [s.type, s.path, s.targetPort]),
    [
      ['file', '/var/log/vctl/guest1.serial', 0],
      ['pty', undefined, 1],
    ],
  )
  t.deepEqual(
    def.devices.consoles.map((s) => [s.type, s.targetType, s.targetPort]),
    [['pty', 'serial', 0]],
  )
  const [g] = def.devices.graphics
  t.deepEqual([g.type, g.port, g.autoport, g.listen], ['vnc', -1, true, '127.0.0.1'])

  const inactive = formatDomainXml(def, {active: false})
  assertValid(t, inactive, 'domain')
  const live = formatDomainXml(def, {id: 7, active: true})
  t.true(live.startsWith("<domain type='qemu' id='7'>\n"))
  assertValid(t, live, 'domain')
  t.false(inactive.includes("id='"))
  // Unmodelled attributes of modelled elements survive.
  t.true(inactive.includes("<driver name='qemu' type='qcow2' cache='none'/>"))
})

test('other shapes validate too: block disk, network interface, pty console, spice', (t) => {
  const xml = `<domain type='kvm'>
    <name>other</name>
    <memory unit='GiB'>2</memory>
    <vcpu>4</vcpu>
    <os><type arch='x86_64'>hvm</type><boot dev='network'/></os>
    <cpu mode='custom' match='exact'><model fallback='allow'>Skylake-Client</model></cpu>
    <devices>
      <disk type='block' device='disk'><source dev='/dev/sdb'/><target dev='vda' bus='virtio'/></disk>
      <disk type='file' device='cdrom'><target dev='sdc' bus='sata'/><readonly/></disk>
      <interface type='bridge'><source bridge='br0'/><model type='virtio'/></interface>
      <interface type='network'><source network='default'/></interface>
      <console type='pty'/>
      <graphics type='spice' autoport='yes'/>
    </devices>
  </domain>`
  const def = parseDomainXml(xml)
  t.deepEqual(def.cpu, {mode: 'custom', model: 'Skylake-Client'})
  t.is(def.devices.disks[1].source, undefined)
  t.deepEqual(def.devices.interfaces[0].source, {bridge: 'br0'})
  t.regex(def.devices.interfaces[1].mac ?? '', /^52:54:00(:[0-9a-f]{2}){3}$/)
  t.is(def.devices.consoles[0].targetPort, 0)
  const out = formatDomainXml(def)
  t.true(out.includes("<model fallback='allow'>Skylake-Client</model>"))
  assertValid(t, out, 'domain')
})

test('round trip: typed fields are stable and unknown content survives', (t) => {
  for (const src of [MINIMAL_TEST, QEMU, WITH_UNKNOWN]) {
    const a = parseDomainXml(src)
    const xml1 = formatDomainXml(a)
    const b = parseDomainXml(xml1)
    t.deepEqual(typed(b), typed(a))
    // Formatting is idempotent.
    t.is(formatDomainXml(b), xml1)
  }

  const out = formatDomainXml(parseDomainXml(WITH_UNKNOWN))
  const root = parseXml(out, 'out')
  const metadata = child(root, 'metadata')
  t.is(attr(child(metadata, 'app:foo'), 'xmlns:app'), 'http://x')
  t.is(textOf(child(metadata, 'app2:bar')), 'text')
  t.truthy(child(child(root, 'features'), 'acpi'))
  t.truthy(child(child(root, 'features'), 'pae'))
  t.is(attr(child(child(root, 'clock'), 'timer'), 'tickpolicy'), 'catchup')
  t.truthy(child(root, 'pm'))
  t.is(attr(child(root, 'bogus-top'), 'level'), '1')
  t.is(attr(child(child(root, 'qemu:commandline'), 'qemu:arg'), 'value'), '-S')
  t.is(attr(root, 'xmlns:qemu'), 'http://libvirt.org/schemas/domain/qemu/1.0')
  const devices = child(root, 'devices')
  t.is(attr(child(devices, 'foo'), 'bar'), '1')
  t.truthy(child(devices, 'memballoon'))
  const disk = child(devices, 'disk')
  t.is(attr(child(disk, 'address'), 'slot'), '0x07')
  t.is(attr(child(disk, 'driver'), 'io'), 'native')
  const nic = child(devices, 'interface')
  t.is(attr(child(nic, 'source'), 'portgroup'), 'pg')
  t.is(attr(child(nic, 'boot'), 'order'), '1')
  t.deepEqual(
    childrenNamed(child(root, 'os'), 'boot').map((b) => attr(b, 'dev')),
    ['cdrom', 'hd'],
  )
  t.truthy(child(child(root, 'os'), 'bootmenu'))
  // Unknown devices stay after the device that preceded them.
  const names = (devices?.children ?? []).map((c) => (c.kind === 'element' ? c.name : c.kind))
  t.deepEqual(names, ['disk', 'foo', 'interface', 'memballoon'])
})

test('output follows libvirt element order whatever the input order', (t) => {
  const def = parseDomainXml(`<domain type='test'>
    <devices><console type='pty'/><serial type='pty'/><graphics type='vnc'/><interface type='user'/><disk device='disk'><target dev='vda'/><source file='/a'/></disk></devices>
    <on_crash>destroy</on_crash>
    <os><boot dev='hd'/><type>hvm</type></os>
    <features><acpi/></features>
    <vcpu>1</vcpu>
    <description>d</description>
    <memory>1024</memory>
    <clock offset='utc'/>
    <cpu mode='host-passthrough'/>
    <title>t</title>
    <name>ordered</name>
  </domain>`)
  const root = parseXml(formatDomainXml(def), 'out')
  const top = root.children.map((c) => (c.kind === 'element' ? c.name : c.kind))
  t.deepEqual(top, [
    'name',
    'uuid',
    'title',
    'description',
    'memory',
    'currentMemory',
    'vcpu',
    'os',
    'features',
    'cpu',
    'clock',
    'on_poweroff',
    'on_reboot',
    'on_crash',
    'devices',
  ])
  const devs = child(root, 'devices')?.children.map((c) => (c.kind === 'element' ? c.name : c.kind))
  t.deepEqual(devs, ['disk', 'interface', 'serial', 'console', 'graphics'])
  const disk = child(child(root, 'devices'), 'disk')
  t.deepEqual(
    disk?.children.map((c) => (c.kind === 'element' ? c.name : c.kind)),
    ['source', 'target'],
  )
  t.deepEqual(disk?.attrs, [
    ['type', 'file'],
    ['device', 'disk'],
  ])
})

test('typed edits are reflected when formatting', (t) => {
  const def = parseDomainXml(QEMU)
  def.name = 'renamed'
  def.memoryKiB = 2 * 1024 * 1024
  def.currentMemoryKiB = 1024 * 1024
  def.vcpus = 4
  def.currentVcpus = 4
  def.title = 'Hello'
  def.os.kernel = undefined
  def.os.initrd = undefined
  def.os.cmdline = undefined
  def.os.boot = ['cdrom', 'hd']
  def.onReboot = 'destroy'
  def.devices.disks[1].source = '/elsewhere.qcow2'
  def.devices.disks.splice(2, 1)
  def.devices.disks.push({type: 'block', device: 'disk', source: '/dev/sdz', target: 'vdz', bus: 'virtio', readonly: false})
  def.devices.graphics[0].listen = '0.0.0.0'
  def.devices.serials.pop()
  def.cpu = {mode: 'host-passthrough'}
  const xml = formatDomainXml(def)
  assertValid(t, xml, 'domain')
  const back = parseDomainXml(xml)
  t.is(back.name, 'renamed')
  t.is(back.title, 'Hello')
  t.is(back.memoryKiB, 2097152)
  t.is(back.currentMemoryKiB, 1048576)
  t.is(back.vcpus, 4)
  t.is(back.currentVcpus, 4)
  t.false(xml.includes('current='))
  t.is(back.os.kernel, undefined)
  t.deepEqual(back.os.boot, ['cdrom', 'hd'])
  t.is(back.onReboot, 'destroy')
  t.deepEqual(
    back.devices.disks.map((d) => [d.type, d.source, d.target]),
    [
      ['file', '/var/lib/vctl/root.raw', 'vda'],
      ['file', '/elsewhere.qcow2', 'hda'],
      ['file', '/var/lib/vctl/seed.iso', 'hdc'],
      ['block', '/dev/sdz', 'vdz'],
    ],
  )
  // The edited disk kept its unmodelled driver attribute.
  t.true(xml.includes("<driver name='qemu' type='qcow2' cache='none'/>"))
  t.true(xml.includes("<source dev='/dev/sdz'/>"))
  t.is(back.devices.graphics[0].listen, '0.0.0.0')
  t.true(xml.includes("<listen type='address' address='0.0.0.0'/>"))
  t.false(xml.includes('127.0.0.1'))
  t.is(back.devices.serials.length, 1)
  t.deepEqual(back.cpu, {mode: 'host-passthrough', model: undefined})
})

test('memory units are converted to KiB', (t) => {
  const cases: [string, string | undefined, number][] = [
    ['1024', undefined, 1024],
    ['1048576', 'b', 1024],
    ['1048576', 'bytes', 1024],
    ['1000', 'B', 1],
    ['3', 'k', 3],
    ['3', 'KiB', 3],
    ['2', 'M', 2048],
    ['2', 'MiB', 2048],
    ['1', 'G', 1048576],
    ['1', 'GiB', 1048576],
    ['1', 'T', 1073741824],
    ['1', 'TiB', 1073741824],
    ['1024', 'KB', 1000],
    ['1', 'MB', 976.5625],
    ['1', 'GB', 976563],
  ]
  for (const [value, unit, expected] of cases) {
    const u = unit === undefined ? '' : ` unit='${unit}'`
    const def = parseDomainXml(`<domain type='test'><name>m</name><memory${u}>${value}</memory><os><type>hvm</type></os></domain>`)
    t.is(def.memoryKiB, Math.ceil(expected), `${value} ${unit}`)
  }
  // currentMemory larger than memory is clamped, zero means "same as memory".
  const big = parseDomainXml(
    `<domain type='test'><name>m</name><memory>1024</memory><currentMemory>4096</currentMemory><os><type>hvm</type></os></domain>`,
  )
  t.is(big.currentMemoryKiB, 1024)
})

test('uuid forms: canonical, dashless, uppercase', (t) => {
  t.is(parseUuid('c7a5fdbd-edaf-9455-926a-d65c16db1809'), 'c7a5fdbd-edaf-9455-926a-d65c16db1809')
  t.is(parseUuid('C7A5FDBDEDAF9455926AD65C16DB1809'), 'c7a5fdbd-edaf-9455-926a-d65c16db1809')
  t.is(parseUuid(' c7a5fdbd-edaf-9455-926a-d65c16db1809 \n'), 'c7a5fdbd-edaf-9455-926a-d65c16db1809')
  t.is(parseUuid('c7a5fdbd-edaf-9455-926a-d65c16db180'), undefined)
  t.is(parseUuid('c7a5fdbd-edaf-9455-926a-d65c16db18090'), undefined)
  t.is(parseUuid('z7a5fdbd-edaf-9455-926a-d65c16db1809'), undefined)
  const err = domainError(t, `<domain type='test'><name>u</name><uuid>not-a-uuid</uuid><memory>1</memory><os><type>hvm</type></os></domain>`)
  t.is(err.code, ErrorCode.INTERNAL_ERROR)
  t.is(err.message, 'internal error: malformed uuid element')
})

test('error: missing or zero memory', (t) => {
  for (const mem of ['', '<memory>0</memory>']) {
    const err = domainError(t, `<domain type='test'><name>x</name>${mem}<os><type>hvm</type></os></domain>`)
    t.is(err.code, ErrorCode.XML_ERROR)
    t.is(err.domain, ErrorDomain.DOMAIN)
    t.is(err.message, 'XML error: Memory size must be specified via <memory> or in the <numa> configuration')
  }
  // NUMA cells can provide the size instead.
  const numa = parseDomainXml(
    `<domain type='test'><name>x</name><vcpu>2</vcpu><cpu><numa><cell id='0' cpus='0-1' memory='2' unit='MiB'/></numa></cpu><os><type>hvm</type></os></domain>`,
  )
  t.is(numa.memoryKiB, 2048)
})

test('error: missing or invalid name', (t) => {
  for (const name of ['', '<name></name>', '<name>  </name>']) {
    const err = domainError(t, `<domain type='test'>${name}<memory>1024</memory><os><type>hvm</type></os></domain>`)
    t.is(err.code, ErrorCode.NO_NAME)
    t.is(err.domain, ErrorDomain.DOMAIN)
    t.is(err.message, 'missing name information')
  }
  const err = domainError(t, `<domain type='test'><name>a/b</name><memory>1024</memory><os><type>hvm</type></os></domain>`)
  t.is(err.code, ErrorCode.XML_ERROR)
  t.is(err.message, "XML error: name a/b cannot contain '/'")
})

test('error: os type missing or unknown', (t) => {
  const err = domainError(t, `<domain type='test'><name>x</name><memory>1024</memory></domain>`)
  t.is(err.code, ErrorCode.XML_ERROR)
  t.is(err.message, 'XML error: an os <type> must be specified')
  const err2 = domainError(t, `<domain type='test'><name>x</name><memory>1024</memory><os><type>dos</type></os></domain>`)
  t.is(err2.code, ErrorCode.OS_TYPE)
  t.is(err2.message, 'unknown OS type dos')
})

test('error: wrong root element, missing/invalid domain type', (t) => {
  const err = domainError(t, `<network><name>x</name></network>`)
  t.is(err.code, ErrorCode.XML_ERROR)
  t.is(err.message, "XML error: expecting root element of 'domain', not 'network'")
  const err2 = domainError(t, `<domain><name>x</name><memory>1</memory><os><type>hvm</type></os></domain>`)
  t.is(err2.code, ErrorCode.INTERNAL_ERROR)
  t.is(err2.message, 'internal error: missing domain type attribute')
  const err3 = domainError(t, `<domain type='bogus'><name>x</name><memory>1</memory><os><type>hvm</type></os></domain>`)
  t.is(err3.message, 'internal error: invalid domain type bogus')
})

test('error: malformed XML uses the xml.ts error with the domain_definition name', (t) => {
  const err = domainError(t, `<domain type='test'>\n  <name>x</name>\n`)
  t.is(err.code, ErrorCode.XML_DETAIL)
  t.is(err.domain, ErrorDomain.DOMAIN)
  t.regex(err.message, /^\(domain_definition\):2: Premature end of data in tag domain line 1\n/)
  const custom = t.throws<VirError>(() => parseDomainXml('<domain', {docName: 'mine'}), {instanceOf: VirError})
  t.regex(custom.message, /^\(mine\):1: /)
})

test('error: bad vcpu counts, memory units, devices, lifecycle', (t) => {
  const wrap = (inner: string, mem = '<memory>1024</memory>') => `<domain type='test'><name>x</name>${mem}<os><type>hvm</type></os>${inner}</domain>`
  let err = domainError(t, wrap('<vcpu>two</vcpu>'))
  t.is(err.code, ErrorCode.XML_ERROR)
  t.is(err.message, 'XML error: maximum vcpus count must be an integer')
  err = domainError(t, wrap("<vcpu current='3'>2</vcpu>"))
  t.is(err.code, ErrorCode.INTERNAL_ERROR)
  t.regex(err.message, /maximum vCPU count must not be less than current vCPU count/)
  err = domainError(t, wrap('', "<memory unit='XB'>1</memory>"))
  t.is(err.code, ErrorCode.INVALID_ARG)
  t.is(err.message, "invalid argument: unknown suffix 'XB'")
  err = domainError(t, wrap('', '<memory>12abc</memory>'))
  t.is(err.code, ErrorCode.XML_ERROR)
  err = domainError(t, wrap("<devices><disk type='file'><source file='/x.img'/></disk></devices>"))
  t.is(err.code, 20) // VIR_ERR_NO_TARGET
  t.is(err.message, 'missing target information for device /x.img')
  err = domainError(t, wrap("<devices><interface type='user'><mac address='zz'/></interface></devices>"))
  t.is(err.message, "internal error: unable to parse mac address 'zz'")
  err = domainError(t, wrap('<on_reboot>explode</on_reboot>'))
  t.is(err.message, 'internal error: unknown on_reboot action: explode')
  err = domainError(t, wrap("<devices><disk type='floppy-ish'><target dev='fda'/></disk></devices>"))
  t.is(err.code, ErrorCode.XML_ERROR)
  t.is(err.message, "XML error: Invalid value for attribute 'type' in element 'disk': 'floppy-ish'.")
  err = domainError(t, `<domain type='test'><name>x</name><title>a\nb</title><memory>1</memory><os><type>hvm</type></os></domain>`)
  t.is(err.message, "XML error: Domain title can't contain newlines")
})

test('title and description text round-trips with special characters', (t) => {
  const def = parseDomainXml(MINIMAL_TEST)
  def.title = `It's <fine> & "ok"`
  def.description = 'multi\nline\n  description'
  const xml = formatDomainXml(def)
  t.true(xml.includes('<title>It&apos;s &lt;fine&gt; &amp; &quot;ok&quot;</title>'))
  const back = parseDomainXml(xml)
  t.is(back.title, def.title)
  t.is(back.description, def.description)
  assertValid(t, xml, 'domain')
})

test('1,000 domains parse and format quickly', (t) => {
  const docs = Array.from({length: 1000}, (_, i) => QEMU.replace('guest1', `guest${i}`).replace(/<uuid>.*<\/uuid>/, ''))
  const start = performance.now()
  const defs = docs.map((d) => parseDomainXml(d))
  const xmls = defs.map((d) => formatDomainXml(d))
  const ms = performance.now() - start
  t.is(new Set(defs.map((d) => d.uuid)).size, 1000)
  t.is(xmls.length, 1000)
  // About 1.3 s alone here; the bound catches a quadratic slip, with room for a loaded 2-core machine.
  t.true(ms < 15000, `took ${ms} ms`)
})

test('serializeXml of the kept root alone reproduces the input structure', (t) => {
  const def = parseDomainXml(WITH_UNKNOWN)
  const again = parseXml(serializeXml(def.root), 'again')
  t.deepEqual(again, def.root)
})
