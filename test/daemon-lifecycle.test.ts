// vctl daemon start: -d readiness, -t idle exit, PID file ownership, stale sockets, SIGTERM, config.
import test from 'ava'
import {existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {createServer} from 'node:net'
import {join} from 'node:path'
import {spawn} from 'node:child_process'
import {BIN, startDaemon, tempRoot, vctl, virsh, waitExit} from './helpers/daemon.js'

test('-d returns with the sockets accepting; SIGTERM removes sockets and PID file', async (t) => {
  const d = await startDaemon([], {keepRoot: true})
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
  const root = tempRoot()
  const started = Date.now()
  const child = spawn(process.execPath, [BIN, 'daemon', 'start', '--root', root, '-t', '2'], {stdio: 'ignore'})
  const sock = join(root, 'run/libvirt/libvirt-sock')
  while (!existsSync(sock) && Date.now() - started < 10000) await new Promise((r) => setTimeout(r, 50))
  // A client holding a connection for 3 s keeps it alive past 2 s.
  const held = virsh(`test+unix:///default?socket=${sock}`, ['event', '--all', '--timeout', '3'])
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  const elapsed = Date.now() - started
  await held
  t.is(code, 0)
  t.true(elapsed >= 4500, `exited after ${elapsed} ms`)
  t.true(elapsed < 9000, `exited after ${elapsed} ms`)
  t.false(existsSync(sock))
})

test('stale sockets and PID file of a dead daemon are replaced', async (t) => {
  const root = tempRoot()
  const runDir = join(root, 'run/libvirt')
  mkdirSync(runDir, {recursive: true})
  // A socket file nobody listens on, and a PID file naming a dead process.
  const srv = createServer()
  await new Promise<void>((r) => srv.listen(join(runDir, 'libvirt-sock'), () => r()))
  srv.close()
  await new Promise((r) => setTimeout(r, 50))
  writeFileSync(join(root, 'run/libvirtd.pid'), '999999\n')
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
  const list = JSON.parse(r.stdout)
  t.is(list.find((s: any) => s.kind === 'rw').mode, '0770')
  t.is(list.find((s: any) => s.kind === 'ro').mode, '0755')
  await d.stop()

  const bad = join(tempRoot(), 'bad.conf')
  writeFileSync(bad, 'listen_tcp = 1\ntcp_port = \n')
  const b = await vctl(['daemon', 'start', '--root', tempRoot(), '-f', bad])
  t.is(b.code, 1)
  t.regex(b.stderr, new RegExp(`${bad}:2`))
  const missing = await vctl(['daemon', 'start', '--root', tempRoot(), '-f', '/nonexistent/x.conf'])
  t.is(missing.code, 1)
  t.regex(missing.stderr, /\/nonexistent\/x\.conf/)
})

test('--listen serves plain TCP only with auth_tcp = "none" set explicitly', async (t) => {
  const port = 20000 + Math.floor(Math.random() * 20000)
  const cfgDir = tempRoot()
  const noAuth = join(cfgDir, 'no-auth.conf')
  writeFileSync(noAuth, `listen_tcp = 1\nlisten_tls = 0\ntcp_port = "${port}"\nlisten_addr = "127.0.0.1"\n`)
  const refused = await vctl(['daemon', 'start', '--root', tempRoot(), '-f', noAuth, '--listen'])
  t.is(refused.code, 1)
  t.regex(refused.stderr, /auth_tcp/)
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
  t.true(await waitExit(d.pid, 1000))
  r = await vctl(['daemon', 'status', '--root', d.root])
  t.is(r.code, 3)
  t.regex(r.stdout, /not running/)
  await d.stop()
})
