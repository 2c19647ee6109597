// A daemon's start-up path: the daemon bundle's V8 code cache, the gate that lets a daemon listen
// before its drivers are set up (a qemu:///system client is answered once the QEMU driver is there;
// calls that need the other drivers wait for them), the storage volumes the QEMU driver gets before
// the storage driver exists, and readiness sent to systemd without a child process.
import test from 'ava'
import {spawn} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {createServer, type Server} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {Script} from 'node:vm'
import {ROOT_DIR, run, tempRoot, vctl, virsh} from './helpers/daemon.js'
import {DriverRegistry} from '../src/lib/drivers/registry.js'
import {TestDriver} from '../src/lib/drivers/test/driver.js'
import {AbsentQemuDriver} from '../src/lib/daemon/qemu-absent.js'
import {StartupGate, answeredEarly} from '../src/lib/daemon/startup-gate.js'
import {createRemoteProgram, AuthType} from '../src/lib/daemon/remote.js'
import {expectStorage, setupStorage, volumesFor} from '../src/lib/daemon/storage-wiring.js'
import {daemonPaths} from '../src/lib/daemon/paths.js'
import {Logger} from '../src/lib/daemon/logging.js'
import {RpcConnection} from '../src/lib/rpc/server.js'
import {RpcClient} from '../src/lib/rpc/client.js'
import {remote} from '../src/lib/rpc/programs/remote.js'
import {notifyAddress, sdNotify} from '../src/lib/os/sd-notify.js'

const P = remote.procs
const dir = mkdtempSync(join(tmpdir(), 'vctl-startup-'))
test.after.always(() => rmSync(dir, {recursive: true, force: true}))

test('the daemon bundle carries a V8 code cache this node accepts, and no import() a cached script could not run', (t) => {
  const file = join(ROOT_DIR, 'dist/lib/vendor/daemon-wrapped.js')
  const code = readFileSync(file, 'utf8')
  const script = new Script(code, {filename: file, cachedData: readFileSync(`${file}.cache`)})
  t.false(script.cachedDataRejected)
  t.notRegex(code, /(?<![\w$."'`])import\(/)
  // bin/run.js's fast path loads it through daemon-server.js.
  t.regex(readFileSync(join(ROOT_DIR, 'dist/lib/cli/daemon-server.js'), 'utf8'), /daemon-wrapped\.js/)
})

test('the calls answered early need no more than the hypervisor', (t) => {
  for (const p of ['AUTH_LIST', 'CONNECT_OPEN', 'CONNECT_GET_VERSION', 'CONNECT_LIST_ALL_DOMAINS', 'DOMAIN_GET_STATE']) t.true(answeredEarly(p), p)
  for (const p of ['CONNECT_LIST_ALL_NETWORKS', 'STORAGE_POOL_LOOKUP_BY_NAME', 'DOMAIN_CREATE', 'DOMAIN_DEFINE_XML', 'NWFILTER_LOOKUP_BY_NAME'])
    t.false(answeredEarly(p), p)
  for (const p of ['AUTH_LIST', 'CONNECT_LIST_ALL_NETWORKS', 'DOMAIN_GET_STATE'])
    t.truthy(
      Object.values(P).find((d) => d.name === p),
      p,
    )
})

interface Served {
  server: Server
  path: string
  gate: StartupGate
  registry: DriverRegistry
}

/** The REMOTE program behind a gate, served on a UNIX socket, as a daemon serves it while its drivers start. */
async function serveGated(name: string): Promise<Served> {
  const registry = new DriverRegistry('system', 'test:///default')
  const gate = new StartupGate(registry)
  const program = createRemoteProgram({
    registry: {open: (n) => gate.open(n)},
    isSecure: () => true,
    authType: () => AuthType.NONE,
    gate: (def, fn) => gate.wrap(def, fn),
  })
  const server = createServer((socket) => {
    new RpcConnection(socket, {
      programs: new Map([[remote.prog, program]]),
      readonly: false,
      authenticated: true,
      keepaliveInterval: 0,
      keepaliveCount: 0,
      maxRequests: 16,
    })
  })
  const path = join(dir, name)
  await new Promise<void>((resolve) => server.listen(path, resolve))
  return {server, path, gate, registry}
}

/** Whether a promise settles within a few event-loop turns (it was not held). */
async function settlesSoon(p: Promise<unknown>): Promise<boolean> {
  let settled = false
  p.then(
    () => (settled = true),
    () => (settled = true),
  )
  for (let i = 0; i < 20 && !settled; i++) await new Promise((r) => setTimeout(r, 5))
  return settled
}

/** Whether a promise settles within `ms` (generous: for calls that must not be held at all). */
function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)))
  return Promise.race([
    p.then(
      () => true,
      () => true,
    ),
    late,
  ]).finally(() => clearTimeout(timer))
}

test('qemu:///system opens once the QEMU driver is set up; other drivers’ calls wait for the rest of the start-up', async (t) => {
  const s = await serveGated('gated-qemu')
  t.teardown(() => s.server.close())
  s.gate.expectHypervisor('qemu')
  const c = await RpcClient.connect({path: s.path}, [remote])
  t.teardown(() => c.destroy())

  t.deepEqual(await c.call(remote, P.AUTH_LIST, undefined), {types: [AuthType.NONE]})
  const open = c.call(remote, P.CONNECT_OPEN, {name: 'qemu:///system', flags: 0})
  t.false(await settlesSoon(open), 'CONNECT_OPEN waits for the QEMU driver')
  s.registry.addHypervisor({scheme: 'qemu', get: () => new AbsentQemuDriver('system', '/nonexistent/qemu-system-x86_64')})
  s.gate.hypervisorDone('qemu')
  await open
  t.false(s.gate.complete)
  // Answered while the other drivers are still being set up.
  t.deepEqual(await c.call(remote, P.CONNECT_LIST_ALL_DOMAINS, {need_results: 1, flags: 0}), {domains: [], ret: 0})
  const uri = await c.call(remote, P.CONNECT_GET_URI, undefined)
  t.is(uri.uri, 'qemu:///system')

  // A network call waits, then finds the network driver the start-up added to the connection.
  const nets = c.call(remote, P.CONNECT_LIST_ALL_NETWORKS, {need_results: 1, flags: 0})
  t.false(await settlesSoon(nets), 'network calls wait for the network driver')
  const network = new TestDriver().own.network
  s.registry.network = () => network
  await s.gate.finish()
  t.true(s.gate.complete)
  t.deepEqual(
    (await nets).nets.map((n) => n.name),
    ['default'],
  )
  // Afterwards nothing waits (a held call would never settle; a loaded machine may take a while to answer).
  t.true(await settlesWithin(c.call(remote, P.CONNECT_LIST_ALL_NETWORKS, {need_results: 1, flags: 0}), 30000))
})

test('network:///system waits for every driver; test:///default opens at once; a QEMU driver that failed is "no connection driver"', async (t) => {
  const s = await serveGated('gated-others')
  t.teardown(() => s.server.close())
  s.gate.expectHypervisor('qemu')
  const test = new TestDriver()
  s.registry.addHypervisor({scheme: 'test', get: () => test})
  const [a, b, q] = await Promise.all([1, 2, 3].map(() => RpcClient.connect({path: s.path}, [remote])))
  t.teardown(() => [a, b, q].forEach((c) => c.destroy()))

  await b.call(remote, P.CONNECT_OPEN, {name: 'test:///default', flags: 0})
  t.deepEqual(await b.call(remote, P.CONNECT_LIST_ALL_DOMAINS, {need_results: 1, flags: 0}).then((r) => r.domains.map((d) => d.name)), ['test'])
  const own = b.call(remote, P.CONNECT_LIST_ALL_NETWORKS, {need_results: 1, flags: 0})
  t.false(await settlesSoon(own), 'held: only the calls answered early go through before the start-up ends')

  const netOpen = a.call(remote, P.CONNECT_OPEN, {name: 'network:///system', flags: 0})
  const qemuOpen = q.call(remote, P.CONNECT_OPEN, {name: 'qemu:///system', flags: 0})
  t.false(await settlesSoon(netOpen))
  // The QEMU driver's set-up failed: nothing registered for qemu.
  s.gate.hypervisorDone('qemu')
  const err = await t.throwsAsync(qemuOpen)
  t.regex(err.message, /no connection driver available for qemu:\/\/\/system/)
  t.false(await settlesSoon(netOpen))
  const network = new TestDriver().own.network
  s.registry.network = () => network
  await s.gate.finish()
  await netOpen
  // The test driver's own networks, not the registry's.
  t.deepEqual(
    (await own).nets.map((n) => n.name),
    ['default'],
  )
  t.deepEqual(
    (await a.call(remote, P.CONNECT_LIST_ALL_NETWORKS, {need_results: 1, flags: 0})).nets.map((n) => n.name),
    ['default'],
  )
})

test('the QEMU driver’s volumes wait for a storage driver set up after it, or fail as without one', async (t) => {
  const env = {...process.env}
  const log = new Logger(4, () => undefined)
  const registry = new DriverRegistry('system', 'test:///default')
  const ok = {paths: daemonPaths({daemon: 'libvirtd', mode: 'system', root: join(dir, 'root-ok'), env}), log, registry}
  expectStorage(ok)
  const vols = await volumesFor(ok)
  const missing = vols.resolveVolume('default', 'nope.qcow2')
  t.false(await settlesSoon(missing), 'waits for the storage driver')
  await setupStorage(ok)
  const err = await t.throwsAsync(missing)
  t.regex(err.message, /no storage vol with matching name 'nope.qcow2'/)
  t.false(await vols.deleteVolumeByPath('/nonexistent/disk.img'))

  // A storage driver whose set-up fails: volume disks fail as where there is no storage driver.
  const file = join(dir, 'not-a-dir')
  writeFileSync(file, '')
  const bad = {paths: daemonPaths({daemon: 'libvirtd', mode: 'system', root: file, env}), log, registry}
  expectStorage(bad)
  const badVols = await volumesFor(bad)
  const pending = badVols.resolveVolume('default', 'x')
  await t.throwsAsync(setupStorage(bad))
  t.regex((await t.throwsAsync(pending)).message, /no storage driver to resolve volume disks/)
})

test('READY=1 goes to $NOTIFY_SOCKET as one datagram from this process (a path, and an abstract name)', async (t) => {
  t.is(notifyAddress('relative/sock'), undefined)
  t.is(notifyAddress(`/${'x'.repeat(200)}`), undefined)
  for (const name of [join(dir, 'notify.sock'), `@vctl-notify-${process.pid}`]) {
    // Node has no datagram UNIX sockets: python3 receives.
    const recv = spawn(
      '/usr/bin/python3',
      [
        '-c',
        `import socket,sys
s=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM)
n=sys.argv[1]
s.bind('\\0'+n[1:] if n.startswith('@') else n)
print('bound',flush=True)
s.settimeout(30)
sys.stdout.write(s.recv(4096).decode())`,
        name,
      ],
      {stdio: ['ignore', 'pipe', 'inherit']},
    )
    let out = ''
    const bound = new Promise<void>((resolve) =>
      recv.stdout.on('data', (d: Buffer) => {
        out += d.toString()
        if (out.includes('bound\n')) resolve()
      }),
    )
    const exited = new Promise<void>((resolve) => recv.once('exit', () => resolve()))
    await bound
    sdNotify(name, `READY=1\nMAINPID=${process.pid}\n`)
    await exited
    t.is(out, `bound\nREADY=1\nMAINPID=${process.pid}\n`, name)
    if (!name.startsWith('@')) t.true(existsSync(name))
  }
  t.throws(() => sdNotify(join(dir, 'nobody-listens.sock'), 'READY=1\n'), {message: /sendto.*failed/})
})

test('bin/vctl-daemon.cjs, what the units run, is `vctl daemon start`: detaches, serves, reports errors and unusual flags as oclif does', async (t) => {
  const lean = join(ROOT_DIR, 'bin/vctl-daemon.cjs')
  const root = tempRoot('vctl-lean-')
  t.teardown(async () => {
    await vctl(['daemon', 'stop', '--root', root])
    rmSync(root, {recursive: true, force: true})
  })
  const bogus = await run(process.execPath, [lean, '--bogus'])
  t.is(bogus.code, 2)
  t.regex(bogus.stderr, /Nonexistent flag: --bogus/)
  const noConf = await run(process.execPath, [lean, 'daemon', 'start', '--root', root, '-f', join(root, 'missing.conf')])
  t.is(noConf.code, 1)
  t.regex(noConf.stderr, /cannot read configuration file/)

  // `daemon start` in front is optional: -d re-runs the entry with it.
  const started = await run(process.execPath, [lean, '--root', root, '-d'], {timeout: 120_000})
  t.is(started.code, 0, started.stderr)
  t.regex(started.stdout, /^libvirtd started \(pid \d+\)$/m)
  const list = await virsh(`test:///default?socket=${root}/run/libvirt/libvirt-sock`, ['list', '--all'])
  t.is(list.code, 0, list.stderr)
  t.regex(list.stdout, /1\s+test\s+running/)
})
