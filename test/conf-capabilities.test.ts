import {spawnSync} from 'node:child_process'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import test, {type ExecutionContext} from 'ava'

import {type HostCapabilities, formatCapabilities} from '../src/lib/conf/capabilities.js'
import {attr, child, childrenNamed, parseXml, textOf} from '../src/lib/conf/xml.js'

const tmp = mkdtempSync(join(tmpdir(), 'vctl-conf-caps-'))
test.after.always(() => rmSync(tmp, {recursive: true, force: true}))

let fileNo = 0
function assertValid(t: ExecutionContext, xml: string): void {
  const file = join(tmp, `caps-${fileNo++}.xml`)
  writeFileSync(file, xml)
  const r = spawnSync('/usr/bin/virt-xml-validate', [file, 'capability'], {encoding: 'utf8'})
  t.is(r.status, 0, `virt-xml-validate capability failed:\n${r.stdout}${r.stderr}\n--- document ---\n${xml}`)
}

const TEST_HOST: HostCapabilities = {
  hostUuid: 'd5b7e1b0-a9c4-4d3f-8a4e-7e0a4b1c2d3e',
  arch: 'i686',
  topology: {sockets: 2, cores: 2, threads: 2},
  cells: [
    {id: 0, memoryKiB: 1572864, cpus: [0, 1, 2, 3, 4, 5, 6, 7]},
    {id: 1, memoryKiB: 1572864, cpus: [8, 9, 10, 11, 12, 13, 14, 15]},
  ],
  secModels: [],
  guests: [
    {
      osType: 'hvm',
      arch: 'i686',
      wordsize: 32,
      emulator: '/usr/bin/test-hv',
      machines: [{name: 'i440fx'}],
      domains: [{type: 'test'}],
      features: ['pae', 'nonpae'],
    },
    {osType: 'hvm', arch: 'x86_64', wordsize: 64, emulator: '/usr/bin/test-hv', machines: [{name: 'pc'}], domains: [{type: 'test'}]},
  ],
}

test('test-driver style capabilities: layout and schema validity', (t) => {
  const xml = formatCapabilities(TEST_HOST)
  assertValid(t, xml)
  t.true(xml.startsWith('<capabilities>\n\n  <host>\n    <uuid>d5b7e1b0-a9c4-4d3f-8a4e-7e0a4b1c2d3e</uuid>\n'))
  t.true(xml.includes('  </host>\n\n  <guest>\n'))
  t.true(xml.endsWith('  </guest>\n\n</capabilities>\n'))

  const root = parseXml(xml, 'caps')
  const host = child(root, 'host')
  const cpu = child(host, 'cpu')
  t.is(textOf(child(cpu, 'arch')), 'i686')
  t.deepEqual(child(cpu, 'topology')?.attrs, [
    ['sockets', '2'],
    ['dies', '1'],
    ['cores', '2'],
    ['threads', '2'],
  ])
  const cells = child(child(host, 'topology'), 'cells')
  t.is(attr(cells, 'num'), '2')
  const cell1 = childrenNamed(cells, 'cell')[1]
  t.is(attr(cell1, 'id'), '1')
  t.is(textOf(child(cell1, 'memory')), '1572864')
  t.is(attr(child(cell1, 'memory'), 'unit'), 'KiB')
  t.is(attr(child(cell1, 'cpus'), 'num'), '8')
  t.deepEqual(
    childrenNamed(child(cell1, 'cpus'), 'cpu').map((c) => attr(c, 'id')),
    ['8', '9', '10', '11', '12', '13', '14', '15'],
  )
  t.deepEqual(childrenNamed(host, 'secmodel'), [])

  const guests = childrenNamed(root, 'guest')
  t.is(guests.length, 2)
  t.is(textOf(child(guests[0], 'os_type')), 'hvm')
  const arch = child(guests[0], 'arch')
  t.is(attr(arch, 'name'), 'i686')
  t.is(textOf(child(arch, 'wordsize')), '32')
  t.is(textOf(child(arch, 'emulator')), '/usr/bin/test-hv')
  t.is(textOf(child(arch, 'machine')), 'i440fx')
  t.is(attr(child(arch, 'domain'), 'type'), 'test')
  t.deepEqual(
    child(guests[0], 'features')?.children.map((c) => (c.kind === 'element' ? c.name : '')),
    ['pae', 'nonpae'],
  )
  t.is(child(guests[1], 'features'), undefined)
})

test('full host: cpu model/vendor/features, pages, migration, secmodels, qemu/kvm guests', (t) => {
  const caps: HostCapabilities = {
    hostUuid: '4c4c4544-0044-3510-8052-b4c04f4e3732',
    arch: 'x86_64',
    cpuModel: 'Skylake-Client-IBRS',
    cpuVendor: 'Intel',
    cpuFeatures: ['vmx', 'ssbd'],
    topology: {sockets: 1, dies: 1, cores: 4, threads: 2},
    pageSizesKiB: [4, 2048, 1048576],
    iommu: true,
    migrationTransports: ['tcp', 'rdma'],
    cells: [{id: 0, memoryKiB: 16303944, cpus: [0, 1, 2, 3, 4, 5, 6, 7]}],
    secModels: [
      {model: 'apparmor', doi: '0'},
      {model: 'dac', doi: '0'},
    ],
    guests: [
      {
        osType: 'hvm',
        arch: 'x86_64',
        wordsize: 64,
        emulator: '/usr/bin/qemu-system-x86_64',
        machines: [
          {name: 'pc-i440fx-7.2', maxCpus: 255},
          {name: 'pc', canonical: 'pc-i440fx-7.2', maxCpus: 255},
          {name: 'q35', canonical: 'pc-q35-7.2', maxCpus: 288},
        ],
        domains: [{type: 'qemu'}, {type: 'kvm', emulator: '/usr/bin/kvm'}],
        features: ['acpi', 'apic', 'cpuselection', 'deviceboot', 'disksnapshot', {name: 'hap', default: 'off', toggle: true}],
      },
      {osType: 'exe', arch: 'x86_64', wordsize: 64, machines: [], domains: [{type: 'lxc'}]},
    ],
  }
  const xml = formatCapabilities(caps)
  assertValid(t, xml)
  t.true(xml.includes("<machine canonical='pc-i440fx-7.2' maxCpus='255'>pc</machine>"))
  t.true(xml.includes("<machine maxCpus='255'>pc-i440fx-7.2</machine>"))
  t.true(xml.includes("<acpi default='on' toggle='yes'/>"))
  t.true(xml.includes("<apic default='on' toggle='no'/>"))
  t.true(xml.includes("<disksnapshot default='on' toggle='no'/>"))
  t.true(xml.includes("<hap default='off' toggle='yes'/>"))
  t.true(xml.includes("<iommu support='yes'/>"))
  t.true(xml.includes('<uri_transport>rdma</uri_transport>'))
  t.true(xml.includes("<pages unit='KiB' size='1048576'/>"))
  t.true(xml.includes("<domain type='kvm'>\n        <emulator>/usr/bin/kvm</emulator>\n      </domain>"))
  const root = parseXml(xml, 'caps')
  const host = child(root, 'host')
  t.deepEqual(
    childrenNamed(host, 'secmodel').map((s) => [textOf(child(s, 'model')), textOf(child(s, 'doi'))]),
    [
      ['apparmor', '0'],
      ['dac', '0'],
    ],
  )
  t.is(textOf(child(child(host, 'cpu'), 'model')), 'Skylake-Client-IBRS')
  t.is(textOf(child(child(host, 'cpu'), 'vendor')), 'Intel')
  t.deepEqual(
    childrenNamed(child(host, 'cpu'), 'feature').map((f) => attr(f, 'name')),
    ['vmx', 'ssbd'],
  )
})

test('host without NUMA cells or guests still validates', (t) => {
  const xml = formatCapabilities({
    hostUuid: '00000000-0000-0000-0000-000000000001',
    arch: 'aarch64',
    secModels: [{model: 'none', doi: '0'}],
    guests: [],
  })
  assertValid(t, xml)
  const root = parseXml(xml, 'caps')
  t.is(child(child(root, 'host'), 'topology'), undefined)
  t.deepEqual(childrenNamed(root, 'guest'), [])
  t.true(xml.endsWith('  </host>\n\n</capabilities>\n'))
})
