// vctl's own client commands against the same daemon virsh uses; every --json output parses.
import test from 'ava'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {hostname} from 'node:os'
import {startDaemon, vctl, virsh, type TestDaemon} from './helpers/daemon.js'
import type {DomainDetails, DomainRef, DomainSummary} from '../src/lib/client/domains.js'
import type {NodeInfo, Versions} from '../src/lib/client/host.js'
import type {SocketStatus} from '../src/lib/daemon/socket-status.js'

let d: TestDaemon
let U: string
test.before(async () => {
  d = await startDaemon()
  U = d.uri('test')
})
test.after.always(async () => {
  await d?.stop()
})

interface State {
  name: string
  state: string
  reason: string
}

async function json<T>(args: string[]): Promise<T> {
  const r = await vctl([...args, '-c', U, '--json'])
  t0(r.code === 0, `vctl ${args.join(' ')} failed: ${r.stderr}${r.stdout}`)
  return JSON.parse(r.stdout) as T
}
function t0(ok: boolean, msg: string): void {
  if (!ok) throw new Error(msg)
}

test.serial('domain lifecycle with --json matches virsh', async (t) => {
  t.timeout(300000) // some twenty vctl and virsh processes: each takes seconds to start on a loaded machine
  const file = join(d.root, 'cli1.xml')
  writeFileSync(file, "<domain type='test'><name>cli1</name><memory unit='MiB'>64</memory><os><type>hvm</type></os></domain>")
  const def = await json<DomainRef>(['domain', 'define', file])
  t.is(def.name, 'cli1')
  t.is(def.id, null)
  let list = await json<DomainSummary[]>(['domain', 'list', '--all'])
  t.deepEqual(
    list.map((x) => [x.name, x.state]),
    [
      ['test', 'running'],
      ['cli1', 'shut off'],
    ],
  )
  const started = await json<DomainRef>(['domain', 'start', 'cli1'])
  t.true((started.id ?? 0) > 0)
  t.is((await virsh(U, ['domstate', 'cli1'])).stdout.trim(), 'running')
  t.deepEqual(await json<State>(['domain', 'state', 'cli1']), {name: 'cli1', state: 'running', reason: 'booted'})
  await json(['domain', 'suspend', 'cli1'])
  t.is((await json<State>(['domain', 'state', 'cli1'])).state, 'paused')
  await json(['domain', 'resume', 'cli1'])
  const info = await json<DomainDetails>(['domain', 'info', 'cli1'])
  t.is(info.state, 'running')
  t.is(info.maxMemoryKiB, '65536')
  t.is(info.persistent, true)
  const xml = await json<{xml: string}>(['domain', 'dumpxml', 'cli1'])
  t.regex(xml.xml, /<domain type='test' id='\d+'>/)
  await json(['domain', 'reboot', 'cli1'])
  await json(['domain', 'shutdown', 'cli1'])
  t.deepEqual(await json<State>(['domain', 'state', 'cli1']), {name: 'cli1', state: 'shut off', reason: 'shutdown'})
  await json(['domain', 'start', 'cli1'])
  await json(['domain', 'destroy', 'cli1'])
  t.is((await json<State>(['domain', 'state', 'cli1'])).reason, 'destroyed')
  t.deepEqual(await json(['domain', 'autostart', 'cli1']), {name: 'cli1', autostart: true})
  t.true((await json<DomainDetails>(['domain', 'info', 'cli1'])).autostart)
  await json(['domain', 'autostart', 'cli1', '--disable'])
  await json(['domain', 'undefine', 'cli1'])
  list = await json<DomainSummary[]>(['domain', 'list', '--all'])
  t.deepEqual(
    list.map((x) => x.name),
    ['test'],
  )
})

test.serial('errors are reported like virsh, with exit code 1', async (t) => {
  const r = await vctl(['domain', 'info', 'nosuch', '-c', U])
  t.is(r.code, 1)
  t.regex(r.stderr, /error: failed to get domain 'nosuch'/)
  const j = await vctl(['domain', 'info', 'nosuch', '-c', U, '--json'])
  t.is(j.code, 1)
  t.is((JSON.parse(j.stdout) as {error: {code: number}}).error.code, 42)
  const ro = await vctl(['domain', 'suspend', 'test', '-c', d.uri('test', true)])
  t.is(ro.code, 1)
  t.regex(ro.stderr, /read only access prevents virDomainSuspend/)
})

test.serial('host commands and LIBVIRT_DEFAULT_URI', async (t) => {
  const v = await json<Versions>(['version', '--daemon'])
  t.is(v.type, 'TEST')
  t.is(v.hypervisor, '0.0.2')
  t.is(v.daemon, '9.0.0')
  const n = await json<NodeInfo>(['nodeinfo'])
  t.is(n.cpus, 16)
  t.is(n.cpuModel, 'i686')
  const c = await json<{capabilities: string}>(['capabilities'])
  t.regex(c.capabilities, /<capabilities>/)
  const r = await vctl(['hostname', '--json'], {env: {LIBVIRT_DEFAULT_URI: U}})
  t.is(r.code, 0, r.stderr)
  t.is((JSON.parse(r.stdout) as {hostname: string}).hostname, hostname())
})

test.serial('domain event prints lifecycle events', async (t) => {
  // vctl registers for events some time after it starts (longer on a loaded machine): suspend and
  // resume the guest until it has ended (its 10 s count from when it listens), rather than guessing
  // when it listens.
  const ev = vctl(['domain', 'event', '-c', U, '--loop', '--timeout', '10', '--json'], {timeout: 90000})
  let done = false
  void ev.then(() => (done = true))
  const end = Date.now() + 90000
  while (!done && Date.now() < end) {
    t.is((await virsh(U, ['suspend', 'test'])).code, 0)
    await new Promise((r) => setTimeout(r, 200))
    t.is((await virsh(U, ['resume', 'test'])).code, 0)
    await new Promise((r) => setTimeout(r, 200))
  }
  const r = await ev
  t.is(r.code, 0, r.stderr)
  const events = JSON.parse(r.stdout) as Array<{domain: string; event: string; detail: string}>
  t.true(events.length >= 2, r.stdout)
  const suspended = {domain: 'test', event: 'Suspended', detail: 'Paused'}
  const resumed = {domain: 'test', event: 'Resumed', detail: 'Unpaused'}
  // Every event is one of the two, and they alternate as the guest was driven.
  const first = events[0].event === 'Suspended' ? 0 : 1
  t.deepEqual(
    events,
    events.map((_, i) => ((i + first) % 2 === 0 ? suspended : resumed)),
  )
})

test.serial('sockets status lists the daemon sockets with PID and mode', async (t) => {
  for (const cmd of [
    ['sockets', 'status'],
    ['socket', 'status'],
  ]) {
    const r = await vctl([...cmd, '--root', d.root, '--json'])
    t.is(r.code, 0, r.stderr)
    const list = JSON.parse(r.stdout) as SocketStatus[]
    const rw = list.find((s) => s.kind === 'rw' && s.daemon === 'libvirtd')
    if (!rw) return t.fail('no rw socket listed')
    t.is(rw.path, d.sock)
    t.true(rw.accepts)
    t.is(rw.pid, d.pid)
    t.is(rw.mode, '0700')
    t.is(list.find((s) => s.kind === 'ro')?.mode, '0777')
    t.truthy(list.find((s) => s.kind === 'admin' && s.accepts))
  }
})

test.serial('domain start refuses a running domain as virsh does', async (t) => {
  const ours = await vctl(['domain', 'start', 'test', '-c', U])
  const theirs = await virsh(U, ['start', 'test'])
  t.is(ours.code, 1)
  t.is(theirs.code, 1)
  t.regex(theirs.stderr, /error: Domain is already active/)
  t.regex(ours.stderr, /^error: Domain is already active$/m)
  const j = await vctl(['domain', 'start', 'test', '-c', U, '--json'])
  t.is(j.code, 1)
  t.deepEqual(JSON.parse(j.stdout), {error: {code: 55, domain: 20, message: 'Domain is already active'}})
})

test.serial('TLS without a CA certificate names the missing file, as virsh does', async (t) => {
  const pki = join(d.root, 'no-pki')
  const uri = `qemu+tls://127.0.0.1:1/system?pkipath=${pki}`
  const expected = `Cannot read CA certificate '${pki}/cacert.pem': No such file or directory`
  const ours = await vctl(['domain', 'list', '-c', uri])
  t.is(ours.code, 1)
  t.is(ours.stderr.trim(), `error: ${expected}`)
  t.true((await virsh(uri, ['list'])).stderr.includes(`error: ${expected}`))
  const j = await vctl(['domain', 'list', '-c', uri, '--json'])
  t.is(j.code, 1)
  t.deepEqual(JSON.parse(j.stdout), {error: {code: 38, domain: 7, message: expected}})
})
