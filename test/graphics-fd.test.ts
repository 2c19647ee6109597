/**
 * DOMAIN_OPEN_GRAPHICS_FD (343, the descriptor comes back beside the reply) and
 * DOMAIN_OPEN_GRAPHICS (249, the client's descriptor goes beside the call) on a real QEMU guest
 * through libvirt-python: QEMU's VNC server greets on the socket we hand over; SKIPAUTH skips the
 * password; the errors are libvirt's (compared with libvirtd 9.0); the daemon keeps no descriptor.
 * VNC only: SPICE graphics are not accepted by this branch's QEMU driver.
 */
import test from 'ava'
import {readdirSync} from 'node:fs'
import {join} from 'node:path'
import {python, startDaemon, waitFor, type TestDaemon} from './helpers/daemon.js'
import {guestXml, killGuestsUnder} from './helpers/guest.js'
import {RpcClient} from '../src/lib/rpc/client.js'
import {Feature, remote} from '../src/lib/rpc/programs/remote.js'

let d: TestDaemon

test.before(async () => {
  d = await startDaemon(['--driver', 'qemu'])
})
test.after.always(async () => {
  if (d) {
    killGuestsUnder(d.root)
    await d.stop()
  }
})

const openFds = (pid: number) => readdirSync(`/proc/${pid}/fd`).length

/** Runs a python snippet with `conn` open on the daemon and helpers to read an RFB greeting. */
async function py(body: string): Promise<string> {
  const code = `
import libvirt, os, socket, sys
libvirt.registerErrorHandler(lambda *a: None, None)
conn = libvirt.open(${JSON.stringify(d.uri('qemu'))})
def err(f):
    try:
        f()
        return 'no error'
    except libvirt.libvirtError as e:
        return '%d %d %s' % (e.get_error_code(), e.get_error_domain(), e.get_error_message())
def rfb(sock):
    sock.settimeout(20)
    hello = sock.recv(12)
    sock.sendall(b'RFB 003.008\\n')
    n = sock.recv(1)[0]
    types = list(sock.recv(n))
    return '%s types=%s' % (hello.decode().strip(), types)
${body}
`
  const r = await python(code)
  if (r.code !== 0) throw new Error(`python failed (${r.code}): ${r.stderr}${r.stdout}`)
  return r.stdout.trim()
}

test.serial('FD_PASSING is supported on the UNIX socket, as libvirtd answers', async (t) => {
  const c = await RpcClient.connect({path: d.sock}, [remote])
  t.teardown(() => c.destroy())
  await c.call(remote, remote.procs.CONNECT_OPEN, {name: 'qemu:///system', flags: 0})
  t.deepEqual(await c.call(remote, remote.procs.CONNECT_SUPPORTS_FEATURE, {feature: Feature.FD_PASSING}), {supported: 1})
})

test.serial('openGraphicsFD and openGraphics connect to the guest VNC server; SKIPAUTH skips the password', async (t) => {
  const xml = guestXml('gfx1', join(d.root, 'gfx1.log'), "<graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1' passwd='secret'/>")
  const before = openFds(d.pid)
  const out = await py(`
d = conn.createXML(${JSON.stringify(xml)}, 0)
for flags in (0, libvirt.VIR_DOMAIN_OPEN_GRAPHICS_SKIPAUTH):
    fd = d.openGraphicsFD(0, flags)
    s = socket.socket(fileno=fd)
    print('fd', flags, rfb(s))
    s.close()
a, b = socket.socketpair()
d.openGraphics(0, b.fileno(), libvirt.VIR_DOMAIN_OPEN_GRAPHICS_SKIPAUTH)
b.close()
print('open', rfb(a))
a.close()
# Many in a row: none of the daemon's copies stays open.
for i in range(20):
    os.close(d.openGraphicsFD(0))
`)
  t.deepEqual(out.split('\n'), ['fd 0 RFB 003.008 types=[2]', 'fd 1 RFB 003.008 types=[1]', 'open RFB 003.008 types=[1]'])
  // QEMU's VNC server drops closed clients on its own time; the daemon holds none of them (it closes
  // its copy once sent, which a loaded machine may do a moment after the client got it).
  await waitFor('the daemon to close its copies', () => openFds(d.pid) <= before + 1).catch(() => undefined)
  t.true(openFds(d.pid) <= before + 1, `daemon fds ${before} -> ${openFds(d.pid)}`)
})

test.serial("errors are libvirt's: no such graphics, bad flags, guest not running, a descriptor that is no socket", async (t) => {
  const xml = guestXml('gfx2', join(d.root, 'gfx2.log'))
  const out = await py(`
d = conn.createXML(${JSON.stringify(xml)}, 0)
print(err(lambda: d.openGraphicsFD(0)))
print(err(lambda: d.openGraphicsFD(0, 2)))
d.destroy()
d = conn.defineXML(${JSON.stringify(xml)})
print(err(lambda: d.openGraphicsFD(0)))
nul = os.open('/dev/null', os.O_RDONLY)
print(err(lambda: d.openGraphics(0, nul, 0)).replace('fd %d ' % nul, 'fd N '))
d.undefine()
`)
  t.deepEqual(out.split('\n'), [
    '1 10 internal error: No graphics backend with index 0',
    '8 10 unsupported flags (0x2) in function qemuDomainOpenGraphicsFD',
    '55 20 Requested operation is not valid: domain is not running',
    '8 20 fd N must be a socket',
  ])
})

test.serial('a read-only connection is refused DOMAIN_OPEN_GRAPHICS_FD by the daemon itself', async (t) => {
  const c = await RpcClient.connect({path: d.sockRo}, [remote])
  t.teardown(() => c.destroy())
  await c.call(remote, remote.procs.CONNECT_OPEN, {name: 'qemu:///system', flags: 1})
  const err = await t.throwsAsync(
    c.call(remote, remote.procs.DOMAIN_OPEN_GRAPHICS_FD, {dom: {name: 'x', uuid: Buffer.alloc(16), id: -1}, idx: 0, flags: 0}),
  )
  t.is(err?.message, 'operation forbidden: read only access prevents virDomainOpenGraphicsFD')
})

test.serial('SPICE: the handed-over socket answers a SPICE link message with REDQ (or spice is refused as unsupported)', async (t) => {
  const xml = guestXml('gfx3', join(d.root, 'gfx3.log'), "<graphics type='spice' port='-1' autoport='yes'/>")
  const out = await py(`
import struct
try:
    d = conn.createXML(${JSON.stringify(xml)}, 0)
except libvirt.libvirtError as e:
    print('refused %d %s' % (e.get_error_code(), e.get_error_message()))
    sys.exit(0)
s = socket.socket(fileno=d.openGraphicsFD(0))
s.settimeout(20)
# SpiceLinkHeader (magic, major 2, minor 2, size) + SpiceLinkMess for the main channel, no caps.
mess = struct.pack('<IBBIII', 0, 1, 0, 0, 0, 18)
s.sendall(b'REDQ' + struct.pack('<III', 2, 2, len(mess)) + mess)
print('reply', s.recv(4).decode())
s.close()
d.destroy()
`)
  if (out.startsWith('refused')) t.regex(out, /^refused 67 unsupported configuration: .*spice/)
  else t.is(out, 'reply REDQ')
})

test.serial("the test driver has no graphics to open: NO_SUPPORT, as libvirt's test driver", async (t) => {
  const td = await startDaemon()
  t.teardown(() => td.stop())
  const r = await python(`
import libvirt, socket
libvirt.registerErrorHandler(lambda *a: None, None)
d = libvirt.open(${JSON.stringify(td.uri('test'))}).lookupByName('test')
a, b = socket.socketpair()
for f in (lambda: d.openGraphicsFD(0), lambda: d.openGraphics(0, b.fileno(), 0)):
    try:
        f()
    except libvirt.libvirtError as e:
        print(e.get_error_code(), e.get_error_domain(), e.get_error_message())
`)
  t.is(r.code, 0, r.stderr)
  t.deepEqual(r.stdout.trim().split('\n'), [
    '3 20 this function is not supported by the connection driver: virDomainOpenGraphicsFD',
    '3 20 this function is not supported by the connection driver: virDomainOpenGraphics',
  ])
})
