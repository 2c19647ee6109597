// virt-manager 4.1's New VM wizard under Xvfb against qemu:///system (vctl, or Debian's libvirtd with
// VCTL_UI_DAEMON=libvirtd): the daemon runs in a network namespace of its own, where a system-mode
// daemon has the `default` NAT network (virbr0) up; the wizard must offer it, not "Failed to find a
// suitable default network", and the guest it creates must be plugged into it.
import test from 'ava'
import {run, waitFor} from './helpers/daemon.js'
import {startSystemNamespace, systemDaemon, type SystemNamespace} from './helpers/system-ns.js'
import {startDesktop, type Desktop} from './helpers/xvfb.js'
import {virshOk} from './ui/guests.js'
import {logTail, startVmm, vmm} from './ui/vmm.js'

let ns: SystemNamespace
let desk: Desktop

test.before(async () => {
  ns = await startSystemNamespace('vctl-wizard-', systemDaemon(), {netns: true})
  // libvirt's packaging defines `default` but does not autostart it in the private copy of /etc/libvirt.
  if (systemDaemon() === 'libvirtd') await virshOk(ns, ['net-start', 'default'])
  desk = await startDesktop(ns.root)
})

test.after.always(async () => {
  await desk?.stop()
  await ns?.stop()
})

test.serial('the default network is up in the namespace', async (t) => {
  const list = await virshOk(ns, ['net-list', '--name'])
  t.deepEqual(
    list.split('\n').map((l) => l.trim()),
    ['default'],
  )
  t.regex(await virshOk(ns, ['net-dumpxml', 'default']), /<forward mode='nat'>[\s\S]*<bridge name='virbr0'/)
})

test.serial('the New VM wizard offers the default NAT network and creates a guest on it', async (t) => {
  t.timeout(600000) // virt-manager and its AT-SPI tree under Xvfb: minutes on a loaded machine
  const v = startVmm(ns, desk)
  try {
    const r = await vmm(desk, ['newvm', 'wiz-vm', '--finish'], 180)
    t.falsy(r.error, `${r.error ?? ''}\n${JSON.stringify(r)}\nvirt-manager log:\n${logTail(v)}`)
    t.is(r.network, "Virtual network 'default' : NAT", JSON.stringify(r))
    t.deepEqual(r.warning, [], 'no "Failed to find a suitable default network"')
    t.is(r.created, 'wiz-vm')
  } finally {
    await v.stop()
  }
  const xml = await virshOk(ns, ['dumpxml', '--inactive', 'wiz-vm'])
  const iface = /<interface type='network'>[\s\S]*?<\/interface>/.exec(xml)?.[0] ?? ''
  t.regex(iface, /<source network='default'\/>/, xml)
  t.regex(iface, /<mac address='52:54:00(:[0-9a-f]{2}){3}'\/>/)
  t.regex(iface, /<model type='virtio'\/>/)
  // The wizard starts the guest: its NIC is a tap plugged into the network's bridge.
  await waitFor('wiz-vm to run', async () => (await virshOk(ns, ['domstate', 'wiz-vm'])) === 'running', 60000)
  const row = (await virshOk(ns, ['domiflist', 'wiz-vm'])).split('\n').find((l) => l.includes('default')) ?? ''
  const [tap, type, source, model] = row.trim().split(/\s+/)
  t.deepEqual([type, source, model], ['network', 'default', 'virtio'], row)
  t.regex(tap ?? '', /^vnet\d+$/)
  const netns = ns.netns ?? ''
  const ports = await run('ip', ['-n', netns, '-o', 'link', 'show', 'master', 'virbr0'])
  t.true(ports.stdout.includes(`${tap ?? ''}:`), ports.stdout)
})
