// Guest consoles and screenshots over RPC streams, against virtqemud (vctl daemon start --driver
// qemu) running the tiny test guest (a shell on ttyS0 after READY): the real virsh console driven
// through a pty, libvirt-python for the error cases, a client that never reads, and screenshots.
import test from 'ava'
import {readFileSync, readdirSync, readlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {BIN, python, run, startDaemon, virsh, waitFor, type RunResult, type TestDaemon} from './helpers/daemon.js'
import {INITRD, KERNEL, killGuestsUnder} from './helpers/guest.js'
import {Connection} from '../src/lib/client/connection.js'
import {openConsole} from '../src/lib/client/console-stream.js'
import {remote} from '../src/lib/rpc/programs/remote.js'

let d: TestDaemon
let U: string

function consoleGuest(name: string, serial: string, display = true): string {
  return `<domain type='qemu'>
  <name>${name}</name>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>${KERNEL}</kernel>
    <initrd>${INITRD}</initrd>
    <cmdline>console=ttyS0 quiet panic=-1 cryptomgr.notests</cmdline>
  </os>
  <features><acpi/></features>
  <devices>
    ${serial}
    ${display ? "<graphics type='vnc' autoport='yes' listen='127.0.0.1'/><video><model type='vga'/></video>" : ''}
  </devices>
</domain>
`
}

const PTY = `<serial type='pty'><target port='0'/></serial><console type='pty'><target type='serial' port='0'/></console>`

/**
 * Runs a command in a pty (as a person at a terminal would), waits for the console banner, types
 * `echo hello-N` until the shell answers with the line hello-N, then presses Ctrl+]; prints JSON.
 */
const PTY_DRIVER = String.raw`
import json, os, pty, random, select, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
out = b''
def wait(needle, t):
    global out
    end = time.time() + t
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                out += os.read(fd, 65536)
            except OSError:
                return False
            if needle in out:
                return True
    return False
res = {'banner': wait(b'Escape character', 60)}
n = random.randint(10000, 99999)
line = b'\nhello-%d\r\n' % n
ok = False
for _ in range(40):  # the shell starts after READY: retype until it answers
    os.write(fd, b'echo hello-%d\r' % n)
    if wait(line, 1.5):
        ok = True
        break
res['roundtrip'] = ok
t0 = time.time()
os.write(fd, b'\x1d')
r, _, _ = select.select([fd], [], [], 0)
_, status = os.waitpid(pid, 0)
res['exit'] = os.waitstatus_to_exitcode(status)
res['exitMs'] = int((time.time() - t0) * 1000)
res['tail'] = out[-300:].decode('utf-8', 'replace')
print(json.dumps(res))
`

interface PtyResult {
  banner: boolean
  roundtrip: boolean
  exit: number
  exitMs: number
  tail: string
}

async function throughPty(cmd: string[]): Promise<PtyResult> {
  const r = await longPython(`import sys; sys.argv = ['x', ${cmd.map((c) => JSON.stringify(c)).join(', ')}]\n${PTY_DRIVER}`)
  if (r.code !== 0) throw new Error(`pty driver failed: ${r.stderr}`)
  return JSON.parse(r.stdout) as PtyResult
}

/** Debian's python with room for the snippets' own waits (up to a minute each on a loaded machine). */
function longPython(code: string): Promise<RunResult> {
  return run('/usr/bin/python3', ['-c', code], {timeout: 180000})
}

/** A libvirt-python snippet against the daemon; prints what it prints. */
async function py(code: string): Promise<string> {
  const r = await longPython(
    `import libvirt, sys, time\nlibvirt.registerErrorHandler(lambda c, e: None, None)\nc = libvirt.open(${JSON.stringify(U)})\n${code}`,
  )
  if (r.code !== 0) throw new Error(`python failed: ${r.stderr}`)
  return r.stdout.trim()
}

/** Bytes the process read with read(2) and friends, from pty, sockets and files alike. */
function bytesRead(pid: number): number {
  return Number(/rchar:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))?.[1])
}

function rssKiB(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1])
}

test.before(async () => {
  d = await startDaemon(['--driver', 'qemu'])
  U = d.uri('qemu')
  for (const [name, serial] of [
    ['con1', PTY],
    ['confile', `<serial type='file'><source path='${join(d.root, 'confile.log')}'/><target port='0'/></serial>`],
  ]) {
    const file = join(d.root, `${name}.xml`)
    writeFileSync(file, consoleGuest(name, serial, name === 'con1'))
    const r = await virsh(U, ['define', file])
    if (r.code !== 0) throw new Error(r.stderr)
  }
  const r = await virsh(U, ['start', 'con1'])
  if (r.code !== 0) throw new Error(r.stderr)
})

test.after.always(async () => {
  if (d) {
    killGuestsUnder(d.root)
    await d.stop()
  }
})

test.serial('the live XML shows the pty, as libvirt writes it', async (t) => {
  const xml = (await virsh(U, ['dumpxml', 'con1'])).stdout
  const m = /<console type='pty' tty='(\/dev\/pts\/\d+)'>\s*<source path='(\/dev\/pts\/\d+)'\/>/.exec(xml)
  t.truthy(m, xml)
  t.is(m?.[1], m?.[2])
  t.regex(xml, /<serial type='pty'>\s*<source path='\/dev\/pts\/\d+'\/>/)
  t.notRegex((await virsh(U, ['dumpxml', 'con1', '--inactive'])).stdout, /pts/)
})

test.serial('virsh console is interactive: a typed line round-trips through the guest shell, Ctrl+] exits', async (t) => {
  const r = await throughPty(['virsh', '-c', U, 'console', 'con1'])
  t.true(r.banner, r.tail)
  t.true(r.roundtrip, r.tail)
  t.is(r.exit, 0, r.tail)
  // Prompt, not a hang (virsh would never exit); the margin is for a loaded machine.
  t.true(r.exitMs < 15000, `${r.exitMs} ms`)
})

test.serial('vctl domain console takes the same path', async (t) => {
  const r = await throughPty([process.execPath, BIN, 'domain', 'console', 'con1', '-c', U])
  t.true(r.banner, r.tail)
  t.true(r.roundtrip, r.tail)
  t.is(r.exit, 0, r.tail)
})

test.serial('a second console is refused; --force takes over and the first stream ends with an error', async (t) => {
  const out = await py(`
d = c.lookupByName('con1')
st1 = c.newStream(0)
d.openConsole(None, st1, 0)
c2 = libvirt.open(${JSON.stringify(U)})
d2 = c2.lookupByName('con1')
try:
    d2.openConsole(None, c2.newStream(0), 0)
    print('second: opened')
except libvirt.libvirtError as e:
    print('second:', e.get_error_code(), e.get_error_domain(), e.get_error_message())
st2 = c2.newStream(0)
d2.openConsole(None, st2, libvirt.VIR_DOMAIN_CONSOLE_FORCE | libvirt.VIR_DOMAIN_CONSOLE_SAFE)
print('forced: opened')
try:
    for _ in range(100):
        st1.recv(4096)
    print('first: still open')
except libvirt.libvirtError as e:
    print('first:', e.get_error_code(), e.get_error_domain(), e.get_error_message())
st2.send(b'echo forced-$((40+2))\\r')
o = b''
end = time.time() + 60
while b'forced-42\\r\\n' not in o and time.time() < end:
    o += st2.recv(4096)
print('forced works:', b'forced-42\\r\\n' in o)
st2.abort()
`)
  const lines = out.split('\n')
  t.is(lines[0], 'second: 9 10 operation failed: Active console session exists for this domain')
  t.is(lines[1], 'forced: opened')
  t.is(lines[2], 'first: 39 38 stream had I/O failure')
  t.is(lines[3], 'forced works: True')
})

test.serial('bad input: a stopped guest, an unknown device, a console that is not a pty, unknown flags', async (t) => {
  const out = await py(`
def err(f):
    try:
        f()
        return 'ok'
    except libvirt.libvirtError as e:
        return '%d %d %s' % (e.get_error_code(), e.get_error_domain(), e.get_error_message())
f = c.lookupByName('confile')
print(err(lambda: f.openConsole(None, c.newStream(0), 0)))
f.create()
print(err(lambda: f.openConsole(None, c.newStream(0), 0)))
f.destroy()
d = c.lookupByName('con1')
print(err(lambda: d.openConsole('serial7', c.newStream(0), 0)))
print(err(lambda: d.openConsole(None, c.newStream(0), 4)))
print(err(lambda: d.openConsole('serial0', c.newStream(0), 0)))
`)
  t.deepEqual(out.split('\n'), [
    '55 20 Requested operation is not valid: domain is not running',
    '1 10 internal error: character device serial0 is not using a PTY',
    '1 10 internal error: cannot find character device serial7',
    '8 10 unsupported flags (0x4) in function qemuDomainOpenConsole',
    'ok',
  ])
  // the daemon dropped the streams of the failed calls and of the closed connection: a new console opens
  t.is((await py(`c.lookupByName('con1').openConsole(None, c.newStream(0), 0); print('opened')`)).trim(), 'opened')
})

test.serial('a client that opens a console and never reads: the daemon stays bounded while the guest prints, others are served', async (t) => {
  // Its waits are generous for a loaded machine; together they may exceed ava's default.
  t.timeout(300000)
  const conn = await Connection.open(U)
  t.teardown(() => conn.rpc.destroy())
  const dom = (await conn.call(remote.procs.DOMAIN_LOOKUP_BY_NAME, {name: 'con1'})).dom
  const st = await openConsole(conn, dom, {force: true})
  // wait for the guest's shell (reading in the background until then)
  let seen = ''
  let reading = true
  const reader = (async () => {
    while (reading) {
      const c = await st.read()
      if (!c) break
      if (Buffer.isBuffer(c)) seen += c.toString('latin1')
    }
  })()
  for (let i = 0; i < 60 && !seen.includes('\nshell-up\r\n'); i++) {
    await st.write(Buffer.from("echo shell-''up\r"))
    await new Promise((r) => setTimeout(r, 1000))
  }
  reading = false
  t.true(seen.includes('\nshell-up\r\n'), seen.slice(-300))
  // the guest prints without end; this client reads nothing from now on
  await st.write(Buffer.from(`yes ${'x'.repeat(70)}\r`))
  // The daemon fills its window and the socket buffers, then stops reading the pty (the guest's
  // output waits in QEMU): its reads stop although the guest keeps printing.
  const readAtStop = bytesRead(d.pid)
  const deadline = Date.now() + 60000
  let last = readAtStop
  for (;;) {
    await new Promise((r) => setTimeout(r, 1000))
    const now = bytesRead(d.pid)
    if (now - last < 8192) break
    last = now
    if (Date.now() > deadline) break
  }
  const before = rssKiB(d.pid)
  const readBefore = bytesRead(d.pid)
  const samples: number[] = []
  for (let i = 0; i < 6; i++) {
    await new Promise((r) => setTimeout(r, 500))
    samples.push(rssKiB(d.pid))
  }
  const read = bytesRead(d.pid) - readBefore
  const total = bytesRead(d.pid) - readAtStop
  const growth = Math.max(...samples) - before
  t.log(
    `after the client stopped reading, the daemon read ${total} bytes in all, ${read} in the last 3 s; RSS ${before} -> at most ${Math.max(...samples)} KiB`,
  )
  t.true(read < 64 * 1024, `the daemon read ${read} bytes in 3 s while its client did not read`)
  t.true(total < 4 * 1024 * 1024, `the daemon read ${total} bytes after its client stopped reading`)
  t.true(growth < 20 * 1024, `RSS grew by ${growth} KiB`)
  void reader
  // Served, not stalled behind the console (a stalled daemon would never answer); the margin is
  // for a loaded machine, where virsh alone may take a second or two.
  const t0 = Date.now()
  const list = await virsh(U, ['list', '--name'])
  t.true(list.stdout.includes('con1'))
  t.true(Date.now() - t0 < 20000, `${Date.now() - t0} ms`)
  // the guest is still there and the data flows once someone reads: take the console over and stop the loop
  const out = await py(`
d = c.lookupByName('con1')
st = c.newStream(0)
d.openConsole(None, st, libvirt.VIR_DOMAIN_CONSOLE_FORCE)
o = b''
end = time.time() + 30
while len(o) <= 10000 and time.time() < end:
    o += st.recv(65536)
print('flowing:', len(o) > 10000)
st.send(b'\\x03')
time.sleep(0.5)
st.send(b'echo stopped-$((1+1))\\r')
o = b''
end = time.time() + 60
while b'stopped-2\\r\\n' not in o and time.time() < end:
    o += st.recv(65536)
print('stopped:', b'stopped-2\\r\\n' in o)
st.abort()
`)
  t.deepEqual(out.split('\n'), ['flowing: True', 'stopped: True'])
})

test.serial('virsh screenshot writes a PPM of the guest display; the temp file is gone', async (t) => {
  const file = join(d.root, 'shot.ppm')
  const r = await virsh(U, ['screenshot', 'con1', file])
  t.is(r.code, 0, r.stderr)
  t.regex(r.stdout, /with type of image\/x-portable-pixmap/)
  const img = readFileSync(file)
  const m = /^P6\n(\d+) (\d+)\n255\n/.exec(img.subarray(0, 32).toString('latin1'))
  t.truthy(m)
  const [w, h] = [Number(m?.[1]), Number(m?.[2])]
  // VGA text mode, what the guest's display shows
  t.deepEqual([w, h], [720, 400])
  t.is(img.length, (m?.[0].length ?? 0) + w * h * 3)
  const leftovers = (
    await python(`import glob; print(len(glob.glob(${JSON.stringify(join(d.root, 'var/lib/libvirt/qemu/qemu.screendump.*'))})))`)
  ).stdout.trim()
  t.is(leftovers, '0')
  const bad = await virsh(U, ['screenshot', 'con1', file, '--screen', '1'])
  t.regex(bad.stderr, /invalid argument: no such screen ID/)
  const off = await virsh(U, ['screenshot', 'confile', file])
  t.regex(off.stderr, /domain is not running/)
  // a guest without a display, as libvirt says it
  t.is((await virsh(U, ['start', 'confile'])).code, 0)
  const none = await virsh(U, ['screenshot', 'confile', file])
  t.regex(none.stderr, /Requested operation is not valid: no screens to take screenshot from/)
  t.is((await virsh(U, ['destroy', 'confile'])).code, 0)
})

test.serial('when the guest stops, an open console ends (virsh console exits)', async (t) => {
  const out = await py(`
d = c.lookupByName('con1')
st = c.newStream(0)
d.openConsole(None, st, libvirt.VIR_DOMAIN_CONSOLE_FORCE)
d.destroy()
n = 0
try:
    while True:
        x = st.recv(65536)
        if not x:
            break
        n += 1
    print('eof')
except libvirt.libvirtError as e:
    print('error:', e.get_error_message())
st.finish()
print('finished')
`)
  t.deepEqual(out.split('\n'), ['eof', 'finished'])
  // the daemon let go of the guest's pty
  const ptys = () => readdirSync(`/proc/${d.pid}/fd`).filter((f) => readlinkOr(`/proc/${d.pid}/fd/${f}`).startsWith('/dev/pts/'))
  await waitFor('the daemon to close the pty', () => ptys().length === 0).catch(() => undefined)
  t.deepEqual(ptys(), [])
})

function readlinkOr(p: string): string {
  try {
    return readlinkSync(p)
  } catch {
    return ''
  }
}
