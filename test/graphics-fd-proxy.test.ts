/**
 * The graphics descriptors through virtproxyd (libvirt-sock in front of virtqemud), as
 * virt-manager meets them on a host running modular daemons: the proxy forwards the descriptor
 * of DOMAIN_OPEN_GRAPHICS_FD's reply and of DOMAIN_OPEN_GRAPHICS's call.
 */
import test from 'ava'
import {join} from 'node:path'
import {python, startDaemon, scratchDir, type TestDaemon} from './helpers/daemon.js'
import {guestXml, killGuestsUnder} from './helpers/guest.js'

const root = scratchDir('vctl-gfxproxy-')
const daemons: TestDaemon[] = []

test.before(async () => {
  daemons.push(await startDaemon(['--driver', 'qemu'], {root, keepRoot: true}))
  daemons.push(await startDaemon(['--driver', 'proxy'], {root, keepRoot: true}))
})
test.after.always(async () => {
  killGuestsUnder(root)
  for (const d of daemons.reverse()) await d.stop()
})

test('openGraphicsFD and openGraphics through the proxy reach the guest VNC server', async (t) => {
  const uri = `qemu+unix:///system?socket=${join(root, 'run/libvirt/libvirt-sock')}`
  const xml = guestXml('gp', join(root, 'gp.log'), "<graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1'/>")
  const r = await python(`
import libvirt, os, socket
conn = libvirt.open(${JSON.stringify(uri)})
d = conn.createXML(${JSON.stringify(xml)}, 0)
s = socket.socket(fileno=d.openGraphicsFD(0))
s.settimeout(20)
print(s.recv(12).decode().strip())
s.close()
a, b = socket.socketpair()
d.openGraphics(0, b.fileno(), 0)
b.close()
a.settimeout(20)
print(a.recv(12).decode().strip())
a.close()
d.destroy()
`)
  t.is(r.code, 0, r.stderr)
  t.deepEqual(r.stdout.trim().split('\n'), ['RFB 003.008', 'RFB 003.008'])
})
