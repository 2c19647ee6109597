/**
 * Definitions the QEMU driver refuses at define, with libvirt 9.0's error where libvirt refuses
 * the same (checked against libvirtd 9.0) and CONFIG_UNSUPPORTED naming the element where only
 * vctl does.
 */
import test from 'ava'

import {formatDomainXml, parseDomainXml} from '../src/lib/conf/domain.js'
import {VirError} from '../src/lib/errors.js'
import {applyQemuDefaults, validateForQemu, type QemuTarget} from '../src/lib/drivers/qemu/validate.js'

const target: QemuTarget = {
  emulator: '/usr/bin/qemu-system-x86_64',
  arch: 'x86_64',
  machines: [
    {name: 'pc-i440fx-7.2', alias: 'pc', isDefault: true, maxCpus: 255, deprecated: false},
    {name: 'pc-q35-7.2', alias: 'q35', isDefault: false, maxCpus: 288, deprecated: false},
  ],
  cpuModels: ['qemu64'],
  kvm: false,
  sandbox: true,
}

function define(machine: string, devices: string): string {
  const def = parseDomainXml(
    `<domain type='qemu'><name>e</name><memory>131072</memory><os><type machine='${machine}'>hvm</type></os><devices>${devices}</devices></domain>`,
  )
  applyQemuDefaults(def, target)
  validateForQemu(def, target)
  return formatDomainXml(def)
}

const pci = (bus: number, slot: number) =>
  `<address type='pci' domain='0x0000' bus='0x${bus.toString(16).padStart(2, '0')}' slot='0x${slot.toString(16).padStart(2, '0')}' function='0x0'/>`

/** [machine, devices, libvirt's error code, message]; 27 = XML_ERROR, 67 = CONFIG_UNSUPPORTED, 1 = INTERNAL_ERROR. */
const refused: [string, string, number, string][] = [
  [
    'pc',
    `<interface type='user'>${pci(0, 3)}</interface><sound model='ich6'>${pci(0, 3)}</sound>`,
    27,
    'XML error: Attempted double use of PCI Address 0000:00:03.0',
  ],
  ['pc', `<interface type='user'>${pci(0, 1)}</interface>`, 27, 'XML error: Attempted double use of PCI Address 0000:00:01.0'],
  [
    'pc',
    "<input type='tablet' bus='usb'/><controller type='usb' model='none'/>",
    67,
    "unsupported configuration: Can't add USB input device. USB bus is disabled",
  ],
  ['q35', "<controller type='ide'/>", 67, 'unsupported configuration: IDE controllers are unsupported for this QEMU binary or machine type'],
  [
    'pc',
    "<controller type='pci' index='0' model='pcie-root'/>",
    27,
    "XML error: The PCI controller with index='0' must be model='pci-root' for this machine type, but model='pcie-root' was found instead",
  ],
  ['pc', "<watchdog model='itco'/>", 67, "unsupported configuration: unknown watchdog model 'itco'"],
  ['pc', "<watchdog model='i6300esb'/><watchdog model='i6300esb'/>", 1, 'internal error: only a single watchdog device is supported'],
  [
    'q35',
    "<video><model type='virtio'/></video><video><model type='vga'/></video>",
    67,
    "unsupported configuration: video type 'vga' is only valid as primary video device",
  ],
  // What libvirt has but vctl does not put on the command line: refused, naming the element.
  ['pc', "<hostdev mode='subsystem' type='usb'/>", 67, "unsupported configuration: device <hostdev> is not supported by vctl's qemu driver"],
  [
    'pc',
    "<controller type='usb' model='pci-ohci'/>",
    67,
    "unsupported configuration: usb controller model 'pci-ohci' is not supported by vctl's qemu driver",
  ],
  [
    'pc',
    "<rng model='virtio'><backend model='egd' type='pty'/></rng>",
    67,
    "unsupported configuration: rng backend model 'egd' is not supported by vctl's qemu driver",
  ],
  [
    'pc',
    "<channel type='pty'><target type='virtio' name='x'/></channel>",
    67,
    "unsupported configuration: channel type 'pty' is not supported by vctl's qemu driver",
  ],
  [
    'pc',
    "<channel type='unix'><target type='virtio' name='../x'/></channel>",
    67,
    "unsupported configuration: channel name '../x' cannot name a socket: give the channel <source mode='bind' path='...'/>",
  ],
  [
    'pc',
    "<graphics type='vnc'/><channel type='spicevmc'><target type='virtio' name='com.redhat.spice.0'/></channel>",
    67,
    'unsupported configuration: spicevmc channel requires a spice graphics device',
  ],
]

test('clock and timers vctl cannot express are refused', (t) => {
  const dom = (clock: string) => parseDomainXml(`<domain type='qemu'><name>c</name><memory>131072</memory><os><type>hvm</type></os>${clock}</domain>`)
  for (const [clock, message] of [
    ["<clock offset='variable' adjustment='10'/>", "unsupported configuration: clock offset 'variable' is not supported by vctl's qemu driver"],
    [
      "<clock offset='utc'><timer name='tsc' present='yes'/></clock>",
      "unsupported configuration: timer 'tsc' is not supported by vctl's qemu driver",
    ],
    ["<clock offset='utc'><timer name='rtc' tickpolicy='merge'/></clock>", "unsupported configuration: unsupported rtc timer tickpolicy 'merge'"],
  ]) {
    const def = dom(clock)
    applyQemuDefaults(def, target)
    t.is(t.throws(() => validateForQemu(def, target))?.message, message)
  }
})

for (const [machine, devices, code, message] of refused) {
  test(`refused: ${message}`, (t) => {
    const err = t.throws<VirError>(() => define(machine, devices), {instanceOf: VirError})
    t.is(err?.code, code)
    t.is(err?.message, message)
  })
}

test('a virtio NIC given a slot on pcie-root stays there (a user address may put a PCIe device on the root)', (t) => {
  const xml = define('q35', `<interface type='user'><model type='virtio'/>${pci(0, 5)}</interface>`)
  t.regex(xml, /<model type='virtio'\/>\s*<address type='pci' domain='0x0000' bus='0x00' slot='0x05' function='0x0'\/>/)
})
