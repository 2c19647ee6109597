/**
 * Migration between a vctl host and Debian's real libvirtd 9.0 (QEMU driver), each in its own
 * namespace, both directions, peer-to-peer over qemu+tcp. Both hosts have the same host name (one
 * machine), so, as between two libvirtd hosts here, the stream address is given (--migrateuri).
 */
import test from 'ava'
import {countInLog, READY} from './helpers/guest.js'
import {startHosts, type Host} from './helpers/two-hosts.js'
import {lastCount, startCounter, waitCountAbove} from './helpers/migrate-guest.js'

let V: Host
let L: Host
let cleanup: () => Promise<void> = () => Promise.resolve()

test.before(async () => {
  const r = await startHosts('mgi', 2, '', ['vctl', 'libvirtd'])
  ;[V, L] = r.hosts
  cleanup = r.cleanup
})

test.after.always(async () => {
  await cleanup()
})

test.serial('vctl -> real libvirtd -> vctl, live, peer-to-peer: the counter goes on, no reboot', async (t) => {
  t.timeout(300000)
  const log = await startCounter(V, 'ix1')
  const there = await V.virsh(['migrate', '--live', '--p2p', '--migrateuri', `tcp://${L.ip}`, 'ix1', L.tcpUri])
  t.is(there.code, 0, there.stderr)
  t.is((await L.virsh(['domstate', '--reason', 'ix1'])).stdout.trim(), 'running (migrated)')
  t.regex((await V.virsh(['list', '--all', '--name'])).stdout, /^\s*$/)
  await waitCountAbove(log, lastCount(log) + 5, 60000)
  const back = await L.virsh(['migrate', '--live', '--p2p', '--migrateuri', `tcp://${V.ip}`, 'ix1', V.tcpUri])
  t.is(back.code, 0, back.stderr)
  t.is((await V.virsh(['domstate', '--reason', 'ix1'])).stdout.trim(), 'running (migrated)')
  t.regex((await L.virsh(['list', '--all', '--name'])).stdout, /^\s*$/)
  await waitCountAbove(log, lastCount(log) + 5, 60000)
  t.is(countInLog(log, READY), 1)
  await V.virsh(['destroy', 'ix1'])
})
