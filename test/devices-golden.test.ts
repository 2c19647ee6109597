/**
 * The guest's devices as written, against real libvirt 9.0 (test/golden/devices, made by its
 * generate.sh from virt-install 4.1's default XML for pc and q35, SPICE and VNC, and a few
 * hand-written device zoos):
 *  - what `dumpxml --inactive` shows after define (implicit controllers and devices,
 *    PCI/USB/drive/virtio-serial addresses, defaults of devices, CPU and clock) equals libvirt's;
 *  - the QEMU command line has the same devices with the same options as libvirt's
 *    `domxml-to-native qemu-argv` (compared device by device, see helpers/qemu-devices.ts);
 *  - defining the dumped XML again changes nothing (addresses are stable).
 */
import {readdirSync, readFileSync} from 'node:fs'
import {join, resolve} from 'node:path'

import test from 'ava'

import {formatDomainXml, parseDomainXml, type DomainDef} from '../src/lib/conf/domain.js'
import {attr, child, childrenNamed, parseXml} from '../src/lib/conf/xml.js'
import {buildQemuArgv} from '../src/lib/drivers/qemu/argv.js'
import {applyQemuDefaults, validateForQemu, type QemuTarget} from '../src/lib/drivers/qemu/validate.js'
import {deviceGroups, diffDevices, normalised} from './helpers/qemu-devices.js'

const DIR = resolve(import.meta.dirname, 'golden/devices')
const EMULATOR = '/usr/bin/qemu-system-x86_64'

const target: QemuTarget = {
  emulator: EMULATOR,
  arch: 'x86_64',
  machines: [
    {name: 'pc-i440fx-7.2', alias: 'pc', isDefault: true, maxCpus: 255, deprecated: false},
    {name: 'pc-q35-7.2', alias: 'q35', isDefault: false, maxCpus: 288, deprecated: false},
  ],
  cpuModels: ['qemu64', 'max', 'host'],
  kvm: true,
  sandbox: true,
}

function define(xml: string): DomainDef {
  const def = parseDomainXml(xml)
  applyQemuDefaults(def, target)
  validateForQemu(def, target)
  return def
}

function argvOf(def: DomainDef): string[] {
  return buildQemuArgv(def, {
    emulator: EMULATOR,
    monitorPath: '/run/vctl/qemu/x.monitor',
    sandbox: true,
    channelDir: '/run/vctl/qemu/channel/domain-1',
    graphicsPorts: def.devices.graphics.map((_, i) => 5900 + i),
  })
}

/**
 * domxml-to-native rebuilds every interface (as a tap) and so drops the PCI address an interface
 * was given in the XML: the NICs' placement is taken from libvirt's dumpxml instead, where the
 * definition keeps it, in QEMU's syntax.
 */
function nicsAsDefined(args: string[], libvirtXml: string): string[] {
  const root = parseXml(libvirtXml, 'golden')
  const q35 = attr(child(child(root, 'os'), 'type'), 'machine')?.startsWith('pc-q35') === true
  const nics = childrenNamed(child(root, 'devices'), 'interface')
  return args.map((a) => {
    const m = /"id":"net(\d+)"/.exec(a)
    const addr = m ? child(nics[Number(m[1])], 'address') : undefined
    if (!m || attr(addr, 'type') !== 'pci') return a
    const o = JSON.parse(a) as Record<string, unknown>
    const bus = Number.parseInt(attr(addr, 'bus') ?? '0', 16)
    const slot = Number.parseInt(attr(addr, 'slot') ?? '0', 16)
    const fn = Number.parseInt(attr(addr, 'function') ?? '0', 16)
    o.bus = bus === 0 ? (q35 ? 'pcie.0' : 'pci.0') : `pci.${bus}`
    o.addr = fn === 0 ? `0x${slot.toString(16)}` : `0x${slot.toString(16)}.0x${fn.toString(16)}`
    return JSON.stringify(o)
  })
}

const cases = readdirSync(DIR)
  .filter((f) => f.endsWith('.xml') && !f.endsWith('.libvirt.xml'))
  .map((f) => f.slice(0, -4))
  .sort()

test('the golden cases cover virt-install for pc and q35, spice and vnc', (t) => {
  for (const m of ['pc', 'q35']) for (const g of ['spice', 'vnc']) for (const v of ['generic', 'linux']) t.true(cases.includes(`vi-${m}-${g}-${v}`))
})

for (const name of cases) {
  const input = readFileSync(join(DIR, `${name}.xml`), 'utf8')

  test(`${name}: dumpxml after define matches libvirt's`, (t) => {
    const expected = readFileSync(join(DIR, `${name}.libvirt.xml`), 'utf8')
    const actual = formatDomainXml(define(input), {secure: true})
    t.is(normalised(actual), normalised(expected))
  })

  test(`${name}: defining the dumped XML again keeps every address`, (t) => {
    const once = formatDomainXml(define(input), {secure: true})
    const twice = formatDomainXml(define(once), {secure: true})
    t.is(twice, once)
  })

  test(`${name}: QEMU gets libvirt's devices, device by device`, (t) => {
    const expected = nicsAsDefined(
      readFileSync(join(DIR, `${name}.libvirt.args`), 'utf8')
        .trim()
        .split('\n'),
      readFileSync(join(DIR, `${name}.libvirt.xml`), 'utf8'),
    )
    const actual = argvOf(define(input))
    t.true(deviceGroups(expected).size > 3)
    t.deepEqual(diffDevices(expected, actual), [])
    // In libvirt's order too (QEMU creates devices in command-line order).
    const order = (argv: string[]) => [...deviceGroups(argv).keys()].filter((k) => !k.startsWith('-blockdev'))
    t.deepEqual(order(actual), order(expected))
  })
}

test('a device libvirt does not support is refused with its error', (t) => {
  const xml = readFileSync(join(DIR, 'zoo-q35.xml'), 'utf8').replace("model='i6300esb'", "model='itco'")
  const err = t.throws(() => define(xml))
  t.is(err?.message, "unsupported configuration: unknown watchdog model 'itco'")
})
