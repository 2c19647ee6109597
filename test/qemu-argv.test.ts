/**
 * Domain XML -> QEMU argv golden tests: test/golden/qemu/NAME.xml beside NAME.args (the exact
 * argv, one argument per line). A change to the builder shows up as a diff here; regenerate
 * with UPDATE_GOLDEN=1, then review the diff (see helpers/golden.ts).
 */
import {spawn} from 'node:child_process'
import {mkdtempSync, readdirSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'

import test, {type ExecutionContext} from 'ava'

import {parseDomainXml} from '../src/lib/conf/domain.js'
import {VirError} from '../src/lib/errors.js'
import {buildQemuArgv, diskNameToIndex} from '../src/lib/drivers/qemu/argv.js'
import {applyQemuDefaults, validateForQemu, type QemuTarget} from '../src/lib/drivers/qemu/validate.js'
import type {QmpClient} from '../src/lib/drivers/qemu/qmp.js'
import {connectMonitor} from '../src/lib/drivers/qemu/process.js'
import {checkGolden} from './helpers/golden.js'

const GOLDEN = resolve(import.meta.dirname, 'golden/qemu')
const EMULATOR = '/usr/bin/qemu-system-x86_64'

/** A fixed emulator description, so goldens do not depend on the QEMU installed. */
function target(kvm = false): QemuTarget {
  return {
    emulator: EMULATOR,
    arch: 'x86_64',
    machines: [
      {name: 'pc-i440fx-7.2', alias: 'pc', isDefault: true, maxCpus: 255, deprecated: false},
      {name: 'pc-q35-7.2', alias: 'q35', isDefault: false, maxCpus: 288, deprecated: false},
      {name: 'pc-i440fx-2.12', isDefault: false, maxCpus: 255, deprecated: false},
      {name: 'microvm', isDefault: false, maxCpus: 288, deprecated: false},
    ],
    cpuModels: ['EPYC', 'Skylake-Client', 'base', 'host', 'max', 'qemu32', 'qemu64'],
    kvm,
    sandbox: true,
  }
}

function argvFor(name: string, xml: string, monitorDir = '/run/libvirt/qemu'): string[] {
  const def = parseDomainXml(xml)
  const t = target(name.startsWith('kvm-'))
  applyQemuDefaults(def, t)
  validateForQemu(def, t)
  return buildQemuArgv(def, {
    emulator: EMULATOR,
    monitorPath: `${monitorDir}/${def.name}.monitor`,
    sandbox: true,
    graphicsPorts: def.devices.graphics.map((g, i) => (g.autoport || g.port === -1 ? 5900 + i : undefined)),
  })
}

const goldens = readdirSync(GOLDEN)
  .filter((f) => f.endsWith('.xml'))
  .map((f) => f.slice(0, -4))
  .sort()

test('there are golden files', (t) => {
  t.true(goldens.length >= 10)
})

for (const name of goldens) {
  test(`golden argv: ${name}`, (t) => {
    const xml = readFileSync(join(GOLDEN, `${name}.xml`), 'utf8')
    const actual = argvFor(name, xml).join('\n') + '\n'
    const file = join(GOLDEN, `${name}.args`)
    checkGolden(t, file, actual)
  })
}

// Real QEMU must accept the command lines that need no external files.
const runnable = ['minimal', 'net-user', 'cpu-smp', 'cpu-host-model', 'name-with-comma', 'lifecycle-actions', 'boot-order-per-device']
for (const name of runnable.filter((n) => goldens.includes(n))) {
  test(`QEMU accepts the argv of ${name}`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'vctl-argv-'))
    t.teardown(() => rmSync(dir, {recursive: true, force: true}))
    const argv = argvFor(name, readFileSync(join(GOLDEN, `${name}.xml`), 'utf8'), dir)
    // Disk images do not exist here: drop block nodes and the devices using them.
    const cleaned: string[] = []
    for (let i = 0; i < argv.length; i++) {
      if (argv[i] === '-blockdev' || (argv[i] === '-device' && argv[i + 1].includes('drive='))) {
        i++
        continue
      }
      cleaned.push(argv[i])
    }
    const child = spawn(cleaned[0], cleaned.slice(1), {stdio: ['ignore', 'ignore', 'pipe']})
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const pid = child.pid!
    t.teardown(() => {
      try {
        process.kill(pid, 'SIGKILL')
      } catch {
        // gone
      }
    })
    const exited = new Promise<void>((r) => child.once('exit', () => r()))
    let qmp: QmpClient | undefined
    try {
      qmp = await connectMonitor(
        `${dir}/${parseDomainXml(readFileSync(join(GOLDEN, `${name}.xml`), 'utf8')).name}.monitor`,
        () => child.exitCode === null,
        20000,
      )
    } catch (err) {
      await exited
      t.fail(`QEMU refused the argv of ${name}: ${stderr || (err as Error).message}`)
      return
    }
    const status = await qmp.execute<{status: string}>('query-status')
    t.is(status.status, 'prelaunch')
    await qmp.execute('quit').catch(() => {})
    await exited
  })
}

// ---- errors ---------------------------------------------------------------------------------

function expectError(t: ExecutionContext, xml: string, code: number, domain: number, message: string | RegExp, kvm = false): void {
  const err = t.throws(
    () => {
      const def = parseDomainXml(xml)
      applyQemuDefaults(def, target(kvm))
      validateForQemu(def, target(kvm))
    },
    {instanceOf: VirError},
  )
  if (!err) return
  const e = err
  t.is(e.code, code, e.message)
  t.is(e.domain, domain, e.message)
  if (typeof message === 'string') t.is(e.message, message)
  else t.regex(e.message, message)
}

const dom = (inner: string, type = 'qemu') => `<domain type='${type}'><name>e</name><memory unit='MiB'>128</memory>${inner}</domain>`
const os = (machine?: string) => `<os><type${machine ? ` machine='${machine}'` : ''}>hvm</type></os>`

test("type='kvm' without usable KVM is refused like libvirt (CONFIG_UNSUPPORTED)", (t) => {
  expectError(t, dom(os(), 'kvm'), 67, 10, "unsupported configuration: Emulator '/usr/bin/qemu-system-x86_64' does not support virt type 'kvm'")
})

test("type='kvm' is accepted when KVM is usable", (t) => {
  const def = parseDomainXml(dom(os(), 'kvm'))
  applyQemuDefaults(def, target(true))
  t.notThrows(() => validateForQemu(def, target(true)))
  t.true(buildQemuArgv(def, {emulator: EMULATOR, monitorPath: '/m', sandbox: false}).includes('pc-i440fx-7.2,accel=kvm,usb=off,dump-guest-core=off'))
})

test('other virt types are refused', (t) => {
  expectError(t, dom(os(), 'xen'), 67, 10, "unsupported configuration: Emulator '/usr/bin/qemu-system-x86_64' does not support virt type 'xen'")
})

test('an unknown machine type is refused (validated against the probed list)', (t) => {
  expectError(
    t,
    dom(os('bogus-machine')),
    67,
    10,
    "unsupported configuration: Emulator '/usr/bin/qemu-system-x86_64' does not support machine type 'bogus-machine'",
  )
})

test('machine aliases are canonicalised', (t) => {
  const def = parseDomainXml(dom(os('q35')))
  applyQemuDefaults(def, target())
  t.is(def.os.machine, 'pc-q35-7.2')
  const def2 = parseDomainXml(dom('<os><type>hvm</type></os>'))
  applyQemuDefaults(def2, target())
  t.is(def2.os.machine, 'pc-i440fx-7.2')
  t.is(def2.os.arch, 'x86_64')
  t.is(def2.devices.emulator, EMULATOR)
})

test('no <memory> is refused by the conf layer', (t) => {
  const err = t.throws<VirError>(() => parseDomainXml(`<domain type='qemu'><name>e</name>${os()}</domain>`), {instanceOf: VirError})
  t.is(err.code, 27)
  t.regex(err.message, /Memory size must be specified/)
})

test('another arch is refused', (t) => {
  expectError(t, dom(`<os><type arch='aarch64'>hvm</type></os>`), 67, 10, /does not support arch 'aarch64'/)
})

test('too many vCPUs for the machine type', (t) => {
  expectError(t, dom(`<vcpu>300</vcpu>${os('pc')}`), 67, 10, 'unsupported configuration: Maximum CPUs greater than specified machine type limit 255')
})

test('CPU topology must match the vCPU count', (t) => {
  expectError(t, dom(`<vcpu>4</vcpu>${os()}<cpu><topology sockets='1' cores='1' threads='1'/></cpu>`), 27, 10, /topology/)
})

test('unknown CPU model and host-passthrough under TCG', (t) => {
  expectError(
    t,
    dom(`${os()}<cpu mode='custom'><model>Imaginary</model></cpu>`),
    67,
    10,
    "unsupported configuration: CPU model 'Imaginary' is not supported by hypervisor",
  )
  expectError(
    t,
    dom(`${os()}<cpu mode='host-passthrough'/>`),
    67,
    10,
    "unsupported configuration: CPU mode 'host-passthrough' for x86_64 qemu domain on x86_64 host is not supported by hypervisor",
  )
})

test('cdrom on virtio, IDE on q35, duplicate targets', (t) => {
  expectError(
    t,
    dom(`${os()}<devices><disk type='file' device='cdrom'><source file='/x.iso'/><target dev='vda' bus='virtio'/></disk></devices>`),
    67,
    10,
    "unsupported configuration: disk type of 'vda' does not support ejectable media",
  )
  expectError(
    t,
    dom(`${os('q35')}<devices><disk type='file'><source file='/x.img'/><target dev='hda' bus='ide'/></disk></devices>`),
    67,
    10,
    /IDE controllers are unsupported/,
  )
  expectError(
    t,
    dom(
      `${os()}<devices><disk type='file'><source file='/a'/><target dev='vda'/></disk><disk type='file'><source file='/b'/><target dev='vda'/></disk></devices>`,
    ),
    27,
    10,
    "XML error: target 'vda' duplicated for disk sources '/a' and '/b'",
  )
  expectError(t, dom(`${os()}<devices><disk type='file'><target dev='vda'/></disk></devices>`), 67, 10, /has no source/)
  expectError(
    t,
    dom(`${os()}<devices><disk type='file'><driver name='qemu' type='bogus'/><source file='/a'/><target dev='vda'/></disk></devices>`),
    67,
    10,
    /unknown driver format value 'bogus'/,
  )
})

test('unsupported devices are refused clearly', (t) => {
  expectError(
    t,
    dom(`${os()}<devices><interface type='direct'><source dev='eth0' mode='bridge'/></interface></devices>`),
    67,
    10,
    /interface type 'direct' is not supported/,
  )
  expectError(t, dom(`${os()}<devices><graphics type='sdl'/></devices>`), 67, 10, /graphics type 'sdl' is not supported/)
  expectError(t, dom(`${os()}<devices><smartcard mode='passthrough' type='spicevmc'/></devices>`), 67, 10, /device <smartcard> is not supported/)
  expectError(t, dom(`${os()}<devices><sound model='sb16'/></devices>`), 67, 10, /sound model 'sb16' is not supported/)
  expectError(t, dom(`${os()}<devices><redirdev bus='usb' type='spicevmc'/></devices>`), 67, 10, /spicevmc redirdev requires a spice graphics device/)
  expectError(t, dom(`${os()}<devices><serial type='tcp'/></devices>`), 67, 10, /serial type 'tcp' is not supported/)
  expectError(t, dom(`${os()}<on_reboot>preserve</on_reboot>`), 67, 10, /on_reboot action 'preserve'/)
})

test('defaults: disk bus and format, NIC model, memballoon, serial behind a console', (t) => {
  const def = parseDomainXml(
    dom(`${os()}<devices><disk type='file'><source file='/a'/><target dev='hdb'/></disk><interface type='user'/><console type='pty'/></devices>`),
  )
  applyQemuDefaults(def, target())
  t.is(def.devices.disks[0].bus, 'ide')
  t.is(def.devices.disks[0].driverName, 'qemu')
  t.is(def.devices.disks[0].driverType, 'raw')
  t.is(def.devices.interfaces[0].model, 'rtl8139')
  t.is(def.devices.serials.length, 1)
  t.is(def.devices.serials[0].type, 'pty')
  t.is(def.devices.consoles[0].targetType, 'serial')
  // Applying twice changes nothing (definitions are re-read at every daemon start).
  const before = JSON.stringify({...def, root: undefined, devices: {...def.devices, disks: def.devices.disks.map((d) => ({...d, xml: undefined}))}})
  applyQemuDefaults(def, target())
  const after = JSON.stringify({...def, root: undefined, devices: {...def.devices, disks: def.devices.disks.map((d) => ({...d, xml: undefined}))}})
  t.is(after, before)
})

test('diskNameToIndex follows libvirt', (t) => {
  t.is(diskNameToIndex('vda'), 0)
  t.is(diskNameToIndex('hdc'), 2)
  t.is(diskNameToIndex('sdz'), 25)
  t.is(diskNameToIndex('sdaa'), 26)
  t.is(diskNameToIndex('bogus'), -1)
})
