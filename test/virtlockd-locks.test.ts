// virtlockd's lock table through its RPC program on a standalone host in this process: conflicts,
// canonical paths, release, persistence across a new instance, and dropping owners that are gone.
import test, {type ExecutionContext} from 'ava'
import {mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {spawnSync} from 'node:child_process'
import {startServiceDaemon} from './helpers/service-daemon.js'
import type {LockService} from '../src/lib/services/lock/server.js'
import {acquireDiskLocks, listLocks, releaseDiskLock, releaseOwner} from '../src/lib/services/lock/client.js'
import {LockTable, type LockOwner} from '../src/lib/services/lock/table.js'
import {ErrorCode, ErrorDomain, VirError} from '../src/lib/errors.js'

const base = realpathSync(mkdtempSync(join(tmpdir(), 'vctl-virtlockd-')))
test.after.always(() => rmSync(base, {recursive: true, force: true}))
let n = 0

const A = {name: 'web01', uuid: '11111111-2222-4333-8444-555555555555', pid: process.pid}
const B = {name: 'web02', uuid: '66666666-7777-4888-9999-aaaaaaaaaaaa', pid: process.pid}
const C = {name: 'web03', uuid: 'bbbbbbbb-cccc-4ddd-8eee-ffffffffffff', pid: 0}

async function startHost(root = join(base, `r${n++}`)) {
  const host = await startServiceDaemon('lock', root)
  const svc = host.services[0] as LockService
  const images = join(root, 'images')
  mkdirSync(images, {recursive: true})
  for (const f of ['a.qcow2', 'b.qcow2', 'iso.img']) writeFileSync(join(images, f), '')
  return {host, svc, root, sock: host.paths.sockRw, images, stop: () => host.stop()}
}

/** A PID that is certainly not running any more. */
function deadPid(): number {
  const r = spawnSync('sh', ['-c', 'echo $$'], {encoding: 'utf8'})
  return Number(r.stdout.trim())
}

async function busy(t: ExecutionContext, p: Promise<unknown>, path: string): Promise<void> {
  const v = await t.throwsAsync<VirError>(p, {instanceOf: VirError})
  t.is(v.code, ErrorCode.RESOURCE_BUSY)
  t.is(v.domain, ErrorDomain.LOCKING)
  t.is(v.message, `resource busy: Lockspace resource '${path}' is locked`)
}

test('exclusive vs exclusive is refused; shared + shared is fine; exclusive vs shared is refused (both ways)', async (t) => {
  const h = await startHost()
  t.teardown(h.stop)
  const a = join(h.images, 'a.qcow2')
  const iso = join(h.images, 'iso.img')
  await acquireDiskLocks(h.sock, A, [{path: a, shared: false}])
  await busy(t, acquireDiskLocks(h.sock, B, [{path: a, shared: false}]), a)
  await busy(t, acquireDiskLocks(h.sock, B, [{path: a, shared: true}]), a)
  await acquireDiskLocks(h.sock, A, [{path: iso, shared: true}])
  await acquireDiskLocks(h.sock, B, [{path: iso, shared: true}])
  await busy(t, acquireDiskLocks(h.sock, C, [{path: iso, shared: false}]), iso)
  // The same owner asking again is not a conflict.
  await acquireDiskLocks(h.sock, A, [{path: a, shared: false}])
  const locks = await listLocks(h.sock)
  t.deepEqual(
    locks.map((l) => [l.path, l.shared, l.owners.map((o) => o.name)]),
    [
      [a, false, ['web01']],
      [iso, true, ['web01', 'web02']],
    ],
  )
})

test('a refused acquire gives back the locks the same call took', async (t) => {
  const h = await startHost()
  t.teardown(h.stop)
  const [a, b] = [join(h.images, 'a.qcow2'), join(h.images, 'b.qcow2')]
  await acquireDiskLocks(h.sock, A, [{path: b, shared: false}])
  await busy(
    t,
    acquireDiskLocks(h.sock, B, [
      {path: a, shared: false},
      {path: b, shared: false},
    ]),
    b,
  )
  t.deepEqual(
    (await listLocks(h.sock)).map((l) => l.path),
    [b],
  )
})

test('paths are canonicalised: a symlink and a ./.. spelling name the same lock', async (t) => {
  const h = await startHost()
  t.teardown(h.stop)
  const a = join(h.images, 'a.qcow2')
  const link = join(h.root, 'link.qcow2')
  symlinkSync(a, link)
  await acquireDiskLocks(h.sock, A, [{path: link, shared: false}])
  await busy(t, acquireDiskLocks(h.sock, B, [{path: `${h.images}/../images/./a.qcow2`, shared: false}]), a)
  t.deepEqual(
    (await listLocks(h.sock)).map((l) => l.path),
    [a],
  )
  await t.throwsAsync(acquireDiskLocks(h.sock, B, [{path: 'relative.img', shared: false}]), {message: /must be absolute/})
})

test('release and release-owner', async (t) => {
  const h = await startHost()
  t.teardown(h.stop)
  const [a, b, iso] = ['a.qcow2', 'b.qcow2', 'iso.img'].map((f) => join(h.images, f))
  await acquireDiskLocks(h.sock, A, [
    {path: a, shared: false},
    {path: iso, shared: true},
  ])
  await acquireDiskLocks(h.sock, B, [
    {path: b, shared: false},
    {path: iso, shared: true},
  ])
  await releaseDiskLock(h.sock, B, b)
  await releaseDiskLock(h.sock, B, b) // not held: fine
  await acquireDiskLocks(h.sock, C, [{path: b, shared: false}])
  await releaseOwner(h.sock, A)
  const locks = await listLocks(h.sock)
  t.deepEqual(
    locks.map((l) => [l.path, l.shared, l.owners.map((o) => o.name)]),
    [
      [iso, true, ['web02']],
      [b, false, ['web03']],
    ],
  )
  await acquireDiskLocks(h.sock, B, [{path: a, shared: false}])
})

test('the table persists: a new instance has the locks; owners whose process is gone are dropped', async (t) => {
  const root = join(base, `r${n++}`)
  const h1 = await startHost(root)
  const [a, b, iso] = ['a.qcow2', 'b.qcow2', 'iso.img'].map((f) => join(h1.images, f))
  const dead = {name: 'crashed', uuid: '99999999-2222-4333-8444-555555555555', pid: deadPid()}
  await acquireDiskLocks(h1.sock, A, [{path: a, shared: false}])
  await acquireDiskLocks(h1.sock, dead, [
    {path: b, shared: false},
    {path: iso, shared: true},
  ])
  await acquireDiskLocks(h1.sock, C, [{path: iso, shared: true}])
  const file = join(root, 'run/libvirt/virtlockd/locks.json')
  const saved = JSON.parse(readFileSync(file, 'utf8')) as {locks: unknown[]}
  t.is(saved.locks.length, 3)
  await h1.stop()

  const h2 = await startHost(root)
  t.teardown(h2.stop)
  const locks = await listLocks(h2.sock)
  t.deepEqual(
    locks.map((l) => [l.path, l.shared, l.owners.map((o) => o.name)]),
    [
      [a, false, ['web01']],
      [iso, true, ['web03']],
    ],
  )
  t.is((JSON.parse(readFileSync(file, 'utf8')) as {locks: unknown[]}).locks.length, 2, 'the clean-up is saved')
  await busy(t, acquireDiskLocks(h2.sock, B, [{path: a, shared: false}]), a)
  await acquireDiskLocks(h2.sock, B, [{path: b, shared: false}])
})

test('a holder that died since is dropped when it stands in the way', (t) => {
  const dir = join(base, `t${n++}`)
  const alive = new Set<number>([1, 2])
  const table = new LockTable(
    join(dir, 'locks.json'),
    {debug() {}, info() {}, warn() {}, error() {}},
    (o: LockOwner) => o.pid === 0 || alive.has(o.pid),
  )
  const o1 = {name: 'one', uuid: 'u1', pid: 1}
  const o2 = {name: 'two', uuid: 'u2', pid: 2}
  table.acquire(o1, '/img', false)
  t.throws(() => table.acquire(o2, '/img', false), {message: /is locked/})
  alive.delete(1)
  table.acquire(o2, '/img', false)
  t.deepEqual(
    table.list().map((l) => l.owners.map((o) => o.name)),
    [['two']],
  )
  // Re-acquiring records the owner's new PID (e.g. 0 before QEMU starts, then QEMU's PID).
  table.acquire({...o2, pid: 0}, '/img', false)
  alive.delete(2)
  t.deepEqual(
    table.list().map((l) => l.owners.map((o) => o.pid)),
    [[0]],
    'PID 0 is never considered gone',
  )
})

test('PID reuse does not keep a dead owner alive (start time recorded)', (t) => {
  const dir = join(base, `t${n++}`)
  const file = join(dir, 'locks.json')
  const quiet = {debug() {}, info() {}, warn() {}, error() {}}
  mkdirSync(dir, {recursive: true})
  // Our own PID, with a start time it never had: a different process.
  writeFileSync(
    file,
    JSON.stringify({version: 1, locks: [{path: '/img', shared: false, owners: [{name: 'x', uuid: 'u', pid: process.pid, start: '1'}]}]}),
  )
  const table = new LockTable(file, quiet)
  t.is(table.load(), 1)
  t.deepEqual(table.list(), [])
  const t2 = new LockTable(join(dir, 'other.json'), quiet)
  t2.acquire({name: 'me', uuid: 'u', pid: process.pid}, '/img', false)
  t.truthy(t2.list()[0].owners[0].start, 'the start time is recorded')
  t.is(new LockTable(join(dir, 'other.json'), quiet).load(), 0, 'a live owner is kept')
})
