// Lifecycle and reboot events of a real QEMU guest, as libvirt-python receives them, from vctl's
// virtqemud and from Debian's real libvirtd 9.0 for the same steps (start, suspend, resume, ACPI
// reboot, ACPI shutdown, destroy, paused start): the sequences must be the same, down to the id
// the STOPPED event carries (-1 after destroy, the old id after the guest's own shutdown).
import test from 'ava'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {run, waitFor} from './helpers/daemon.js'
import {READY, guestXml, waitForLog} from './helpers/guest.js'
import {sideBySide} from './helpers/side-by-side.js'

const pair = sideBySide('vctl-events-', {daemonArgs: ['--driver', 'qemu']})
const root = pair.root

/** Prints "lifecycle EVENT DETAIL active|-1" and "reboot" lines for every domain event. */
const WATCHER = `
import sys, libvirt
libvirt.virEventRegisterDefaultImpl()
c = libvirt.openReadOnly(sys.argv[1])
# vctl drops libvirt-python's keepalive after ~35 s (reported separately); the watcher does without it.
c.setKeepAlive(-1, 0)
def life(conn, dom, ev, detail, opaque):
    print('lifecycle %d %d %s' % (ev, detail, 'active' if dom.ID() > 0 else str(dom.ID())), flush=True)
def reboot(conn, dom, opaque):
    print('reboot', flush=True)
c.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, life, None)
c.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_REBOOT, reboot, None)
print('ready', flush=True)
while True:
    libvirt.virEventRunDefaultImpl()
`

interface Side {
  label: string
  uri: string
  serial: string
  events: string[]
}

async function watch(s: Side): Promise<void> {
  pair.watch('/usr/bin/python3', ['-c', WATCHER, s.uri], (l) => {
    if (l.trim()) s.events.push(l.trim())
  })
  await waitFor(`${s.label}: event watcher`, () => s.events.includes('ready'), 30000)
  s.events.length = 0
}

async function virsh(s: Side, ...args: string[]): Promise<void> {
  const r = await run('virsh', ['-c', s.uri, ...args], {env: {LC_ALL: 'C'}})
  if (r.code !== 0) throw new Error(`${s.label}: virsh ${args.join(' ')}: ${r.stderr}`)
}

async function domstate(s: Side): Promise<string> {
  return (await run('virsh', ['-c', s.uri, 'domstate', 'g1'], {env: {LC_ALL: 'C'}})).stdout.trim()
}

/**
 * Each step's events, once they have settled: the step's own condition holds and at least `want`
 * events have come (a loaded machine may deliver them late), then 1.5 s without a check for any
 * extra one (a slow machine can only make that part weaker).
 */
async function step(s: Side, log: string[][], fn: () => Promise<void>, settle: () => boolean | Promise<boolean>, want: number): Promise<void> {
  const from = s.events.length
  await fn()
  await waitFor(`${s.label}: step settles`, settle, 90000)
  await waitFor(`${s.label}: ${want} event(s) of the step`, () => s.events.length - from >= want, 60000).catch(() => undefined)
  await new Promise((r) => setTimeout(r, 1500))
  log.push(s.events.slice(from))
}

/** The steps of a session: a virsh command, and what tells that its events are all in. */
const STEPS: ReadonlyArray<{args: string[]; settled?: (s: Side) => Promise<boolean>}> = [
  {args: ['define', 'XML']},
  {args: ['start', 'g1'], settled: (s) => waitForLog(s.serial, READY, 1, 90000).then(() => true)},
  {args: ['suspend', 'g1']},
  {args: ['resume', 'g1']},
  {args: ['reboot', 'g1'], settled: (s) => waitForLog(s.serial, READY, 2, 90000).then(() => true)},
  {args: ['shutdown', 'g1'], settled: async (s) => (await domstate(s)) === 'shut off'},
  {args: ['start', 'g1']},
  {args: ['destroy', 'g1']},
  {args: ['start', 'g1', '--paused']},
  {args: ['destroy', 'g1']},
  {args: ['undefine', 'g1']},
]

async function session(s: Side): Promise<string[][]> {
  const log: string[][] = []
  const xml = join(root, `${s.label}.xml`)
  writeFileSync(s.serial, '')
  writeFileSync(xml, guestXml('g1', s.serial))
  await watch(s)
  for (const [i, {args, settled}] of STEPS.entries()) {
    await step(
      s,
      log,
      () => virsh(s, ...args.map((a) => (a === 'XML' ? xml : a))),
      () => (settled ? settled(s) : true),
      EXPECTED[i].length,
    )
  }
  return log
}

// virDomainEventType numbers: 0 defined, 2 started, 3 suspended, 4 resumed, 5 stopped, 6 shutdown.
const EXPECTED = [
  ['lifecycle 0 0 -1'],
  ['lifecycle 4 0 active', 'lifecycle 2 0 active'],
  ['lifecycle 3 0 active'],
  ['lifecycle 4 0 active'],
  ['reboot'],
  ['lifecycle 6 1 active', 'lifecycle 5 0 active'],
  ['lifecycle 4 0 active', 'lifecycle 2 0 active'],
  ['lifecycle 6 2 active', 'lifecycle 5 1 -1'],
  ['lifecycle 2 0 active', 'lifecycle 3 0 active'],
  ['lifecycle 6 2 active', 'lifecycle 5 1 -1'],
  ['lifecycle 1 0 -1'],
]

/** A reboot's RESET may reach libvirt more than once; the sequence compared has each run of them once. */
const collapse = (steps: string[][]) => steps.map((evs) => evs.filter((e, i) => !(e === 'reboot' && evs[i - 1] === 'reboot')))

test.serial('lifecycle events of a QEMU guest are libvirt 9.0 ones (start, pause, reboot, shutdown, destroy; id -1 once stopped)', async (t) => {
  t.timeout(900000)
  const {vctl, real} = await pair.start()
  const vs: Side = {label: 'vctl', uri: vctl.uri('qemu'), serial: join(root, 'vctl-serial.log'), events: []}
  const rs: Side = {label: 'real', uri: real.uri, serial: join(root, 'real-serial.log'), events: []}
  const [vlog, rlog] = await Promise.all([session(vs), session(rs)])
  t.deepEqual(collapse(vlog), collapse(rlog))
  t.deepEqual(collapse(vlog), EXPECTED)
})
