// The test driver's host interfaces and node devices as libvirt's own test driver (test:///default, in
// process) has them: the same libvirt-python calls against both give the same answers and errors (lists
// compared sorted: libvirt lists them in hash order). On the real host, node-device create/define/destroy
// and the SCSI-host WWN lookup answer as real libvirtd 9.0 does.
import test from 'ava'
import {python, startDaemon, type TestDaemon} from './helpers/daemon.js'
import {startRealLibvirtd} from './helpers/real-libvirtd.js'

const PRELUDE = 'import libvirt, sys\n'

const IFACE_SCRIPT = `libvirt.registerErrorHandler(lambda *a: None, None)
c=libvirt.open(sys.argv[1])
def tr(f):
    try: r=f(); print('OK', r if not hasattr(r,'name') else r.name())
    except libvirt.libvirtError as e: print('ERR', e.get_error_code(), e.get_error_domain(), e)
tr(lambda: c.interfaceLookupByName('nope'))
tr(lambda: c.interfaceLookupByMACString('00:11:22:33:44:55'))
i=c.interfaceLookupByName('eth1')
print(i.XMLDesc(0))
tr(lambda: i.create(0))
tr(lambda: c.changeCommit(0))
tr(lambda: c.changeRollback(0))
tr(lambda: c.changeBegin(0))
tr(lambda: c.changeBegin(0))
x="<interface type='bridge' name='br0'><start mode='onboot'/><protocol family='ipv4'><dhcp peerdns='no'/></protocol><bridge stp='off' delay='0.01'><interface type='ethernet' name='eth9'><mac address='ab:bb:cc:dd:ee:01'/></interface></bridge></interface>"
tr(lambda: c.interfaceDefineXML(x,0))
b=c.interfaceLookupByName('br0')
print(b.MACString(), b.isActive(), sorted(i.name() for i in c.listAllInterfaces(0)), c.listDefinedInterfaces(), c.listInterfaces())
print(b.XMLDesc(0))
tr(lambda: b.destroy(0))
tr(lambda: b.create(0))
print(b.isActive())
tr(lambda: b.undefine())
tr(lambda: c.changeRollback(0))
print(sorted((i.name(), i.isActive()) for i in c.listAllInterfaces(0)))
tr(lambda: i.destroy(0))
tr(lambda: i.destroy(0))
tr(lambda: i.undefine())
print(sorted((i.name(), i.isActive()) for i in c.listAllInterfaces(0)))
for bad in ["<interface/>", "<interface type='foo' name='x'/>", "<interface type='ethernet'/>", "<iface/>", "<interface type='bridge' name='b'/>", "<interface type='vlan' name='v'><vlan/></interface>", "not xml", "<interface type='ethernet' name='e'><mtu size='abc'/></interface>", "<interface type='ethernet' name='e'><start mode='x'/></interface>", "<interface type='ethernet' name='e'><protocol/></interface>", "<interface type='bond' name='bond0'><bond mode='active-backup'><miimon freq='100' updelay='10' carrier='ioctl'/><interface type='ethernet' name='eth2'><mac address='ab:bb:cc:dd:ee:02'/></interface></bond></interface>", "<interface type='vlan' name='eth0.42'><start mode='hotplug'/><protocol family='ipv6'><autoconf/><dhcp/><ip address='fe80::1' prefix='64'/></protocol><vlan tag='42'><interface name='eth0'/></vlan></interface>"]:
    tr(lambda: c.interfaceDefineXML(bad,0))
for n in ['bond0', 'eth0.42']:
    print(c.interfaceLookupByName(n).XMLDesc(0))
`

const NODEDEV_SCRIPT = `libvirt.registerErrorHandler(lambda *a: None, None)
c=libvirt.open(sys.argv[1])
def tr(f):
    try: r=f(); print('OK', r if not hasattr(r,'name') else r.name())
    except libvirt.libvirtError as e: print('ERR', e.get_error_code(), e.get_error_domain(), e)
print(sorted(x.name() for x in c.listAllDevices(0)), c.numOfDevices(None,0), sorted(c.listDevices('scsi_host',0)), sorted(c.listDevices('fc_host',0)), sorted(c.listDevices('vports',0)))
for n in ['computer','scsi_host1','scsi_host2','scsi_host11']:
    d=c.nodeDeviceLookupByName(n); print(d.XMLDesc(0), d.parent(), d.listCaps(), d.numOfCaps())
x="<device><parent>scsi_host1</parent><capability type='scsi_host'><capability type='fc_host'><wwnn>2000000012341111</wwnn><wwpn>1000000012341111</wwpn></capability></capability></device>"
tr(lambda: c.nodeDeviceCreateXML(x,0))
d=c.nodeDeviceLookupByName('scsi_host12')
print(d.XMLDesc(0))
print(sorted(x.name() for x in c.listAllDevices(0)), c.numOfDevices(None,0), sorted(c.listDevices('scsi_host',0)), sorted(c.listDevices('fc_host',0)), sorted(c.listDevices('vports',0)))
for fl in [1, 1<<5, 1<<9, 1<<10, 1<<30, 1<<31]:
    tr(lambda: sorted(x.name() for x in c.listAllDevices(fl)))
tr(lambda: d.destroy())
tr(lambda: d.destroy())
tr(lambda: c.nodeDeviceLookupByName('scsi_host12'))
tr(lambda: c.nodeDeviceLookupByName('computer').destroy())
tr(lambda: c.nodeDeviceLookupSCSIHostByWWN('2000000012341234','1000000012341234',0))
tr(lambda: c.nodeDeviceDefineXML(x,0))
tr(lambda: c.nodeDeviceLookupByName('computer').undefine(0))
tr(lambda: c.nodeDeviceLookupByName('computer').isPersistent())
tr(lambda: c.nodeDeviceLookupByName('computer').isActive())
tr(lambda: c.nodeDeviceLookupByName('computer').autostart())
tr(lambda: c.nodeDeviceLookupByName('computer').create(0))
for bad in ["<device/>", "junk", "<device><capability type='scsi_host'/></device>", "<device><parent>computer</parent><capability type='scsi_host'><capability type='fc_host'/></capability></device>", "<device><parent>scsi_host2</parent><capability type='scsi_host'><capability type='fc_host'><wwnn>2000000012341111</wwnn><wwpn>1000000012341111</wwpn></capability></capability></device>"]:
    tr(lambda: c.nodeDeviceCreateXML(bad,0))
print(sorted(x.name() for x in c.listAllDevices(0)))
`

const HOST_NODEDEV_SCRIPT = `libvirt.registerErrorHandler(lambda *a: None, None)
c=libvirt.open(sys.argv[1])
def tr(f):
    try: r=f(); print('OK', r if not hasattr(r,'name') else r.name())
    except libvirt.libvirtError as e: print('ERR', e.get_error_code(), e.get_error_domain(), e)
x="<device><parent>computer</parent><capability type='scsi_host'><capability type='fc_host'><wwnn>2000000012341111</wwnn><wwpn>1000000012341111</wwpn></capability></capability></device>"
m="<device><parent>computer</parent><capability type='mdev'><type id='nvidia-11'/></capability></device>"
for xml in [x, m, "<device/>", "junk"]:
    tr(lambda: c.nodeDeviceCreateXML(xml,0))
    tr(lambda: c.nodeDeviceDefineXML(xml,0))
tr(lambda: c.nodeDeviceLookupByName('computer').destroy())
tr(lambda: c.nodeDeviceLookupByName('nope'))
tr(lambda: c.nodeDeviceLookupSCSIHostByWWN('2000000012341234','1000000012341234',0))
`

/** Runs a script with the URI as its argument. */
async function runScript(script: string, uri: string): Promise<string> {
  const code = PRELUDE + 'sys.argv = ["x", ' + JSON.stringify(uri) + ']\n' + script
  const r = await python(code)
  if (r.code !== 0) throw new Error(`python failed: ${r.stderr}`)
  return r.stdout
}

let d: TestDaemon
test.before(async () => {
  d = await startDaemon()
})
test.after.always(async () => {
  await d?.stop()
})

test('test driver interfaces: lookups, define, start, destroy, undefine, transactions and bad XML as libvirt', async (t) => {
  const theirs = await runScript(IFACE_SCRIPT, 'test:///default')
  const ours = await runScript(IFACE_SCRIPT, d.uri('test'))
  t.true(theirs.includes('there is another transaction running.'))
  t.is(ours, theirs)
})

test('test driver node devices: the four devices, their XML, caps filters, vHBA create and destroy, unsupported calls', async (t) => {
  const theirs = await runScript(NODEDEV_SCRIPT, 'test:///default')
  const ours = await runScript(NODEDEV_SCRIPT, d.uri('test'))
  t.true(theirs.includes('<name>scsi_host12</name>'))
  t.is(ours, theirs)
})

test.serial('host node devices: create, define, destroy and WWN lookup refused as real libvirtd refuses them', async (t) => {
  const real = await startRealLibvirtd()
  try {
    const theirs = await runScript(HOST_NODEDEV_SCRIPT, real.uri)
    const ours = await runScript(HOST_NODEDEV_SCRIPT, d.uri('qemu'))
    t.true(theirs.includes('is not capable of vport operations'))
    t.is(ours, theirs)
  } finally {
    await real.stop()
  }
})
