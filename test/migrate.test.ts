/**
 * Live migration between two vctl hosts (each daemon in its own network namespace, joined by a
 * veth pair; shared file system): `virsh migrate --live --p2p` there and back, the counter guest
 * continuing without a reboot, libvirt's events and state reasons on both sides, domjobinfo.
 */
import test from 'ava'
import {countInLog, READY} from './helpers/guest.js'
import {startHosts, type Host} from './helpers/two-hosts.js'
import {vctl} from './helpers/daemon.js'
import {lastCount, startCounter, waitCountAbove, watchEvents} from './helpers/migrate-guest.js'

let A: Host
let B: Host
let cleanup: () => Promise<void> = () => Promise.resolve()

test.before(async () => {
  const r = await startHosts('mig')
  ;[A, B] = r.hosts
  cleanup = r.cleanup
})

test.after.always(async () => {
  await cleanup()
})

test.serial('virsh migrate --live --p2p moves a running guest to B and back; the counter goes on, no reboot', async (t) => {
  t.timeout(300000)
  const log = await startCounter(A, 'm1')
  const events = await watchEvents(A)
  const eventsB = await watchEvents(B)
  const before = lastCount(log)
  const mig = await A.virsh(['migrate', '--live', '--p2p', 'm1', B.tcpUri])
  t.is(mig.code, 0, mig.stderr)
  // Gone from A, running on B with reason "migrated".
  t.regex((await A.virsh(['list', '--all', '--name'])).stdout, /^\s*$/)
  const st = await B.virsh(['domstate', '--reason', 'm1'])
  t.is(st.stdout.trim(), 'running (migrated)')
  // The counter goes on from where it was on A, and the guest did not boot again.
  await waitCountAbove(log, lastCount(log) + 5, 60000)
  t.true(lastCount(log) > before)
  t.is(countInLog(log, READY), 1)
  // And back.
  const back = await B.virsh(['migrate', '--live', '--p2p', 'm1', A.tcpUri])
  t.is(back.code, 0, back.stderr)
  t.is((await A.virsh(['domstate', '--reason', 'm1'])).stdout.trim(), 'running (migrated)')
  t.regex((await B.virsh(['list', '--all', '--name'])).stdout, /^\s*$/)
  const c = lastCount(log)
  await waitCountAbove(log, c + 5, 60000)
  t.is(countInLog(log, READY), 1)
  await A.virsh(['destroy', 'm1'])
  const evA = await events.stop()
  const evB = await eventsB.stop()
  t.regex(evA, /event 'lifecycle' for domain 'm1': Suspended Migrated/)
  t.regex(evA, /event 'lifecycle' for domain 'm1': Stopped Migrated/)
  t.regex(evA, /event 'lifecycle' for domain 'm1': Started Migrated/)
  t.regex(evA, /event 'lifecycle' for domain 'm1': Resumed Migrated/)
  t.regex(evB, /event 'lifecycle' for domain 'm1': Started Migrated[\s\S]*Resumed Migrated[\s\S]*Suspended Migrated[\s\S]*Stopped Migrated/)
})

test.serial('vctl domain migrate (peer-to-peer) and vctl domain job --completed', async (t) => {
  t.timeout(300000)
  const log = await startCounter(A, 'c1')
  const r = await vctl(['domain', 'migrate', 'c1', B.tcpUri, '--live', '--persistent', '-c', A.uri])
  t.is(r.code, 0, r.stderr)
  t.regex(`${r.stdout}${r.stderr}`, /Migrating 'c1' to qemu\+tcp:\/\/[\d.]+\/system: done in [\d.]+ s/)
  t.is((await B.virsh(['domstate', '--reason', 'c1'])).stdout.trim(), 'running (migrated)')
  const job = await vctl(['domain', 'job', 'c1', '--completed', '--json', '-c', B.uri])
  t.is(job.code, 0, job.stderr)
  const rec = JSON.parse(job.stdout) as Record<string, unknown>
  t.is(rec.type, 'Completed')
  t.is(rec.operation, 4)
  t.is(typeof rec.downtime, 'number')
  t.is((await vctl(['domain', 'job', 'c1', '-c', B.uri])).stdout.trim(), 'Job type:           None')
  await waitCountAbove(log, lastCount(log) + 3, 60000)
  t.is(countInLog(log, READY), 1)
  await B.virsh(['destroy', 'c1'])
  await B.virsh(['undefine', 'c1'])
})

test.serial('virsh migrate --live --p2p --tunnelled: the stream goes through the libvirt connection, there and back', async (t) => {
  t.timeout(300000)
  const log = await startCounter(A, 't1')
  const there = await A.virsh(['migrate', '--live', '--p2p', '--tunnelled', 't1', B.tcpUri])
  t.is(there.code, 0, there.stderr)
  t.is((await B.virsh(['domstate', '--reason', 't1'])).stdout.trim(), 'running (migrated)')
  t.regex((await A.virsh(['list', '--all', '--name'])).stdout, /^\s*$/)
  await waitCountAbove(log, lastCount(log) + 5, 60000)
  const back = await B.virsh(['migrate', '--live', '--p2p', '--tunnelled', 't1', A.tcpUri])
  t.is(back.code, 0, back.stderr)
  t.is((await A.virsh(['domstate', '--reason', 't1'])).stdout.trim(), 'running (migrated)')
  await waitCountAbove(log, lastCount(log) + 5, 60000)
  t.is(countInLog(log, READY), 1)
  await A.virsh(['destroy', 't1'])
})
