/**
 * Migration options between two vctl hosts: --offline --persistent (a definition moves),
 * --persistent --undefinesource --suspend --auto-converge --compressed on a live guest,
 * migrate-setmaxdowntime / getmaxdowntime, domjobinfo --completed on both sides, and a managed
 * direct migration driven by libvirt-python (dom.migrate3: the client calls each step).
 */
import test from 'ava'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {countInLog, guestXml, READY} from './helpers/guest.js'
import {run} from './helpers/daemon.js'
import {startHosts, type Host} from './helpers/two-hosts.js'
import {lastCount, startCounter, waitCountAbove} from './helpers/migrate-guest.js'

let A: Host
let B: Host
let cleanup: () => Promise<void> = () => Promise.resolve()

test.before(async () => {
  const r = await startHosts('mgo')
  ;[A, B] = r.hosts
  cleanup = r.cleanup
})

test.after.always(async () => {
  await cleanup()
})

test.serial('--offline --persistent moves a shut-off definition; --undefinesource removes it from the source', async (t) => {
  t.timeout(300000)
  const xml = join(A.root, 'off1.xml')
  writeFileSync(xml, guestXml('off1', join(A.root, 'off1.log')))
  t.is((await A.virsh(['define', xml])).code, 0)
  const uuid = (await A.virsh(['domuuid', 'off1'])).stdout.trim()
  const m = await A.virsh(['migrate', '--offline', '--persistent', '--p2p', 'off1', B.tcpUri])
  t.is(m.code, 0, m.stderr)
  t.is((await B.virsh(['domstate', 'off1'])).stdout.trim(), 'shut off')
  t.is((await B.virsh(['domuuid', 'off1'])).stdout.trim(), uuid)
  t.is((await A.virsh(['domstate', 'off1'])).stdout.trim(), 'shut off')
  // Without --persistent libvirt refuses an offline migration.
  const np = await B.virsh(['migrate', '--offline', '--p2p', 'off1', A.tcpUri])
  t.regex(np.stderr, /error: Requested operation is not valid: offline migration must be specified with the persistent flag set/)
  const back = await B.virsh(['migrate', '--offline', '--persistent', '--undefinesource', '--p2p', 'off1', A.tcpUri])
  t.is(back.code, 0, back.stderr)
  t.regex((await B.virsh(['list', '--all', '--name'])).stdout, /^\s*$/)
  t.is((await A.virsh(['undefine', 'off1'])).code, 0)
})

test.serial('live, --persistent --undefinesource --suspend --auto-converge --compressed; maxdowntime; domjobinfo --completed', async (t) => {
  t.timeout(300000)
  const log = join(A.root, 'm2.log')
  const xml = join(A.root, 'm2.xml')
  writeFileSync(xml, guestXml('m2', log, '', {cmdline: 'vctl.counter=100'}))
  t.is((await A.virsh(['define', xml])).code, 0)
  t.is((await A.virsh(['start', 'm2'])).code, 0)
  await waitCountAbove(log, 3, 90000)
  t.is((await A.virsh(['migrate-setmaxdowntime', 'm2', '400'])).code, 0)
  t.is((await A.virsh(['migrate-getmaxdowntime', 'm2'])).stdout.trim(), '400')
  const flags = ['--live', '--p2p', '--persistent', '--undefinesource', '--suspend', '--auto-converge', '--compressed']
  const m = await A.virsh(['migrate', ...flags, 'm2', B.tcpUri])
  t.is(m.code, 0, m.stderr)
  t.regex((await A.virsh(['list', '--all', '--name'])).stdout, /^\s*$/)
  t.is((await B.virsh(['domstate', '--reason', 'm2'])).stdout.trim(), 'paused (user)')
  t.is((await B.virsh(['dominfo', 'm2'])).stdout.match(/Persistent:\s+(\w+)/)?.[1], 'yes')
  const doneB = await B.virsh(['domjobinfo', '--completed', 'm2'])
  t.regex(doneB.stdout, /Job type:\s+Completed/)
  t.regex(doneB.stdout, /Operation:\s+Incoming migration/)
  t.regex(doneB.stdout, /Total downtime:\s+\d+\s+ms/)
  const c = lastCount(log)
  t.is((await B.virsh(['resume', 'm2'])).code, 0)
  await waitCountAbove(log, c + 5, 60000)
  t.is(countInLog(log, READY), 1)
  await B.virsh(['destroy', 'm2'])
  await B.virsh(['undefine', 'm2'])
})

test.serial('managed direct migration driven by libvirt-python (migrate3), and back', async (t) => {
  t.timeout(300000)
  const log = await startCounter(A, 'py1')
  const script = `
import libvirt, sys
src = libvirt.open(sys.argv[1]); dst = libvirt.open(sys.argv[2])
dom = src.lookupByName('py1')
ddom = dom.migrate3(dst, {}, libvirt.VIR_MIGRATE_LIVE)
print(ddom.name(), dst.lookupByName('py1').state(0))
back = ddom.migrate3(src, {}, libvirt.VIR_MIGRATE_LIVE)
print(back.name(), src.lookupByName('py1').state(0))
`
  const r = await run('/usr/bin/python3', ['-c', script, A.uri, B.uri], {timeout: 240000})
  t.is(r.code, 0, r.stderr)
  t.deepEqual(r.stdout.trim().split('\n'), ['py1 [1, 2]', 'py1 [1, 2]'])
  const c = lastCount(log)
  await waitCountAbove(log, c + 5, 60000)
  t.is(countInLog(log, READY), 1)
  t.regex((await B.virsh(['list', '--all', '--name'])).stdout, /^\s*$/)
  await A.virsh(['destroy', 'py1'])
})
