// Host interfaces (virtinterfaced, interface:///system, and libvirtd): real virsh against vctl in a
// network namespace the test owns (a veth pair, a bridge with one of them as its port, a tap),
// compared with what Debian's libvirtd 9.0 prints for the same kind of namespace.
import test from 'ava'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {BIN, python, virsh} from './helpers/daemon.js'
import {netnsDaemon, nsExec, realLibvirtd, type NetnsDaemon} from './helpers/netns.js'

let d: NetnsDaemon
let uri: string
let libvirtdUri: string

const LO_XML = `<interface type='ethernet' name='lo'>
  <mtu size='65536'/>
  <link state='unknown'/>
  <mac address='00:00:00:00:00:00'/>
</interface>
`

test.before(async () => {
  d = await netnsDaemon('if', ['--driver', 'interface'])
  const setup = [
    ['link', 'add', 'ifa0', 'type', 'veth', 'peer', 'name', 'ifa1'],
    ['link', 'set', 'ifa0', 'address', '02:00:00:00:0a:00'],
    ['link', 'set', 'ifa1', 'address', '02:00:00:00:0a:01', 'mtu', '1400'],
    ['link', 'add', 'ifbr0', 'type', 'bridge'],
    ['link', 'set', 'ifbr0', 'address', '02:00:00:00:0b:00'],
    ['link', 'set', 'ifa1', 'master', 'ifbr0'],
    ['link', 'set', 'ifa0', 'up'],
    ['link', 'set', 'ifa1', 'up'],
    ['link', 'set', 'ifbr0', 'up'],
    ['tuntap', 'add', 'iftap0', 'mode', 'tap'],
    ['link', 'add', 'ifdown0', 'type', 'veth', 'peer', 'name', 'ifdown1'],
    ['link', 'set', 'ifdown0', 'address', '02:00:00:00:0c:00'],
    ['link', 'set', 'ifdown1', 'address', '02:00:00:00:0c:01'],
  ]
  for (const args of setup) {
    const r = await nsExec(d.ns, 'ip', args)
    if (r.code !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`)
  }
  // The bridge reports "up" once its port forwards (forward delay 0 makes that immediate).
  await nsExec(d.ns, 'ip', ['link', 'set', 'ifbr0', 'type', 'bridge', 'forward_delay', '0'])
  await d.start()
  uri = `interface:///system?socket=${d.sock}`
  const r = await nsExec(d.ns, process.execPath, [BIN, 'daemon', 'start', '--root', join(d.root, 'mono'), '-d'], 120000)
  if (r.code !== 0) throw new Error(r.stderr)
  libvirtdUri = `qemu:///system?socket=${join(d.root, 'mono/run/libvirt/libvirt-sock')}`
})

test.after.always(async () => {
  await d?.cleanup()
})

const waitUp = async (name: string) => {
  for (let i = 0; i < 600; i++) {
    if ((await nsExec(d.ns, 'cat', [`/sys/class/net/${name}/operstate`])).stdout.trim() === 'up') return
    await new Promise((r) => setTimeout(r, 100))
  }
}

test.serial('iface-list --all: no bridge ports, no taps; active means operstate up', async (t) => {
  await waitUp('ifbr0')
  const r = await virsh(uri, ['iface-list', '--all'])
  t.is(r.code, 0, r.stderr)
  const rows = r.stdout
    .split('\n')
    .slice(2)
    .map((l) => l.trim().split(/\s+/))
    .filter((c) => c.length === 3 && !c[0].startsWith('virbr')) // libvirtd's default network, started in the same namespace
  t.deepEqual(rows, [
    ['ifa0', 'active', '02:00:00:00:0a:00'],
    ['ifbr0', 'active', '02:00:00:00:0b:00'],
    ['ifdown0', 'inactive', '02:00:00:00:0c:00'],
    ['ifdown1', 'inactive', '02:00:00:00:0c:01'],
    ['lo', 'inactive', '00:00:00:00:00:00'],
  ])
  // The older calls: active = up; inactive = exactly "down" (lo's "unknown" is neither).
  const names = (args: string[]) =>
    virsh(uri, args).then((x) =>
      x.stdout
        .split('\n')
        .slice(2)
        .map((l) => l.trim().split(/\s+/)[0])
        .filter((n) => n && !n.startsWith('virbr')),
    )
  t.deepEqual(await names(['iface-list']), ['ifa0', 'ifbr0'])
  t.deepEqual(await names(['iface-list', '--inactive']), ['ifdown0', 'ifdown1', 'lo'])
  const py = await python(`import libvirt
c = libvirt.open(${JSON.stringify(uri)})
d = [n for n in c.listDefinedInterfaces() if not n.startswith('virbr')]
print(c.numOfInterfaces(), sorted(c.listInterfaces()), len(d), sorted(d))`)
  t.is(py.stdout.trim(), "2 ['ifa0', 'ifbr0'] 2 ['ifdown0', 'ifdown1']", py.stderr)
})

test.serial('iface-dumpxml: ethernet, loopback, a bridge with its port', async (t) => {
  t.is((await virsh(uri, ['iface-dumpxml', 'lo'])).stdout, LO_XML + '\n')
  t.is(
    (await virsh(uri, ['iface-dumpxml', 'ifdown0'])).stdout,
    `<interface type='ethernet' name='ifdown0'>
  <mtu size='1500'/>
  <link state='down'/>
  <mac address='02:00:00:00:0c:00'/>
</interface>

`,
  )
  t.is(
    (await virsh(uri, ['iface-dumpxml', 'ifbr0'])).stdout,
    `<interface type='bridge' name='ifbr0'>
  <mtu size='1400'/>
  <bridge stp='off' delay='0'>
    <interface type='ethernet' name='ifa1'>
      <link speed='10000' state='up'/>
      <mac address='02:00:00:00:0a:01'/>
    </interface>
  </bridge>
</interface>

`,
  )
  // A bridge port is not listed but can be looked up and dumped by name.
  t.regex((await virsh(uri, ['iface-dumpxml', 'ifa1'])).stdout, /^<interface type='ethernet' name='ifa1'>\n {2}<mtu size='1400'\/>/)
  t.is((await virsh(uri, ['iface-dumpxml', '--inactive', 'lo'])).stdout, LO_XML + '\n')
})

test.serial('iface-mac, iface-name, lookups that fail', async (t) => {
  t.is((await virsh(uri, ['iface-mac', 'ifa0'])).stdout.trim(), '02:00:00:00:0a:00')
  t.is((await virsh(uri, ['iface-name', '02:00:00:00:0b:00'])).stdout.trim(), 'ifbr0')
  // The port ifa1 shares nothing with the listed interfaces: its MAC is not found (ports are left out).
  const port = await virsh(uri, ['iface-name', '02:00:00:00:0a:01'])
  t.regex(port.stderr, /Interface not found: couldn't find interface with MAC address '02:00:00:00:0a:01'/)
  const none = await virsh(uri, ['iface-dumpxml', 'nope0'])
  t.not(none.code, 0)
  t.regex(none.stderr, /Interface not found: couldn't find interface named 'nope0'/)
  const tap = await virsh(uri, ['iface-mac', 'iftap0'])
  t.is(tap.code, 0, 'a tap is not listed but exists')
})

test.serial('define, start, destroy, undefine and transactions are refused as by the udev backend', async (t) => {
  const file = join(d.root, 'x0.xml')
  writeFileSync(file, "<interface type='ethernet' name='x0'><mac address='02:00:00:00:00:09'/></interface>")
  const py = await python(`import libvirt
libvirt.registerErrorHandler(lambda *a: None, None)
c = libvirt.open(${JSON.stringify(uri)})
i = c.interfaceLookupByName('lo')
for f in (lambda: c.interfaceDefineXML(open(${JSON.stringify(file)}).read()), i.undefine, i.create, i.destroy, c.changeBegin, c.changeCommit, c.changeRollback,
          lambda: c.listAllInterfaces(4), lambda: i.XMLDesc(2), lambda: c.interfaceLookupByName('nope0')):
    try:
        f()
        print('ok')
    except libvirt.libvirtError as e:
        print(e.get_error_code(), e.get_error_domain(), e.get_str1(), '|', e.get_str2())
print(i.isActive(), c.interfaceLookupByName('ifa0').isActive())`)
  t.is(py.code, 0, py.stderr)
  const ns = 'this function is not supported by the connection driver: %s |'
  t.deepEqual(py.stdout.trim().split('\n'), [
    `3 26 ${ns} virInterfaceDefineXML`,
    `3 26 ${ns} virInterfaceUndefine`,
    `3 26 ${ns} virInterfaceCreate`,
    `3 26 ${ns} virInterfaceDestroy`,
    `3 26 ${ns} virInterfaceChangeBegin`,
    `3 26 ${ns} virInterfaceChangeCommit`,
    `3 26 ${ns} virInterfaceChangeRollback`,
    '8 26 invalid argument: %s | unsupported flags (0x4) in function udevConnectListAllInterfaces',
    '8 26 invalid argument: %s | unsupported flags (0x2) in function udevInterfaceGetXMLDesc',
    "57 26 Interface not found: %s | couldn't find interface named 'nope0'",
    '0 1',
  ])
  const begin = await virsh(uri, ['iface-begin'])
  t.regex(begin.stderr, /this function is not supported by the connection driver: virInterfaceChangeBegin/)
})

test.serial('read-only connections list and read; changes are denied in the interface error domain', async (t) => {
  const list = await virsh(uri, ['iface-list', '--all'], {readonly: true})
  t.is(list.code, 0, list.stderr)
  t.regex(list.stdout, /ifbr0\s+active/)
  t.is((await virsh(uri, ['iface-dumpxml', 'lo'], {readonly: true})).stdout, LO_XML + '\n')
  const py = await python(`import libvirt
libvirt.registerErrorHandler(lambda *a: None, None)
c = libvirt.openReadOnly(${JSON.stringify(uri)})
for f in (c.changeBegin, c.interfaceLookupByName('lo').create):
    try:
        f()
    except libvirt.libvirtError as e:
        print(e.get_error_code(), e.get_error_domain(), e.get_str2())`)
  t.deepEqual(py.stdout.trim().split('\n'), [
    '29 26 read only access prevents virInterfaceChangeBegin',
    '29 26 read only access prevents virInterfaceCreate',
  ])
})

test.serial('libvirtd serves the same interfaces on qemu:///system', async (t) => {
  t.is((await virsh(libvirtdUri, ['iface-dumpxml', 'lo'])).stdout, LO_XML + '\n')
  t.is((await virsh(libvirtdUri, ['iface-mac', 'ifbr0'])).stdout.trim(), '02:00:00:00:0b:00')
  t.regex((await virsh(libvirtdUri, ['iface-list', '--all'])).stdout, /ifa0\s+active\s+02:00:00:00:0a:00/)
})

test.serial('real libvirtd 9.0 prints the same for lo in a fresh namespace', async (t) => {
  const real = await realLibvirtd('ifr')
  try {
    const fresh = await netnsDaemon('ifv', ['--driver', 'interface'])
    try {
      await fresh.start()
      const mine = `interface:///system?socket=${fresh.sock}`
      for (const args of [
        ['iface-list', '--all'],
        ['iface-dumpxml', 'lo'],
        ['iface-mac', 'lo'],
        ['iface-name', '00:00:00:00:00:00'],
      ]) {
        const a = await virsh(real.uri, args)
        const b = await virsh(mine, args)
        t.is(b.stdout, a.stdout, args.join(' '))
        t.is(b.code, a.code)
      }
    } finally {
      await fresh.cleanup()
    }
  } finally {
    await real.cleanup()
  }
})
