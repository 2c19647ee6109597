// virt-manager 4.1 under Xvfb against vctl as qemu:///system (a private mount namespace: the daemon's
// sockets are bind-mounted over /run/libvirt there), its windows read through AT-SPI with dogtail.
import test from 'ava'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {waitFor} from './helpers/daemon.js'
import {waitForLog, READY} from './helpers/guest.js'
import {startSystemNamespace, type SystemNamespace} from './helpers/system-ns.js'
import {nonBlank, readPpm, startDesktop, type Desktop, type Rect} from './helpers/xvfb.js'
import {shotPath} from './ui/shots.js'
import {SERIAL_PTY, SPICE, VNC, defineGuest, startGuest, makeQcow2, qcow2Disk, serialFile, virshOk} from './ui/guests.js'
import {logTail, startVmm, vmm, type Vmm} from './ui/vmm.js'

let ns: SystemNamespace
let desk: Desktop

test.before(async () => {
  ns = await startSystemNamespace('vctl-vmm-')
  desk = await startDesktop(ns.root)
  await defineGuest(ns, 'vm-off', {devices: SERIAL_PTY})
  await defineGuest(ns, 'vm-run', {devices: `${SERIAL_PTY}\n${VNC}`})
  await startGuest(ns, 'vm-run')
})

test.after.always(async () => {
  await desk?.stop()
  await ns?.stop()
})

/** Runs `body` with a virt-manager started with `extra`; stops it whatever happens. */
async function withVmm<T>(extra: string[], body: (v: Vmm) => Promise<T>): Promise<T> {
  const v = startVmm(ns, desk, extra)
  try {
    return await body(v)
  } finally {
    await v.stop()
  }
}

/**
 * Screenshots `rect` until it is not blank (the viewer may paint its first frame a moment after it
 * shows): the share of pixels off the dominant colour must reach `minShare`. Returns the last figures.
 */
async function waitNotBlank(name: string, rect: Rect, minShare = 0.002, ms = 90000): Promise<{colours: number; otherShare: number; file: string}> {
  const end = Date.now() + ms
  const file = shotPath(`${name}-console.ppm`)
  for (;;) {
    await desk.screenshot(file, rect)
    const f = nonBlank(readPpm(file))
    if ((f.colours >= 2 && f.otherShare >= minShare) || Date.now() > end) return {...f, file}
    await new Promise((r) => setTimeout(r, 500))
  }
}

test.serial('the manager window lists the guests with their states', async (t) => {
  t.timeout(600000) // virt-manager and its AT-SPI tree under Xvfb: minutes on a loaded machine
  await withVmm([], async (v) => {
    const r = await vmm(desk, ['manager', '--expect', 'vm-off=Shutoff,vm-run=Running'], 180)
    t.falsy(r.error, `${r.error ?? ''}\nvirt-manager log:\n${logTail(v)}`)
    t.deepEqual(r.vms, {'vm-off': 'Shutoff', 'vm-run': 'Running'})
    t.is(r.connection, 'QEMU/KVM')
    // A change made by another client shows up through events.
    await virshOk(ns, ['suspend', 'vm-run'])
    const p = await vmm(desk, ['manager', '--expect', 'vm-off=Shutoff,vm-run=Paused'], 90)
    t.deepEqual(p.vms, {'vm-off': 'Shutoff', 'vm-run': 'Paused'}, p.error)
    await virshOk(ns, ['resume', 'vm-run'])
    // The node-device API answers (issue #13): virt-manager logs no nodedev errors.
    const log = readFileSync(v.log, 'utf8')
    t.notRegex(log, /doesn't seem to support nodedev|nodedev.*(?:error|Error|failed)|unknown procedure/)
  })
})

test.serial('the serial console shows the guest booting and its READY line', async (t) => {
  t.timeout(600000) // virt-manager and its AT-SPI tree under Xvfb: minutes on a loaded machine
  await defineGuest(ns, 'vm-serial', {devices: SERIAL_PTY})
  await withVmm(['--show-domain-console', 'vm-serial'], async (v) => {
    // Paused first, so that virt-manager has the console open before the kernel prints anything.
    await startGuest(ns, 'vm-serial', ['--paused'])
    const open = await vmm(desk, ['serial-open', 'vm-serial'], 120)
    t.falsy(open.error, `${open.error ?? ''}\nvirt-manager log:\n${logTail(v)}`)
    if (open.error) return
    await virshOk(ns, ['resume', 'vm-serial'])
    const r = await vmm(desk, ['serial-read', 'vm-serial', '--wait', READY], 180)
    t.falsy(r.error, `${r.error ?? ''}\nterminal:\n${r.text ?? ''}`)
    // The terminal's accessible text is its screen: the kernel's last messages before the READY line.
    t.regex(r.text ?? '', /\[\s*\d+\.\d+\] Run \/init as init process/)
    t.true(r.text?.includes(READY), r.text)
  })
  await virshOk(ns, ['destroy', 'vm-serial'])
})

for (const [kind, devices] of [
  ['VNC', VNC],
  ['spice', SPICE],
] as const) {
  test.serial(`the graphics console shows a ${kind} guest's display`, async (t) => {
    t.timeout(600000) // virt-manager and its AT-SPI tree under Xvfb: minutes on a loaded machine
    const name = `vm-${kind.toLowerCase()}`
    if (kind === 'VNC') {
      // vm-run has VNC already and is running.
    } else {
      await defineGuest(ns, name, {devices: `${SERIAL_PTY}\n${devices}`})
      await startGuest(ns, name)
    }
    const vm = kind === 'VNC' ? 'vm-run' : name
    await withVmm(['--show-domain-console', vm], async (v) => {
      const r = await vmm(desk, ['graphics', vm], 135)
      t.falsy(r.error, `${r.error ?? ''}\nvirt-manager log:\n${logTail(v)}`)
      if (!r.rect) return
      const f = await waitNotBlank(vm, r.rect)
      const png = shotPath(`${vm}-window.png`)
      await desk.screenshot(png)
      t.log(`screenshots: ${png} ${f.file}`)
      t.true(f.colours >= 2 && f.otherShare >= 0.002, `console area looks blank: ${JSON.stringify(f)}`)
    })
    if (vm !== 'vm-run') await virshOk(ns, ['destroy', vm])
  })
}

test.serial('the Snapshots view lists, creates and reverts a snapshot', async (t) => {
  t.timeout(600000) // virt-manager and its AT-SPI tree under Xvfb: minutes on a loaded machine
  const disk = join(ns.root, 'vm-snap.qcow2')
  const log = join(ns.root, 'vm-snap.log')
  await makeQcow2(disk)
  await defineGuest(ns, 'vm-snap', {devices: `${qcow2Disk(disk)}\n${serialFile(log)}`, cmdline: 'console=ttyS0 quiet panic=-1 cryptomgr.notests'})
  await startGuest(ns, 'vm-snap')
  await waitForLog(log, READY, 1, 90000)
  await withVmm(['--show-domain-editor', 'vm-snap'], async (v) => {
    const first = await vmm(desk, ['snapshots', 'vm-snap', '--create', 'ui-snap1'], 135)
    t.falsy(first.error, `${first.error ?? ''}\nvirt-manager log:\n${logTail(v)}`)
    if (first.error) return
    t.deepEqual(first.listed, [])
    t.deepEqual(first.after_create, ['ui-snap1'])
    // Another client takes a second snapshot, which becomes the current one; the view lists it and
    // reverts to the first.
    await virshOk(ns, ['snapshot-create-as', 'vm-snap', 'cli-snap2'])
    t.is(await virshOk(ns, ['snapshot-current', '--name', 'vm-snap']), 'cli-snap2')
    const second = await vmm(desk, ['snapshots', 'vm-snap', '--revert', 'ui-snap1'], 135)
    t.falsy(second.error, second.error)
    if (second.error) return
    t.deepEqual([...(second.listed ?? [])].sort(), ['cli-snap2', 'ui-snap1'])
    t.is(second.reverted, 'ui-snap1')
    // virt-manager reverts in a background job once the question is answered.
    await waitFor(
      'the revert to ui-snap1',
      async () => (await ns.virsh(['snapshot-current', '--name', 'vm-snap'])).stdout.trim() === 'ui-snap1',
      60000,
    )
    t.is(await virshOk(ns, ['domstate', 'vm-snap']), 'running')
  })
})
