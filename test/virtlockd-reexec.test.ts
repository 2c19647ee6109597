// virtlockd's SIGUSR1 re-exec with real processes: a standalone virtlockd host (this very file, run
// with VCTL_TEST_HARNESS=virtlockd) re-executes; the locks are kept and still enforced, the PID
// changes, clients calling during the hand-over are served.
import {existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {startServiceDaemon} from './helpers/service-daemon.js'
import {killStarted, sleep, started, startHarness, until} from './helpers/reexec-harness.js'
import {acquireDiskLocks, listLocks, releaseOwner} from '../src/lib/services/lock/client.js'
import {processRunning} from '../src/lib/services/reexec.js'
import {socketAccepts} from '../src/lib/daemon/listeners.js'
import {ErrorCode, VirError} from '../src/lib/errors.js'

const env = process.env

if (env.VCTL_TEST_HARNESS === 'virtlockd') {
  await startServiceDaemon('lock', env.VCTL_TEST_ROOT!, {verbose: true, handleSignals: true})
} else {
  const {default: test} = await import('ava')
  const SELF = fileURLToPath(import.meta.url)
  const base = realpathSync(mkdtempSync(join(tmpdir(), 'vctl-virtlockd-reexec-')))
  test.after.always(() => {
    killStarted()
    rmSync(base, {recursive: true, force: true})
  })

  const A = {name: 'web01', uuid: '11111111-2222-4333-8444-555555555555', pid: process.pid}
  const B = {name: 'web02', uuid: '66666666-7777-4888-9999-aaaaaaaaaaaa', pid: process.pid}

  test('re-exec keeps the locks, changes the PID, and serves clients calling meanwhile', async (t) => {
    const root = join(base, 'r0')
    const images = join(root, 'images')
    mkdirSync(images, {recursive: true})
    const [a, b, c, iso] = ['a.img', 'b.img', 'c.img', 'iso.img'].map((f) => join(images, f))
    for (const f of [a, b, c, iso]) writeFileSync(f, '')
    const {child, sock, pidFile, pid, stderr} = await startHarness(SELF, 'virtlockd', root)

    await acquireDiskLocks(sock, A, [
      {path: a, shared: false},
      {path: iso, shared: true},
    ])
    await acquireDiskLocks(sock, B, [{path: iso, shared: true}])
    const before = await listLocks(sock)

    const pid1 = child.pid!
    process.kill(pid1, 'SIGUSR1')
    await sleep(100)
    // Calls made while the daemons hand over (the old one has most likely frozen by now: these wait at
    // its gate, see the connection close, and are retried on the new one; if not, it serves them and
    // hands their locks over). The new process is node + tsx starting anew, which can take many seconds
    // on a loaded machine: the clients may retry for longer than their default 15 s.
    const slow = {timeoutMs: 90000}
    const during = [
      acquireDiskLocks(sock, B, [{path: b, shared: false}], slow),
      acquireDiskLocks(sock, B, [{path: a, shared: false}], slow).then(
        () => 'granted',
        (e: unknown) => (e instanceof VirError && e.code === ErrorCode.RESOURCE_BUSY ? 'busy' : (e as Error).message),
      ),
      listLocks(sock, slow),
    ]
    const pid2 = await until(() => {
      const p = pid()
      return p !== undefined && p !== pid1 && !processRunning(pid1) ? p : undefined
    }, `the new process to take over:\n${stderr()}`)
    started.push(pid2)
    const [, conflict] = await Promise.all(during)
    t.is(conflict, 'busy')
    t.true(await socketAccepts(sock))

    const after = await listLocks(sock)
    t.deepEqual(
      after.filter((l) => l.path !== b),
      before,
    )
    t.deepEqual(
      after.find((l) => l.path === b)?.owners.map((o) => o.name),
      ['web02'],
    )
    const err = await t.throwsAsync<VirError>(acquireDiskLocks(sock, B, [{path: a, shared: false}]), {instanceOf: VirError})
    t.is(err.code, ErrorCode.RESOURCE_BUSY, 'still enforced by the new process')
    await releaseOwner(sock, A)
    await acquireDiskLocks(sock, B, [
      {path: a, shared: false},
      {path: c, shared: false},
    ])
    t.regex(stderr(), new RegExp(`${pid1}: info : re-exec: handed over to pid ${pid2}`))

    process.kill(pid2, 'SIGTERM')
    await until(() => !processRunning(pid2), 'the daemon to stop')
    t.false(existsSync(sock))
    t.false(existsSync(pidFile))
    // The table outlives the daemon.
    const saved = JSON.parse(readFileSync(join(root, 'run/libvirt/virtlockd/locks.json'), 'utf8')) as {locks: {path: string}[]}
    t.deepEqual(saved.locks.map((l) => l.path).sort(), [a, b, c, iso].sort())
  })
}
