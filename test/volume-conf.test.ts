// Volume XML, pool capabilities, and what a refresh reads from files: qcow2 headers (checked
// against images qemu-img makes), sparse allocation, iso, and parted's machine output.
import test from 'ava'
import {execFileSync} from 'node:child_process'
import {mkdtempSync, openSync, closeSync, ftruncateSync, writeSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {ErrorCode} from '../src/lib/errors.js'
import {formatVolXml, parseVolXml} from '../src/lib/conf/volume.js'
import {formatPoolCapabilities} from '../src/lib/conf/pool-caps.js'
import {parsePoolXml} from '../src/lib/conf/pool.js'
import {probeVolume} from '../src/lib/drivers/storage/probe.js'
import {parseParted, partName} from '../src/lib/drivers/storage/backend-disk.js'

const err = (fn: () => unknown) => {
  try {
    fn()
  } catch (e) {
    return e as {code: number; message: string}
  }
  throw new Error('no error')
}

test('volume XML: sizes with units, allocation defaulting to capacity, format and backing store', (t) => {
  const v = parseVolXml(
    "<volume><name>a</name><capacity unit='G'>2</capacity><target><format type='qcow2'/><permissions><mode>0640</mode></permissions></target><backingStore><path>/p/base</path><format type='raw'/></backingStore></volume>",
  )
  t.is(v.capacity, 2n << 30n)
  t.is(v.allocation, 2n << 30n)
  t.is(v.format, 'qcow2')
  t.is(v.perms?.mode, 0o640)
  t.deepEqual(v.backing, {path: '/p/base', format: 'raw'})
  t.is(parseVolXml("<volume><name>b</name><capacity>10</capacity><allocation unit='KiB'>0</allocation></volume>").allocation, 0n)
})

test("volume XML: libvirt's errors", (t) => {
  t.like(
    err(() => parseVolXml('<volume><name>x</name></volume>')),
    {code: ErrorCode.XML_ERROR, message: 'XML error: missing capacity element'},
  )
  t.like(
    err(() => parseVolXml('<volume><capacity>1</capacity></volume>')),
    {message: 'XML error: missing volume name element'},
  )
  t.like(
    err(() => parseVolXml('<volume><name>x</name><capacity>1M</capacity></volume>')),
    {message: 'XML error: malformed capacity element'},
  )
  t.like(
    err(() => parseVolXml("<volume><name>x</name><capacity unit='zz'>1</capacity></volume>")),
    {
      code: ErrorCode.INVALID_ARG,
      message: "invalid argument: unknown suffix 'zz'",
    },
  )
  t.like(
    err(() => parseVolXml('<pool/>')),
    {code: ErrorCode.XML_ERROR},
  )
  t.notThrows(() => parseVolXml('<volume><name>x</name></volume>', {optCapacity: true}))
})

test('volume XML is formatted as libvirt prints it', (t) => {
  const xml = formatVolXml({
    name: 'v',
    type: 'file',
    key: '/p/v',
    capacity: 10n,
    allocation: 4096n,
    physical: 10n,
    targetPath: '/p/v',
    format: 'raw',
    perms: {mode: 0o600, owner: 0, group: 0},
    timestamps: {atime: '1.000000001', mtime: '2.000000000', ctime: '3.000000000'},
  })
  t.is(
    xml,
    [
      "<volume type='file'>",
      '  <name>v</name>',
      '  <key>/p/v</key>',
      "  <capacity unit='bytes'>10</capacity>",
      "  <allocation unit='bytes'>4096</allocation>",
      "  <physical unit='bytes'>10</physical>",
      '  <target>',
      '    <path>/p/v</path>',
      "    <format type='raw'/>",
      '    <permissions>',
      '      <mode>0600</mode>',
      '      <owner>0</owner>',
      '      <group>0</group>',
      '    </permissions>',
      '    <timestamps>',
      '      <atime>1.000000001</atime>',
      '      <mtime>2.000000000</mtime>',
      '      <ctime>3.000000000</ctime>',
      '      <btime>0</btime>',
      '    </timestamps>',
      '  </target>',
      '</volume>',
      '',
    ].join('\n'),
  )
})

test('pool capabilities: the types this driver runs are supported, the rest are not', (t) => {
  const xml = formatPoolCapabilities(new Set(['dir', 'fs', 'disk']))
  t.regex(xml, /<pool type='dir' supported='yes'>/)
  t.regex(xml, /<pool type='disk' supported='yes'>/)
  for (const no of ['netfs', 'logical', 'iscsi', 'rbd', 'gluster', 'zfs']) t.regex(xml, new RegExp(`<pool type='${no}' supported='no'>`))
  t.regex(xml, /<enum name='targetFormatType'>\n {8}<value>none<\/value>\n {8}<value>raw<\/value>/)
})

test('pool XML keeps source devices and format (fs and disk pools)', (t) => {
  const p = parsePoolXml(
    "<pool type='fs'><name>f</name><source><device path='/dev/loop3'/><format type='ext4'/></source><target><path>/mnt/f</path></target></pool>",
  )
  t.deepEqual(p.sourceDevices, ['/dev/loop3'])
  t.is(p.sourceFormat, 'ext4')
})

test('refresh probe: qcow2 with its backing chain, sparse raw, iso', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vol-probe-'))
  t.teardown(() => rmSync(dir, {recursive: true, force: true}))
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', join(dir, 'base'), '1G'])
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', 'base', '-F', 'qcow2', join(dir, 'top'), '2G'])
  const top = await probeVolume(join(dir, 'top'))
  t.is(top?.format, 'qcow2')
  t.is(top?.capacity, 2n << 30n)
  t.is(top?.backing?.path, join(dir, 'base'))
  t.is(top?.backing?.format, 'qcow2')
  const fd = openSync(join(dir, 'sparse'), 'w')
  ftruncateSync(fd, 1 << 30)
  writeSync(fd, Buffer.alloc(4096, 1), 0, 4096, 0)
  closeSync(fd)
  const sparse = await probeVolume(join(dir, 'sparse'))
  t.is(sparse?.format, 'raw')
  t.is(sparse?.capacity, 1n << 30n)
  t.true((sparse?.allocation ?? 0n) < 1n << 20n, 'holes are not counted')
  const iso = openSync(join(dir, 'cd.iso'), 'w')
  writeSync(iso, Buffer.from('CD001'), 0, 5, 0x8001)
  ftruncateSync(iso, 0x10000)
  closeSync(iso)
  t.is((await probeVolume(join(dir, 'cd.iso')))?.format, 'iso')
  execFileSync('qemu-img', ['create', '-q', '-f', 'vmdk', join(dir, 'disk.vmdk'), '64M'])
  const vmdk = await probeVolume(join(dir, 'disk.vmdk'))
  t.is(vmdk?.format, 'vmdk', 'other formats through qemu-img info')
  t.is(vmdk?.capacity, 64n << 20n)
})

test("parted's machine output and partition names", (t) => {
  const out =
    'BYT;\n/dev/loop3:104857600B:loopback:512:512:msdos:Loopback device:;\n1:1048576B:11534335B:10485760B:::;\n2:11534336B:22020095B:10485760B:::;\n'
  const p = parseParted(out)
  t.is(p.size, 104857600n)
  t.is(p.label, 'msdos')
  t.deepEqual(
    p.parts.map((x) => [x.num, x.start, x.size]),
    [
      [1, 1048576n, 10485760n],
      [2, 11534336n, 10485760n],
    ],
  )
  t.is(partName('/dev/loop3', 2), 'loop3p2')
  t.is(partName('/dev/sdb', 1), 'sdb1')
})
