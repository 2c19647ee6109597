import {spawnSync} from 'node:child_process'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import test, {type ExecutionContext} from 'ava'

import {ErrorCode, ErrorDomain, VirError} from '../src/lib/errors.js'
import {type NetworkDef, formatNetworkXml, parseNetworkXml} from '../src/lib/conf/network.js'
import {type PoolDef, formatPoolXml, parsePoolXml} from '../src/lib/conf/pool.js'
import {attr, child, parseXml, textOf} from '../src/lib/conf/xml.js'

const tmp = mkdtempSync(join(tmpdir(), 'vctl-conf-netpool-'))
test.after.always(() => rmSync(tmp, {recursive: true, force: true}))

let fileNo = 0
function assertValid(t: ExecutionContext, xml: string, schema: string): void {
  const file = join(tmp, `doc-${fileNo++}.xml`)
  writeFileSync(file, xml)
  const r = spawnSync('/usr/bin/virt-xml-validate', [file, schema], {encoding: 'utf8'})
  t.is(r.status, 0, `virt-xml-validate ${schema} failed:\n${r.stdout}${r.stderr}\n--- document ---\n${xml}`)
}

function typed(def: NetworkDef | PoolDef): unknown {
  return JSON.parse(JSON.stringify(def, (k, v: unknown) => (k === 'root' || k === 'xml' ? undefined : v))) as unknown
}

const NAT_NETWORK = `<network>
  <name>default</name>
  <uuid>9a05da11-e96b-47f3-8253-a3a482e445f5</uuid>
  <forward mode='nat'>
    <nat><port start='1024' end='65535'/></nat>
  </forward>
  <bridge name='virbr0' stp='on' delay='0'/>
  <mac address='52:54:00:0a:cd:21'/>
  <domain name='example.test'/>
  <dns><host ip='192.168.122.2'><hostname>gw</hostname></host></dns>
  <ip address='192.168.122.1' netmask='255.255.255.0'>
    <dhcp>
      <range start='192.168.122.2' end='192.168.122.254'/>
      <host mac='52:54:00:00:00:01' name='fixed' ip='192.168.122.10'/>
    </dhcp>
  </ip>
  <ip family='ipv6' address='fd00:1::1' prefix='64'>
    <dhcp><range start='fd00:1::100' end='fd00:1::1ff'/></dhcp>
  </ip>
</network>`

test('NAT network: parse, format, validate, round trip', (t) => {
  const def = parseNetworkXml(NAT_NETWORK)
  t.is(def.name, 'default')
  t.is(def.uuid, '9a05da11-e96b-47f3-8253-a3a482e445f5')
  t.deepEqual(def.forward, {mode: 'nat', dev: undefined})
  t.deepEqual(def.bridge, {name: 'virbr0', stp: true, delay: 0})
  t.is(def.ips.length, 2)
  t.deepEqual(
    def.ips.map(({xml: _xml, ...ip}) => ip),
    [
      {
        address: '192.168.122.1',
        netmask: '255.255.255.0',
        prefix: undefined,
        family: undefined,
        dhcpRanges: [{start: '192.168.122.2', end: '192.168.122.254'}],
      },
      {address: 'fd00:1::1', netmask: undefined, prefix: 64, family: 'ipv6', dhcpRanges: [{start: 'fd00:1::100', end: 'fd00:1::1ff'}]},
    ],
  )
  const xml = formatNetworkXml(def)
  assertValid(t, xml, 'network')
  const again = parseNetworkXml(xml)
  t.deepEqual(typed(again), typed(def))
  t.is(formatNetworkXml(again), xml)
  // Unmodelled parts survive.
  const root = parseXml(xml, 'out')
  t.is(attr(child(child(child(root, 'forward'), 'nat'), 'port'), 'start'), '1024')
  t.is(attr(child(root, 'mac'), 'address'), '52:54:00:0a:cd:21')
  t.is(attr(child(root, 'domain'), 'name'), 'example.test')
  t.is(textOf(child(child(child(root, 'dns'), 'host'), 'hostname')), 'gw')
  t.is(attr(child(child(child(root, 'ip'), 'dhcp'), 'host'), 'name'), 'fixed')
  t.true(xml.startsWith("<network>\n  <name>default</name>\n  <uuid>9a05da11-e96b-47f3-8253-a3a482e445f5</uuid>\n  <forward mode='nat'>\n"))
})

test('isolated and bridged networks; bridge defaults like libvirt', (t) => {
  const iso = parseNetworkXml(`<network><name>isolated</name><ip address='10.0.0.1' prefix='24'/></network>`)
  t.is(iso.forward, undefined)
  t.deepEqual(iso.bridge, {name: undefined, stp: true, delay: 0})
  t.regex(iso.uuid, /^[0-9a-f-]{36}$/)
  const isoXml = formatNetworkXml(iso)
  t.true(isoXml.includes("<bridge stp='on' delay='0'/>"))
  assertValid(t, isoXml, 'network')

  const br = parseNetworkXml(`<network><name>host-bridge</name><forward mode='bridge'/><bridge name='br0'/></network>`)
  t.deepEqual(br.forward, {mode: 'bridge', dev: undefined})
  t.deepEqual(br.bridge, {name: 'br0', stp: undefined, delay: undefined})
  t.true(formatNetworkXml(br).includes("<bridge name='br0'/>"))
  assertValid(t, formatNetworkXml(br), 'network')

  const pt = parseNetworkXml(`<network><name>pt</name><forward mode='passthrough'><interface dev='eth1'/></forward></network>`)
  t.is(pt.bridge, undefined)
  const ptXml = formatNetworkXml(pt)
  t.true(ptXml.includes("<interface dev='eth1'/>"))
  assertValid(t, ptXml, 'network')
})

test('network typed edits are reflected', (t) => {
  const def = parseNetworkXml(NAT_NETWORK)
  def.forward = {mode: 'route', dev: 'eth0'}
  def.bridge = {name: 'virbr9', stp: false, delay: 2}
  def.ips[0].dhcpRanges = [{start: '192.168.122.100', end: '192.168.122.200'}]
  def.ips.pop()
  const xml = formatNetworkXml(def)
  assertValid(t, xml, 'network')
  t.true(xml.includes("<forward mode='route' dev='eth0'>"))
  t.true(xml.includes("<bridge name='virbr9' stp='off' delay='2'/>"))
  t.true(xml.includes("<range start='192.168.122.100' end='192.168.122.200'/>"))
  t.false(xml.includes('fd00'))
  // The dhcp host entry is kept with the edited range.
  t.true(xml.includes("<host mac='52:54:00:00:00:01' name='fixed' ip='192.168.122.10'/>"))
})

test('network errors are in the NETWORK domain', (t) => {
  const cases: [string, number, string, number?][] = [
    ['<network><name>x</name>', ErrorCode.XML_DETAIL, '(network_definition):1: Premature end of data in tag network line 1'],
    ['<domain/>', ErrorCode.XML_ERROR, "XML error: expecting root element of 'network', not 'domain'"],
    ['<network/>', ErrorCode.NO_NAME, 'missing name information'],
    // libvirt's name check reports in the XML domain.
    ['<network><name>a/b</name></network>', ErrorCode.XML_DETAIL, 'invalid char in name: /', ErrorDomain.XML],
    ['<network><name>n</name><uuid>xyz</uuid></network>', ErrorCode.INTERNAL_ERROR, 'internal error: malformed uuid element'],
    [
      "<network><name>n</name><forward mode='teleport'/></network>",
      ErrorCode.CONFIG_UNSUPPORTED,
      "unsupported configuration: unknown forwarding type 'teleport'",
    ],
    ["<network><name>n</name><bridge delay='soon'/></network>", ErrorCode.XML_ERROR, "XML error: Invalid delay value in network 'n'"],
    [
      '<network><name>n</name><ip netmask="255.0.0.0"/></network>',
      ErrorCode.XML_ERROR,
      "XML error: Missing required address attribute in network 'n'",
    ],
    ['<network><name>n</name><ip address="300.1.1.1"/></network>', ErrorCode.XML_ERROR, "XML error: Invalid address '300.1.1.1' in network 'n'"],
    [
      '<network><name>n</name><ip address="10.0.0.1" netmask="255.0.255.0"/></network>',
      ErrorCode.XML_ERROR,
      "XML error: Invalid netmask '255.0.255.0' in network 'n'",
    ],
    [
      '<network><name>n</name><ip address="10.0.0.1" netmask="255.0.0.0" prefix="8"/></network>',
      ErrorCode.XML_ERROR,
      "XML error: Network 'n' IP address cannot have both a prefix and a netmask",
    ],
    [
      '<network><name>n</name><ip address="10.0.0.1" prefix="8"><dhcp><range end="10.0.0.9"/></dhcp></ip></network>',
      ErrorCode.XML_ERROR,
      "XML error: Missing 'start' attribute in dhcp range for network 'n'",
    ],
  ]
  for (const [xml, code, message, domain] of cases) {
    const err = t.throws<VirError>(() => parseNetworkXml(xml), {instanceOf: VirError})
    t.is(err.domain, domain ?? ErrorDomain.NETWORK, xml)
    t.is(err.code, code, xml)
    t.true(err.message.startsWith(message), `${xml}: ${err.message}`)
  }
})

const DIR_POOL = `<pool type='dir'>
  <name>default</name>
  <uuid>35bb2ad9-388a-cdfe-461a-b8907f6e53fe</uuid>
  <capacity unit='GiB'>100</capacity>
  <allocation unit='MiB'>1</allocation>
  <available>107373133824</available>
  <source/>
  <target>
    <path>/var/lib/libvirt/images</path>
    <permissions><mode>0711</mode><owner>0</owner><group>0</group></permissions>
  </target>
</pool>`

test('dir pool: parse (sizes to bytes), format, validate, round trip', (t) => {
  const def = parsePoolXml(DIR_POOL)
  t.is(def.type, 'dir')
  t.is(def.name, 'default')
  t.is(def.uuid, '35bb2ad9-388a-cdfe-461a-b8907f6e53fe')
  t.is(def.capacity, 100 * 1024 ** 3)
  t.is(def.allocation, 1024 ** 2)
  t.is(def.available, 107373133824)
  t.is(def.targetPath, '/var/lib/libvirt/images')
  const xml = formatPoolXml(def)
  t.is(
    xml,
    [
      "<pool type='dir'>",
      '  <name>default</name>',
      '  <uuid>35bb2ad9-388a-cdfe-461a-b8907f6e53fe</uuid>',
      "  <capacity unit='bytes'>107374182400</capacity>",
      "  <allocation unit='bytes'>1048576</allocation>",
      "  <available unit='bytes'>107373133824</available>",
      '  <source>',
      '  </source>',
      '  <target>',
      '    <path>/var/lib/libvirt/images</path>',
      '    <permissions>',
      '      <mode>0711</mode>',
      '      <owner>0</owner>',
      '      <group>0</group>',
      '    </permissions>',
      '  </target>',
      '</pool>',
      '',
    ].join('\n'),
  )
  assertValid(t, xml, 'storagepool')
  t.deepEqual(typed(parsePoolXml(xml)), typed(def))

  def.capacity = 5
  def.allocation = 2
  def.available = 3
  def.targetPath = '/srv/images'
  const edited = formatPoolXml(def)
  assertValid(t, edited, 'storagepool')
  const back = parsePoolXml(edited)
  t.deepEqual([back.capacity, back.allocation, back.available, back.targetPath], [5, 2, 3, '/srv/images'])
})

test('minimal pools get defaults and validate', (t) => {
  const dir = parsePoolXml(`<pool type='dir'><name>p</name><target><path>/tmp/p</path></target></pool>`)
  t.deepEqual([dir.capacity, dir.allocation, dir.available], [0, 0, 0])
  t.regex(dir.uuid, /^[0-9a-f-]{36}$/)
  assertValid(t, formatPoolXml(dir), 'storagepool')

  const logical = parsePoolXml(
    `<pool type='logical'><name>vg</name><source><device path='/dev/sdb1'/><name>vg</name><format type='lvm2'/></source><target><path>/dev/vg</path></target></pool>`,
  )
  const xml = formatPoolXml(logical)
  t.true(xml.includes("<device path='/dev/sdb1'/>"))
  assertValid(t, xml, 'storagepool')
})

test('pool errors are in the STORAGE domain', (t) => {
  const cases: [string, number, string][] = [
    ["<pool type='dir'>", ErrorCode.XML_DETAIL, '(pool_definition):1: Premature end of data in tag pool line 1'],
    ['<network/>', ErrorCode.XML_ERROR, "XML error: expecting root element of 'pool', not 'network'"],
    ['<pool><name>p</name></pool>', ErrorCode.XML_ERROR, "XML error: Missing required attribute 'type' in element 'pool'"],
    ["<pool type='floppy'><name>p</name></pool>", ErrorCode.XML_ERROR, "XML error: Invalid value for attribute 'type' in element 'pool': 'floppy'."],
    ["<pool type='dir'><target><path>/x</path></target></pool>", ErrorCode.XML_ERROR, 'XML error: missing pool source name element'],
    ["<pool type='dir'><name>a/b</name><target><path>/x</path></target></pool>", ErrorCode.XML_ERROR, "XML error: name a/b cannot contain '/'"],
    ["<pool type='dir'><name>p</name></pool>", ErrorCode.XML_ERROR, 'XML error: missing storage pool target path'],
    [
      "<pool type='dir'><name>p</name><uuid>1</uuid><target><path>/x</path></target></pool>",
      ErrorCode.INTERNAL_ERROR,
      'internal error: malformed uuid element',
    ],
    [
      "<pool type='dir'><name>p</name><capacity unit='parsec'>1</capacity><target><path>/x</path></target></pool>",
      ErrorCode.INVALID_ARG,
      "invalid argument: unknown suffix 'parsec'",
    ],
  ]
  for (const [xml, code, message] of cases) {
    const err = t.throws<VirError>(() => parsePoolXml(xml), {instanceOf: VirError})
    t.is(err.domain, ErrorDomain.STORAGE, xml)
    t.is(err.code, code, xml)
    t.true(err.message.startsWith(message), `${xml}: ${err.message}`)
  }
})
