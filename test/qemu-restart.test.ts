// Guests outlive the daemon: kill -9 (and SIGTERM) virtqemud, restart it, find every guest again.
import test from 'ava'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {isRunning, startDaemon, scratchDir, virsh, waitExit, waitFor, type TestDaemon} from './helpers/daemon.js'
import {POWEROFF, READY, guestXml, killGuestsUnder, qemuPidsUnder, waitForLog} from './helpers/guest.js'

const root = scratchDir('vctl-restart-')
let d: TestDaemon | undefined

test.after.always(async () => {
  killGuestsUnder(root)
  await d?.stop()
})

async function st(U: string, name: string): Promise<string> {
  return (await virsh(U, ['domstate', name, '--reason'])).stdout.trim()
}

async function restart(signal: 'SIGKILL' | 'SIGTERM'): Promise<TestDaemon> {
  const old = d!
  process.kill(old.pid, signal)
  if (!(await waitExit(old.pid))) throw new Error('daemon did not die')
  d = await startDaemon(['--driver', 'qemu'], {root, keepRoot: true})
  return d
}

test.serial('kill -9 and SIGTERM restarts keep guests, states and IDs', async (t) => {
  t.timeout(600000) // guests booted under TCG and many processes: minutes on a loaded machine
  d = await startDaemon(['--driver', 'qemu'], {root, keepRoot: true})
  let U = d.uri('qemu')
  const names = ['ra', 'rb', 'rc', 'rp']
  const logs: Record<string, string> = {}
  for (const n of names) {
    logs[n] = join(root, `serial-${n}.log`)
    const f = join(root, `${n}.xml`)
    writeFileSync(f, guestXml(n, logs[n]))
    t.is((await virsh(U, ['define', f])).code, 0)
    t.is((await virsh(U, ['start', n])).code, 0)
  }
  for (const n of names) await waitForLog(logs[n], READY, 1, 90000)
  t.is((await virsh(U, ['suspend', 'rp'])).code, 0)
  const ids: Record<string, string> = {}
  for (const n of names) ids[n] = (await virsh(U, ['domid', n])).stdout.trim()
  const pids = qemuPidsUnder(root)
  t.is(pids.size, 4)

  // kill -9 the daemon: guests keep running, one guest dies while the daemon is down.
  const old = d
  process.kill(old.pid, 'SIGKILL')
  t.true(await waitExit(old.pid))
  t.deepEqual(qemuPidsUnder(root), pids)
  process.kill(pids.get('rc')!, 'SIGKILL')
  await waitFor('rc to be gone', () => !isRunning(pids.get('rc')!), 30000)
  d = await startDaemon(['--driver', 'qemu'], {root, keepRoot: true})
  U = d.uri('qemu')
  t.is(await st(U, 'rc'), 'shut off (crashed)')
  t.is(await st(U, 'ra'), 'running (booted)')
  t.is(await st(U, 'rb'), 'running (booted)')
  t.is(await st(U, 'rp'), 'paused (user)')
  for (const n of ['ra', 'rb', 'rp']) t.is((await virsh(U, ['domid', n])).stdout.trim(), ids[n])
  t.is(qemuPidsUnder(root).get('ra'), pids.get('ra'))

  // They answer suspend, resume, shutdown and destroy.
  t.is((await virsh(U, ['suspend', 'ra'])).code, 0)
  t.is(await st(U, 'ra'), 'paused (user)')
  t.is((await virsh(U, ['resume', 'ra'])).code, 0)
  t.is(await st(U, 'ra'), 'running (unpaused)')
  t.is((await virsh(U, ['resume', 'rp'])).code, 0)
  t.is((await virsh(U, ['shutdown', 'rb'])).code, 0)
  await waitForLog(logs.rb, POWEROFF, 1, 60000)
  for (const end = Date.now() + 30000; Date.now() < end && (await st(U, 'rb')) !== 'shut off (shutdown)';) await new Promise((r) => setTimeout(r, 50))
  t.is(await st(U, 'rb'), 'shut off (shutdown)')

  // The same after a clean SIGTERM restart.
  const before = qemuPidsUnder(root)
  d = await restart('SIGTERM')
  U = d.uri('qemu')
  t.deepEqual(qemuPidsUnder(root), before)
  t.is(await st(U, 'ra'), 'running (unpaused)')
  t.is(await st(U, 'rp'), 'running (unpaused)')
  t.is((await virsh(U, ['domid', 'ra'])).stdout.trim(), ids.ra)
  t.is((await virsh(U, ['destroy', 'ra'])).code, 0)
  t.is(await st(U, 'ra'), 'shut off (destroyed)')
  t.is((await virsh(U, ['suspend', 'rp'])).code, 0)
  t.is((await virsh(U, ['destroy', 'rp'])).code, 0)
  t.is(qemuPidsUnder(root).size, 0)
})
