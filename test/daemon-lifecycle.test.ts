// vctl daemon start: -d readiness, -t idle exit, PID file ownership, stale sockets, SIGTERM, config.
import test, {type ExecutionContext} from 'ava'
import {existsSync, lstatSync, mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {spawn} from 'node:child_process'
import {BIN, connectUnix, freePort, isRunning, run, startDaemon, tempRoot, vctl, virsh, waitExit} from './helpers/daemon.js'
import type {SocketStatus} from '../src/lib/daemon/socket-status.js'

/** A fresh root removed when the test ends. */
function scratch(t: ExecutionContext): string {
  const root = tempRoot()
  t.teardown(() => rmSync(root, {recursive: true, force: true}))
  return root
}

test('-d returns with the sockets accepting; SIGTERM removes sockets and PID file', async (t) => {
  const d = await startDaemon([], {root: scratch(t), keepRoot: true})
  // Ready on return: the very first call succeeds.
  const r = await virsh(d.uri('test'), ['list'])
  t.is(r.code, 0, r.stderr)
  process.kill(d.pid, 'SIGTERM')
  t.true(await waitExit(d.pid))
  t.false(existsSync(d.sock))
  t.false(existsSync(d.sockRo))
  t.false(existsSync(d.sockAdmin))
  t.false(existsSync(join(d.root, 'run/libvirtd.pid')))
})

test('a second daemon on the same root refuses with a clear message', async (t) => {
  const d = await startDaemon()
  const r = await vctl(['daemon', 'start', '--root', d.root])
  t.is(r.code, 1)
  t.regex(r.stderr, new RegExp(`already running.*${d.pid}|${d.pid}.*already running`, 's'))
  t.is((await virsh(d.uri('test'), ['list'])).code, 0)
  await d.stop()
})

test('-t 2 exits after 2 s idle, not while a client is connected', async (t) => {
  const root = scratch(t)
  const child = spawn(process.execPath, [BIN, 'daemon', 'start', '--root', root, '-t', '2'], {stdio: 'ignore'})
  t.teardown(() => child.kill())
  let exitedAt: number | undefined
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      exitedAt = Date.now()
      resolve(code)
    }),
  )
  const sock = join(root, 'run/libvirt/libvirt-sock')
  // A client holding a connection for 3 s keeps the daemon alive past its 2 s idle timeout. The
  // times are measured from the moments the test controls (the client's close), not from the
  // daemon's start-up, which a loaded machine can stretch.
  const held = await connectUnix(sock)
  await new Promise((r) => setTimeout(r, 3000))
  t.is(exitedAt, undefined, 'the daemon exited while a client was connected')
  const closedAt = Date.now()
  held.destroy()
  const code = await exited
  const idle = (exitedAt ?? Date.now()) - closedAt
  t.is(code, 0)
  t.true(idle >= 2000, `exited ${idle} ms after the last client left`)
  t.true(idle < 15000, `exited ${idle} ms after the last client left`)
  t.false(existsSync(sock))
})

test('stale sockets and PID file of a dead daemon are replaced', async (t) => {
  const root = tempRoot()
  const runDir = join(root, 'run/libvirt')
  mkdirSync(runDir, {recursive: true})
  // A socket file nobody listens on (bound by a process that exited without unlinking it; a Node
  // server would unlink its socket on close), and a PID file naming a process that has exited.
  const stale = join(runDir, 'libvirt-sock')
  const bound = await run('/usr/bin/python3', ['-c', 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])', stale])
  t.is(bound.code, 0, bound.stderr)
  t.true(lstatSync(stale).isSocket())
  const dead = spawn('true')
  await new Promise((r) => dead.once('exit', r))
  writeFileSync(join(root, 'run/libvirtd.pid'), `${dead.pid}\n`)
  const d = await startDaemon([], {root})
  t.is(Number(readFileSync(join(root, 'run/libvirtd.pid'), 'utf8')), d.pid)
  t.is((await virsh(d.uri('test'), ['list'])).code, 0)
  await d.stop()
})

test('config: socket perms, unix_sock_dir; malformed config names file and line', async (t) => {
  const root = tempRoot()
  mkdirSync(join(root, 'etc/libvirt'), {recursive: true})
  writeFileSync(join(root, 'etc/libvirt/libvirtd.conf'), '# test config\nunix_sock_rw_perms = "0770"\nunix_sock_ro_perms = "0755"\nunknown_key = 1\n')
  const d = await startDaemon([], {root})
  const r = await vctl(['sockets', 'status', '--root', root, '--json'])
  const list = JSON.parse(r.stdout) as SocketStatus[]
  t.is(list.find((s) => s.kind === 'rw')?.mode, '0770')
  t.is(list.find((s) => s.kind === 'ro')?.mode, '0755')
  await d.stop()

  const bad = join(scratch(t), 'bad.conf')
  writeFileSync(bad, 'listen_tcp = 1\ntcp_port = \n')
  const b = await vctl(['daemon', 'start', '--root', scratch(t), '-f', bad])
  t.is(b.code, 1)
  t.regex(b.stderr, new RegExp(`${bad}:2`))
  const missing = await vctl(['daemon', 'start', '--root', scratch(t), '-f', '/nonexistent/x.conf'])
  t.is(missing.code, 1)
  t.regex(missing.stderr, /\/nonexistent\/x\.conf/)
})

test('--listen: plain TCP defaults to auth_tcp = "sasl" (a user vctl does not know is refused), "none" serves', async (t) => {
  const port = await freePort()
  const cfgDir = scratch(t)
  const noAuth = join(cfgDir, 'no-auth.conf')
  writeFileSync(noAuth, `listen_tcp = 1\nlisten_tls = 0\ntcp_port = "${port}"\nlisten_addr = "127.0.0.1"\n`)
  const sasl = await startDaemon(['-f', noAuth, '--listen'])
  const authFile = join(cfgDir, 'auth.conf')
  writeFileSync(authFile, '[credentials-c]\nauthname=nobody\npassword=x\n\n[auth-libvirt-default]\ncredentials=c\n')
  const refused = await run('virsh', ['-c', `test+tcp://127.0.0.1:${port}/default`, 'list', '--all'], {
    env: {LC_ALL: 'C', LIBVIRT_AUTH_FILE: authFile},
  })
  t.not(refused.code, 0)
  t.regex(refused.stderr, /authentication failed: authentication failed/)
  await sasl.stop()
  const ok = join(cfgDir, 'ok.conf')
  writeFileSync(ok, `listen_tcp = 1\nlisten_tls = 0\nauth_tcp = "none"\ntcp_port = "${port}"\nlisten_addr = "127.0.0.1"\n`)
  const d = await startDaemon(['-f', ok, '--listen'])
  const r = await virsh(`test+tcp://127.0.0.1:${port}/default`, ['list', '--all'])
  t.is(r.code, 0, r.stderr)
  t.regex(r.stdout, /test\s+running/)
  await d.stop()
})

test('--version and --help', async (t) => {
  const v = await vctl(['daemon', 'start', '--version'])
  t.is(v.code, 0)
  t.regex(v.stdout, /^libvirtd \(vctl\) \d+\.\d+\.\d+/)
  const h = await vctl(['daemon', 'start', '-h'])
  t.is(h.code, 0)
  t.regex(h.stdout, /--timeout/)
  t.regex(h.stdout, /--pid-file/)
})

test('daemon status and daemon stop through the PID file', async (t) => {
  const d = await startDaemon()
  let r = await vctl(['daemon', 'status', '--root', d.root, '--json'])
  t.is(r.code, 0, r.stderr)
  t.like(JSON.parse(r.stdout), {daemon: 'libvirtd', running: true, pid: d.pid})
  r = await vctl(['daemon', 'stop', '--root', d.root, '--json'])
  t.like(JSON.parse(r.stdout), {stopped: true, pid: d.pid})
  t.false(isRunning(d.pid), '`daemon stop` returns once the process is gone')
  r = await vctl(['daemon', 'status', '--root', d.root])
  t.is(r.code, 3)
  t.regex(r.stdout, /not running/)
  await d.stop()
})
