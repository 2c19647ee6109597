// Node devices (issue #13): vctl's libvirtd and virtnodedevd side by side with Debian's real libvirtd
// 9.0, all three in one network namespace (so they see the same host: its PCI devices, disks, and
// the namespace's network interfaces). Real libvirtd sees no hot-plugged devices here (no udevd),
// so the veth pair of the events test is checked against vctl alone.
import test from 'ava'
import {mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {BIN, run, tempRoot, virsh, waitExit} from './helpers/daemon.js'
import {nsExec, realLibvirtd} from './helpers/netns.js'

let real: Awaited<ReturnType<typeof realLibvirtd>> | undefined
const roots: string[] = []
let vctlUri = ''
let nodedevUri = ''
let nodedevRoUri = ''

async function startIn(ns: string, extra: string[]): Promise<string> {
  const root = tempRoot('vctl-nd-')
  roots.push(root)
  // A network defined but not autostarted, so the daemon makes no default network (no virbr0 the
  // real libvirtd, which scanned before, would not list).
  mkdirSync(join(root, 'etc/libvirt/qemu/networks'), {recursive: true})
  writeFileSync(
    join(root, 'etc/libvirt/qemu/networks/inert.xml'),
    '<network><name>inert</name><uuid>5f0c3a4e-1b2d-4c6e-8f00-000000000013</uuid></network>\n',
  )
  const r = await nsExec(ns, process.execPath, [BIN, 'daemon', 'start', '--root', root, '-d', ...extra], 120000)
  if (r.code !== 0) throw new Error(`daemon start failed: ${r.stderr}${r.stdout}`)
  return root
}

test.before(async () => {
  real = await realLibvirtd('nd')
  const lib = await startIn(real.ns, [])
  vctlUri = `qemu:///system?socket=${join(lib, 'run/libvirt/libvirt-sock')}`
  const nd = await startIn(real.ns, ['--driver', 'nodedev'])
  nodedevUri = `nodedev:///system?socket=${join(nd, 'run/libvirt/virtnodedevd-sock')}`
  nodedevRoUri = `nodedev:///system?socket=${join(nd, 'run/libvirt/virtnodedevd-sock-ro')}`
})

test.after.always(async () => {
  const stopping: number[] = []
  for (const root of roots) {
    for (const pidFile of ['libvirtd.pid', 'virtnodedevd.pid']) {
      try {
        const pid = Number(readFileSync(join(root, 'run', pidFile), 'utf8').trim())
        process.kill(pid, 'SIGTERM')
        stopping.push(pid)
      } catch {
        // not this daemon's root, or gone
      }
    }
  }
  // Gone before their roots are removed (a daemon still shutting down writes into its root).
  await Promise.all(stopping.map((pid) => waitExit(pid)))
  await real?.cleanup()
  for (const root of roots) rmSync(root, {recursive: true, force: true})
})

/** virsh's output on a URI; a failing command fails the test with its error. */
async function out(uri: string, args: string[], readonly = false): Promise<string> {
  const r = await virsh(uri, args, {readonly})
  if (r.code !== 0) throw new Error(`virsh ${args.join(' ')} on ${uri}: ${r.stderr}`)
  return r.stdout
}

const CAPS = ['system', 'pci', 'usb_device', 'usb', 'net', 'scsi_host', 'scsi_target', 'scsi', 'storage', 'drm', 'mdev_types', 'mdev', 'vdpa']

test("nodedev-list, with every --cap filter and --tree, is the real libvirtd's", async (t) => {
  const realUri = real?.uri ?? ''
  const all = await out(realUri, ['nodedev-list'])
  t.true(/^computer$/m.test(all) && /^pci_0000_00_00_0$/m.test(all) && /^net_lo_00_00_00_00_00_00$/m.test(all), all)
  for (const uri of [vctlUri, nodedevUri, nodedevRoUri]) {
    t.is(await out(uri, ['nodedev-list']), all, uri)
    t.is(await out(uri, ['nodedev-list', '--tree']), await out(realUri, ['nodedev-list', '--tree']), uri)
    for (const cap of CAPS)
      t.is(await out(uri, ['nodedev-list', '--cap', cap]), await out(realUri, ['nodedev-list', '--cap', cap]), `${uri} --cap ${cap}`)
    t.is(await out(uri, ['nodedev-list', '--cap', 'pci,net']), await out(realUri, ['nodedev-list', '--cap', 'pci,net']))
  }
})

test("nodedev-dumpxml of the computer, every PCI device and network interface, and the disks, is the real libvirtd's", async (t) => {
  const realUri = real?.uri ?? ''
  const names = (await out(realUri, ['nodedev-list'])).split('\n').filter((n) => n)
  t.true(names.length > 3)
  for (const name of names) {
    const want = await out(realUri, ['nodedev-dumpxml', name])
    t.is(await out(vctlUri, ['nodedev-dumpxml', name]), want, name)
    t.is(await out(nodedevRoUri, ['nodedev-dumpxml', name], true), want, name)
  }
})

const INFO_PY = `
import libvirt, sys
c = libvirt.open(sys.argv[1]) if sys.argv[2] == 'rw' else libvirt.openReadOnly(sys.argv[1])
def err(f):
    try:
        return f()
    except libvirt.libvirtError as e:
        return ('error', e.get_error_code(), e.get_error_domain(), str(e))
for name in sorted(c.listDevices(None)):
    d = c.nodeDeviceLookupByName(name)
    print(name, d.parent(), d.listCaps(), d.numOfCaps(), d.isActive(), d.isPersistent(), err(d.autostart))
print(sorted(c.listDevices('pci')), c.numOfDevices('net'), c.numOfDevices(None), c.listDevices('bogus'))
print(sorted(x.name() for x in c.listAllDevices(libvirt.VIR_CONNECT_LIST_NODE_DEVICES_CAP_NET | libvirt.VIR_CONNECT_LIST_NODE_DEVICES_CAP_SYSTEM)))
print(err(lambda: c.nodeDeviceLookupByName('nope')))
d = c.nodeDeviceLookupByName('pci_0000_00_00_0')
print(err(d.dettach), err(d.reAttach), err(d.reset), err(lambda: d.detachFlags('vfio', 0)))
d = c.nodeDeviceLookupByName('net_lo_00_00_00_00_00_00')
print(err(d.dettach), err(d.reAttach), err(d.reset), err(lambda: d.setAutostart(1)), err(d.undefine), err(d.create))
`

test('libvirt-python sees the same devices, caps, parents and errors (read-write and read-only)', async (t) => {
  for (const mode of ['rw', 'ro']) {
    const want = await run('/usr/bin/python3', ['-c', INFO_PY, real?.uri ?? '', mode])
    t.is(want.code, 0, want.stderr)
    const got = await run('/usr/bin/python3', ['-c', INFO_PY, vctlUri, mode])
    t.is(got.code, 0, got.stderr)
    t.is(got.stdout, want.stdout, mode)
    t.regex(got.stdout, /\('error', 53, 22, "Node device not found: no node device with matching name 'nope'"\)/)
  }
})

test('virtnodedevd has no hypervisor: detaching is not supported there, read-only connections may not try', async (t) => {
  const rw = await virsh(nodedevUri, ['nodedev-detach', 'pci_0000_00_00_0'])
  t.regex(rw.stderr, /this function is not supported by the connection driver: virNodeDeviceDettach/)
  const ro = await virsh(nodedevRoUri, ['nodedev-reset', 'pci_0000_00_00_0'], {readonly: true})
  t.regex(ro.stderr, /operation forbidden: read only access prevents virNodeDeviceReset/)
  t.regex((await virsh(nodedevUri, ['nodedev-dumpxml', 'nope'])).stderr, /Node device not found: no node device with matching name 'nope'/)
})

const EVENTS_PY = `
import libvirt, sys, threading, subprocess, time
libvirt.virEventRegisterDefaultImpl()
c = libvirt.openReadOnly(sys.argv[1])
seen = []
def cb(conn, dev, event, detail, opaque):
    seen.append((dev.name(), event, detail))
c.nodeDeviceEventRegisterAny(None, libvirt.VIR_NODE_DEVICE_EVENT_ID_LIFECYCLE, cb, None)
def update(conn, dev, opaque):
    seen.append((dev.name(), 'update'))
c.nodeDeviceEventRegisterAny(c.nodeDeviceLookupByName('net_lo_00_00_00_00_00_00'), libvirt.VIR_NODE_DEVICE_EVENT_ID_UPDATE, update, None)
def loop():
    while True:
        libvirt.virEventRunDefaultImpl()
threading.Thread(target=loop, daemon=True).start()
def wait(item):
    end = time.time() + 30
    while item not in seen and time.time() < end:
        time.sleep(0.05)
    print(item in seen, item)
subprocess.run(['ip', '-n', sys.argv[2], 'link', 'add', 'nd1', 'address', '52:54:00:6e:64:02', 'type', 'veth', 'peer', 'name', 'nd1p', 'address', '52:54:00:6e:64:03'], check=True)
wait(('net_nd1_52_54_00_6e_64_02', libvirt.VIR_NODE_DEVICE_EVENT_CREATED, 0))
print(c.nodeDeviceLookupByName('net_nd1_52_54_00_6e_64_02').XMLDesc(0))
subprocess.run(['ip', '-n', sys.argv[2], 'link', 'set', 'lo', 'down'], check=True)
wait(('net_lo_00_00_00_00_00_00', 'update'))
subprocess.run(['ip', '-n', sys.argv[2], 'link', 'set', 'lo', 'up'], check=True)
subprocess.run(['ip', '-n', sys.argv[2], 'link', 'del', 'nd1'], check=True)
wait(('net_nd1_52_54_00_6e_64_02', libvirt.VIR_NODE_DEVICE_EVENT_DELETED, 0))
print(sorted(set(s[0] for s in seen if s[1] != 'update')))
`

test.serial('a network interface that comes and goes gives created and deleted events, one that changes an update event', async (t) => {
  const r = await run('/usr/bin/python3', ['-c', EVENTS_PY, nodedevRoUri, real?.ns ?? ''], {timeout: 90000})
  t.is(r.code, 0, r.stderr)
  const [created, ...rest] = r.stdout.split('\n')
  t.is(created, "True ('net_nd1_52_54_00_6e_64_02', 0, 0)")
  t.is(
    rest.join('\n'),
    [
      '<device>',
      '  <name>net_nd1_52_54_00_6e_64_02</name>',
      '  <path>/sys/devices/virtual/net/nd1</path>',
      '  <parent>computer</parent>',
      "  <capability type='net'>",
      '    <interface>nd1</interface>',
      '    <address>52:54:00:6e:64:02</address>',
      "    <link state='down'/>",
      ...['rx', 'tx', 'sg', 'tso', 'gso', 'rxvlan', 'txvlan', 'txudptnl'].map((f) => `    <feature name='${f}'/>`),
      "    <capability type='80203'/>",
      '  </capability>',
      '</device>',
      '',
      "True ('net_lo_00_00_00_00_00_00', 'update')",
      "True ('net_nd1_52_54_00_6e_64_02', 1, 0)",
      "['net_nd1_52_54_00_6e_64_02', 'net_nd1p_52_54_00_6e_64_03']",
      '',
    ].join('\n'),
  )
})
