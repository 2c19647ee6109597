// The interface driver on a made-up /sys/class/net tree: what the test namespace cannot have here
// (bonds, VLANs: their kernel modules are not loadable), the list rules (bridge ports and taps left
// out, active = operstate up), MAC lookups that match several interfaces, and flag checks.
import test from 'ava'
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {UdevInterfaceDriver} from '../src/lib/drivers/interface/driver.js'
import {VirError} from '../src/lib/errors.js'

const base = mkdtempSync(join(tmpdir(), 'vctl-ifsys-'))
const net = join(base, 'net')
const vlan = join(base, 'vlan')
mkdirSync(vlan)

function iface(name: string, attrs: Record<string, string>): void {
  const all: Record<string, string> = {ifindex: '1', mtu: '1500', operstate: 'up', uevent: `INTERFACE=${name}\nIFINDEX=1\n`, ...attrs}
  for (const [k, v] of Object.entries(all)) {
    mkdirSync(join(net, name, k, '..'), {recursive: true})
    writeFileSync(join(net, name, k), `${v}\n`)
  }
}

iface('eth0', {address: '52:54:00:aa:00:00', speed: '1000'})
iface('eth1', {address: '52:54:00:aa:00:01', speed: '-1'})
iface('eth2', {address: '52:54:00:aa:00:01', operstate: 'down', speed: '1000'})
iface('bond0', {
  address: '52:54:00:bb:00:00',
  uevent: 'DEVTYPE=bond\nINTERFACE=bond0\n',
  'bonding/mode': 'active-backup 1',
  'bonding/miimon': '100',
  'bonding/updelay': '0',
  'bonding/downdelay': '200',
  'bonding/arp_interval': '0',
  'bonding/arp_ip_target': '',
  'bonding/arp_validate': 'none 0',
  'bonding/use_carrier': '1',
  slave_eth0: '',
})
iface('bond1', {
  address: '52:54:00:bb:00:01',
  operstate: 'down',
  'bonding/mode': 'balance-xor 2',
  'bonding/miimon': '0',
  'bonding/updelay': '0',
  'bonding/downdelay': '0',
  'bonding/arp_interval': '1000',
  'bonding/arp_ip_target': '192.168.0.1',
  'bonding/arp_validate': 'all 3',
  'bonding/use_carrier': '1',
})
iface('eth0.5', {address: '52:54:00:aa:00:00', uevent: 'DEVTYPE=vlan\nINTERFACE=eth0.5\n', operstate: 'lowerlayerdown'})
writeFileSync(join(vlan, 'eth0.5'), 'eth0.5  VID: 5\t REORDER_HDR: 1  dev->priv_flags: 1021\nDevice: eth0\nINGRESS priority mappings: 0:0\n')
iface('tap0', {address: '52:54:00:cc:00:00', tun_flags: '0x1002'})
iface('br0', {
  address: '52:54:00:dd:00:00',
  uevent: 'DEVTYPE=bridge\n',
  'bridge/stp_state': '1',
  'bridge/forward_delay': '200',
  'brif/vnet0': '',
  'brif/p0': '',
})
iface('vnet0', {address: 'fe:54:00:ee:00:00', tun_flags: '0x1002', 'brport/state': '3'})
iface('p0', {address: '52:54:00:dd:00:01', 'brport/state': '3', speed: '100'})

const drv = new UdevInterfaceDriver(net, vlan)

test.after.always(() => rmSync(base, {recursive: true, force: true}))

test('lists leave out bridge ports and taps; ACTIVE/INACTIVE filter on operstate up', async (t) => {
  const names = async (flags: number) => (await drv.listAllInterfaces(flags)).map((r) => r.name)
  t.deepEqual(await names(0), ['bond0', 'bond1', 'br0', 'eth0', 'eth0.5', 'eth1', 'eth2'])
  t.deepEqual(await names(2), ['bond0', 'br0', 'eth0', 'eth1'])
  t.deepEqual(await names(1), ['bond1', 'eth0.5', 'eth2'])
  t.deepEqual(await drv.listInterfaceNames(false), ['bond1', 'eth2'], 'the older call matches "down" only')
  const err = await t.throwsAsync(Promise.resolve(drv.listAllInterfaces(8)), {instanceOf: VirError})
  t.is(err?.message, 'invalid argument: unsupported flags (0x8) in function udevConnectListAllInterfaces')
})

test('lookups: by name (ports and taps too), by MAC (one match only)', async (t) => {
  t.deepEqual(await drv.interfaceLookupByName('p0'), {name: 'p0', mac: '52:54:00:dd:00:01'})
  t.deepEqual(await drv.interfaceLookupByMAC('52:54:00:bb:00:00'), {name: 'bond0', mac: '52:54:00:bb:00:00'})
  const multi = await t.throwsAsync(Promise.resolve(drv.interfaceLookupByMAC('52:54:00:aa:00:01')), {instanceOf: VirError})
  t.is(multi?.code, 59)
  t.is(multi?.domain, 26)
  t.is(multi?.str2, "the MAC address '52:54:00:aa:00:01' matches multiple interfaces")
  const none = await t.throwsAsync(Promise.resolve(drv.interfaceLookupByName('../eth0')), {instanceOf: VirError})
  t.is(none?.code, 57)
  t.is(await drv.interfaceIsActive('eth0.5'), false)
  t.is(await drv.interfaceIsActive('eth0'), true)
})

test('XML of a bond with MII monitoring and a slave', async (t) => {
  t.is(
    await drv.interfaceGetXMLDesc('bond0', 0),
    `<interface type='bond' name='bond0'>
  <mtu size='1500'/>
  <link state='up'/>
  <bond mode='active-backup'>
    <miimon freq='100' downdelay='200' carrier='netif'/>
    <interface type='ethernet' name='eth0'>
      <link speed='1000' state='up'/>
      <mac address='52:54:00:aa:00:00'/>
    </interface>
  </bond>
</interface>
`,
  )
})

test('XML of a bond with ARP monitoring', async (t) => {
  t.is(
    await drv.interfaceGetXMLDesc('bond1', 1),
    `<interface type='bond' name='bond1'>
  <mtu size='1500'/>
  <link state='down'/>
  <bond mode='balance-xor'>
    <arpmon interval='1000' target='192.168.0.1' validate='all'/>
  </bond>
</interface>
`,
  )
})

test('XML of a VLAN (tag and parent from the 8021q description), a bridge without guest taps, speeds', async (t) => {
  t.is(
    await drv.interfaceGetXMLDesc('eth0.5', 0),
    `<interface type='vlan' name='eth0.5'>
  <mtu size='1500'/>
  <link state='lowerlayerdown'/>
  <vlan tag='5'>
    <interface name='eth0'/>
  </vlan>
</interface>
`,
  )
  t.is(
    await drv.interfaceGetXMLDesc('br0', 0),
    `<interface type='bridge' name='br0'>
  <mtu size='1500'/>
  <bridge stp='on' delay='200'>
    <interface type='ethernet' name='p0'>
      <link speed='100' state='up'/>
      <mac address='52:54:00:dd:00:01'/>
    </interface>
  </bridge>
</interface>
`,
  )
  // An unknown speed (-1) and the speed of a link that is not up are left out.
  t.regex(await drv.interfaceGetXMLDesc('eth1', 0), /<link state='up'\/>/)
  t.regex(await drv.interfaceGetXMLDesc('eth2', 0), /<link state='down'\/>/)
  const flags = await t.throwsAsync(Promise.resolve(drv.interfaceGetXMLDesc('eth0', 2)), {instanceOf: VirError})
  t.is(flags?.message, 'invalid argument: unsupported flags (0x2) in function udevInterfaceGetXMLDesc')
})
