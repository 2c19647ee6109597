/**
 * virt-install's default XML (test/golden/devices/vi-*.xml: pc and q35, SPICE and VNC) starts on
 * vctl's QEMU driver with the tiny test guest (its kernel and initrd set as the other tests do,
 * TCG instead of KVM, the disks made here), the guest boots to its READY line, and every device
 * libvirt would give QEMU is on the running QEMU's command line (/proc/PID/cmdline) with the
 * driver and PCI/USB placement libvirt gives it.
 */
import {execFileSync} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'

import test from 'ava'

import {daemonPaths, driverStateDirs} from '../src/lib/daemon/paths.js'
import {QemuDriver} from '../src/lib/drivers/qemu/driver.js'
import {DomainState} from '../src/lib/drivers/types.js'
import {deviceGroups} from './helpers/qemu-devices.js'

const ROOT = resolve(import.meta.dirname, '..')
const GOLDEN = join(ROOT, 'test/golden/devices')
const KERNEL = join(ROOT, '.cache/test-guest/vmlinuz')
const INITRD = join(ROOT, '.cache/test-guest/initramfs.cpio.gz')

test.before(() => {
  if (!existsSync(KERNEL) || !existsSync(INITRD)) {
    execFileSync('bash', [join(ROOT, 'scripts/build-test-guest.sh')], {stdio: 'inherit', timeout: 15 * 60_000})
  }
})

/** virt-install's XML made runnable here: TCG, the tiny guest's kernel, disks in `dir`, the serial port in a file. */
function runnable(name: string, dir: string, serial: string): string {
  return readFileSync(join(GOLDEN, `${name}.xml`), 'utf8')
    .replace('<domain type="kvm">', '<domain type="qemu">')
    .replace('<cpu mode="host-passthrough"/>', '')
    .replace(
      /(<type arch="x86_64" machine="[a-z0-9]+">hvm<\/type>)/,
      `$1<kernel>${KERNEL}</kernel><initrd>${INITRD}</initrd><cmdline>console=ttyS0 quiet panic=-1</cmdline>`,
    )
    .replaceAll('/tmp/vctl-golden/', `${dir}/`)
    .replace('<console type="pty"/>', `<serial type="file"><source path="${serial}"/></serial>`)
}

/** Device-like options by id (block nodes aside), with what says what and where each device is. */
function placement(argv: readonly string[]): Map<string, string> {
  const out = new Map<string, string>()
  for (const [k, p] of deviceGroups(argv)) {
    if (k.startsWith('-blockdev ')) continue
    const what = k.startsWith('-device ') ? [p.driver, p.bus, p.addr, p.port, p.multifunction, p.chassis] : [p.driver ?? p.backend ?? p['qom-type']]
    out.set(k, what.map((v) => v ?? '').join(' '))
  }
  return out
}

for (const name of ['vi-pc-spice-linux', 'vi-q35-spice-linux', 'vi-pc-vnc-generic', 'vi-q35-vnc-generic']) {
  test.serial(`${name} starts with every device on QEMU's command line`, async (t) => {
    // Generous: a tiny guest boots in seconds under TCG, but this machine may be heavily loaded.
    t.timeout(360_000)
    const root = mkdtempSync(join(tmpdir(), 'vctl-devstart-'))
    const paths = daemonPaths({daemon: 'virtqemud', mode: 'system', root})
    const logs: string[] = []
    const log = {debug: () => {}, info: (m: string) => logs.push(m), warn: (m: string) => logs.push(m), error: (m: string) => logs.push(m)}
    const drv = await QemuDriver.create({
      mode: paths.mode,
      dirs: driverStateDirs(paths, 'qemu'),
      capsCacheDir: join(paths.cacheDir, 'qemu/capabilities'),
      log,
      kvm: false,
    })
    const run: {pid?: number} = {}
    t.teardown(async () => {
      await drv.shutdownDriver().catch(() => {})
      if (run.pid !== undefined) {
        try {
          process.kill(run.pid, 'SIGKILL')
        } catch {
          // gone
        }
      }
      rmSync(root, {recursive: true, force: true})
      if (!t.passed) t.log(logs.join('\n'))
    })
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', join(root, 'disk.qcow2'), '64M'])
    writeFileSync(join(root, 'cd.iso'), Buffer.alloc(1 << 20))
    const serial = join(root, 'serial.log')

    const ref = await drv.defineXML(runnable(name, root, serial))
    await drv.create(ref.uuid, 0)
    t.is(drv.getState(ref.uuid).state, DomainState.RUNNING)
    const pid = drv.domainPid(ref.uuid)
    run.pid = pid
    t.truthy(pid)
    const cmdline = readFileSync(`/proc/${pid ?? 0}/cmdline`, 'utf8')
      .split('\0')
      .slice(0, -1)

    const expected = placement(
      readFileSync(join(GOLDEN, `${name}.libvirt.args`), 'utf8')
        .trim()
        .split('\n'),
    )
    expected.set('-chardev charserial0', 'file') // the serial port writes to a file here, not to a pty
    const actual = placement(cmdline)
    t.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort())
    for (const [k, v] of expected) t.is(actual.get(k), v, k)

    // The display listens on loopback, on the port the live XML names.
    const live = drv.getXMLDesc(ref.uuid, 0)
    const g =
      /<graphics type='(?:vnc|spice)' port='(\d+)' autoport='yes' listen='127\.0\.0\.1'>\s*<listen type='address' address='127\.0\.0\.1'\/>/.exec(
        live,
      )
    t.truthy(g, live)
    t.true(cmdline.some((a) => a.includes(`127.0.0.1:${Number(g?.[1]) - 5900}`) || a.includes(`port=${g?.[1]},addr=127.0.0.1`)))

    // The guest agent's socket is the daemon's, named in the live XML.
    if (name.endsWith('-linux')) {
      const path = /<channel type='unix'>\s*<source mode='bind' path='([^']+)'\/>/.exec(live)?.[1]
      t.truthy(path)
      t.true(existsSync(path!))
    }

    // The guest boots with all of it.
    const bootStart = Date.now()
    const end = Date.now() + 300_000
    while (!(existsSync(serial) && readFileSync(serial, 'utf8').includes('VCTL-GUEST READY'))) {
      if (Date.now() > end) throw new Error('no READY line from the guest within 300 s')
      await sleep(100)
    }
    t.log(`READY ${Date.now() - bootStart} ms after start`)
    await drv.destroy(ref.uuid, 0)
    t.false(existsSync(join(driverStateDirs(paths, 'qemu').runDir, 'channel', ref.name)))
  })
}
