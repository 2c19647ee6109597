// The node device driver on a made-up sysfs tree: USB devices and interfaces, a PCI Express
// device behind a bridge with its IOMMU group and link, DMI data, names, parents and XML.
import test from 'ava'
import {mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {createNodeDevDriver} from '../src/lib/drivers/nodedev/driver.js'
import {NodeDeviceCapFlag} from '../src/lib/drivers/nodedev-types.js'
import {ErrorCode, ErrorDomain, VirError} from '../src/lib/errors.js'

const sys = mkdtempSync(join(tmpdir(), 'vctl-sysfs-'))
test.after.always(() => rmSync(sys, {recursive: true, force: true}))

function files(dir: string, attrs: Record<string, string>): void {
  mkdirSync(dir, {recursive: true})
  for (const [k, v] of Object.entries(attrs)) {
    mkdirSync(dirname(join(dir, k)), {recursive: true})
    writeFileSync(join(dir, k), `${v}\n`)
  }
}
function link(from: string, to: string): void {
  mkdirSync(dirname(from), {recursive: true})
  symlinkSync(to, from)
}

/** A PCI Express config space: capability list at 0x40 holding a PCIe capability (downstream port, x4 8GT/s, x1 2.5GT/s). */
function pcieConfig(): Buffer {
  const cfg = Buffer.alloc(4096)
  cfg.writeUInt16LE(0x10, 6)
  cfg[0x34] = 0x40
  cfg[0x40] = 0x10
  cfg[0x41] = 0
  cfg.writeUInt16LE(6 << 4, 0x42) // downstream port
  cfg.writeUInt32LE((3 << 24) | (4 << 4) | 3, 0x40 + 0x0c) // port 3, x4, 8 GT/s
  cfg.writeUInt16LE((1 << 4) | 1, 0x40 + 0x12) // x1, 2.5 GT/s
  return cfg
}

test.before(() => {
  const bridge = join(sys, 'devices/pci0000:00/0000:00:1c.0')
  const nic = join(bridge, '0000:01:00.0')
  files(bridge, {class: '0x060400', vendor: '0x8086', device: '0x9d10', numa_node: '-1'})
  files(nic, {class: '0x020000', vendor: '0x10ec', device: '0x8168', numa_node: '0'})
  writeFileSync(join(nic, 'config'), pcieConfig())
  link(join(sys, 'bus/pci/devices/0000:00:1c.0'), bridge)
  link(join(sys, 'bus/pci/devices/0000:01:00.0'), nic)
  link(join(nic, 'driver'), join(sys, 'bus/pci/drivers/r8169'))
  link(join(nic, 'iommu_group'), join(sys, 'kernel/iommu_groups/7'))
  mkdirSync(join(sys, 'kernel/iommu_groups/7/devices'), {recursive: true})
  link(join(sys, 'kernel/iommu_groups/7/devices/0000:01:00.0'), nic)

  const hub = join(sys, 'devices/pci0000:00/0000:00:14.0/usb1')
  const dev = join(hub, '1-2')
  files(hub, {idVendor: '1d6b', idProduct: '0002', busnum: '1', devnum: '1'})
  files(dev, {idVendor: 'ffff', idProduct: '0001', busnum: '1', devnum: '3', product: 'Gadget', manufacturer: 'Acme'})
  files(join(dev, '1-2:1.0'), {bInterfaceNumber: '00', bInterfaceClass: '03', bInterfaceSubClass: '01', bInterfaceProtocol: '02'})
  link(join(sys, 'bus/usb/devices/usb1'), hub)
  link(join(sys, 'bus/usb/devices/1-2'), dev)
  link(join(sys, 'bus/usb/devices/1-2:1.0'), join(dev, '1-2:1.0'))
  link(join(dev, 'driver'), join(sys, 'bus/usb/drivers/usb'))

  files(join(sys, 'class/dmi/id'), {
    sys_vendor: 'Acme & Co',
    product_name: 'Box',
    product_uuid: '4c4c4544-0000-1010-8000-b1c04f000001',
    bios_vendor: 'SeaBIOS',
    bios_date: '04/01/2014',
  })
})

const ids = join(tmpdir(), 'vctl-no-such-ids')
const driver = () => createNodeDevDriver({sys, pciIds: ids, usbIds: ids})

test('names, parents and capability filters follow libvirt', (t) => {
  const d = driver()
  t.deepEqual(d.listAllNodeDevices(0), ['computer', 'pci_0000_00_1c_0', 'pci_0000_01_00_0', 'usb_1_2', 'usb_1_2_1_0', 'usb_usb1'])
  t.deepEqual(d.listAllNodeDevices(NodeDeviceCapFlag.usb_device), ['usb_1_2', 'usb_usb1'])
  t.deepEqual(d.listAllNodeDevices(NodeDeviceCapFlag.usb | NodeDeviceCapFlag.system), ['computer', 'usb_1_2_1_0'])
  t.deepEqual(d.listAllNodeDevices(1 << 30), [], 'no inactive devices')
  t.deepEqual(d.listNodeDevices('pci'), ['pci_0000_00_1c_0', 'pci_0000_01_00_0'])
  t.deepEqual(d.listNodeDevices('bogus'), [])
  t.is(d.nodeDeviceGetParent('pci_0000_01_00_0'), 'pci_0000_00_1c_0')
  t.is(d.nodeDeviceGetParent('usb_1_2_1_0'), 'usb_1_2')
  t.is(d.nodeDeviceGetParent('usb_usb1'), 'computer')
  t.is(d.nodeDeviceGetParent('computer'), null)
  t.is(d.nodeDevicePciAddress('pci_0000_01_00_0'), '0000:01:00.0')
  t.is(d.nodeDevicePciAddress('usb_1_2'), null)
  const err = t.throws(() => d.lookupNodeDevice('usb_9_9'), {instanceOf: VirError})
  t.is(err?.code, ErrorCode.NO_NODE_DEVICE)
  t.is(err?.domain, ErrorDomain.NODEDEV)
  t.is(err?.message, "Node device not found: no node device with matching name 'usb_9_9'")
  d.close()
})

test('XML of a PCI Express device, a USB device and interface, and the computer', (t) => {
  const d = driver()
  t.is(
    d.nodeDeviceGetXMLDesc('pci_0000_01_00_0'),
    `<device>
  <name>pci_0000_01_00_0</name>
  <path>${sys}/devices/pci0000:00/0000:00:1c.0/0000:01:00.0</path>
  <parent>pci_0000_00_1c_0</parent>
  <driver>
    <name>r8169</name>
  </driver>
  <capability type='pci'>
    <class>0x020000</class>
    <domain>0</domain>
    <bus>1</bus>
    <slot>0</slot>
    <function>0</function>
    <product id='0x8168'/>
    <vendor id='0x10ec'/>
    <iommuGroup number='7'>
      <address domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>
    </iommuGroup>
    <numa node='0'/>
    <pci-express>
      <link validity='cap' port='3' speed='8' width='4'/>
      <link validity='sta' speed='2.5' width='1'/>
    </pci-express>
  </capability>
</device>
`,
  )
  t.is(
    d.nodeDeviceGetXMLDesc('usb_1_2'),
    `<device>
  <name>usb_1_2</name>
  <path>${sys}/devices/pci0000:00/0000:00:14.0/usb1/1-2</path>
  <devnode type='dev'>/dev/bus/usb/001/003</devnode>
  <parent>usb_usb1</parent>
  <driver>
    <name>usb</name>
  </driver>
  <capability type='usb_device'>
    <bus>1</bus>
    <device>3</device>
    <product id='0x0001'>Gadget</product>
    <vendor id='0xffff'>Acme</vendor>
  </capability>
</device>
`,
  )
  t.regex(
    d.nodeDeviceGetXMLDesc('usb_1_2_1_0'),
    /<capability type='usb'>\n {4}<number>0<\/number>\n {4}<class>3<\/class>\n {4}<subclass>1<\/subclass>\n {4}<protocol>2<\/protocol>\n/,
  )
  t.is(
    d.nodeDeviceGetXMLDesc('computer'),
    `<device>
  <name>computer</name>
  <capability type='system'>
    <product>Box</product>
    <hardware>
      <vendor>Acme &amp; Co</vendor>
      <uuid>4c4c4544-0000-1010-8000-b1c04f000001</uuid>
    </hardware>
    <firmware>
      <vendor>SeaBIOS</vendor>
      <release_date>04/01/2014</release_date>
    </firmware>
  </capability>
</device>
`,
  )
  t.deepEqual(d.nodeDeviceListCaps('usb_1_2'), ['usb_device'])
  t.true(d.nodeDeviceIsPersistent('computer') && d.nodeDeviceGetAutostart('computer'))
  t.false(d.nodeDeviceIsPersistent('usb_1_2') || d.nodeDeviceGetAutostart('usb_1_2'))
  d.close()
})

test.serial('a device that appears, changes or goes is reported to event listeners', async (t) => {
  const d = createNodeDevDriver({sys, pciIds: ids, usbIds: ids, refreshMs: 50})
  const seen: unknown[] = []
  const onEvent = (m: unknown) => seen.push(m)
  d.events.on('lifecycle', onEvent)
  const dev = join(sys, 'devices/pci0000:00/0000:00:14.0/usb1/1-3')
  files(dev, {idVendor: 'ffff', idProduct: '0002', busnum: '1', devnum: '4'})
  link(join(sys, 'bus/usb/devices/1-3'), dev)
  const until = async (n: number) => {
    for (let i = 0; i < 1200 && seen.length < n; i++) await new Promise((r) => setTimeout(r, 25))
  }
  const onUpdate = (name: string) => seen.push({update: name})
  d.events.on('update', onUpdate)
  await until(1)
  writeFileSync(join(dev, 'devnum'), '5\n')
  await until(2)
  rmSync(join(sys, 'bus/usb/devices/1-3'))
  await until(3)
  t.deepEqual(seen, [{name: 'usb_1_3', event: 0}, {update: 'usb_1_3'}, {name: 'usb_1_3', event: 1}])
  d.events.off('update', onUpdate)
  d.events.off('lifecycle', onEvent)
  d.close()
})
