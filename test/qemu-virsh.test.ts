// The real virsh against virtqemud (vctl daemon start --driver qemu) running real QEMU guests (TCG).
import test from 'ava'
import {existsSync, readdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {run, startDaemon, virsh, vctl, type TestDaemon} from './helpers/daemon.js'
import {POWEROFF, READY, countInLog, guestXml, killGuestsUnder, qemuPidsUnder, waitForLog} from './helpers/guest.js'

let d: TestDaemon
let U: string

test.before(async () => {
  d = await startDaemon(['--driver', 'qemu'])
  U = d.uri('qemu')
})
test.after.always(async () => {
  if (d) {
    killGuestsUnder(d.root)
    await d.stop()
  }
})

function define(name: string, extra = ''): {file: string; log: string} {
  const log = join(d.root, `serial-${name}.log`)
  const file = join(d.root, `${name}.xml`)
  writeFileSync(file, guestXml(name, log, extra))
  return {file, log}
}

async function state(name: string): Promise<string> {
  return (await virsh(U, ['domstate', name, '--reason'])).stdout.trim()
}

async function waitState(name: string, want: string, timeoutMs = 5000): Promise<number> {
  const start = Date.now()
  let last = ''
  while (Date.now() - start < timeoutMs) {
    last = await state(name)
    if (last === want) return Date.now() - start
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`${name}: state '${last}', wanted '${want}'`)
}

test.serial('lifecycle of a real guest through virsh', async (t) => {
  t.timeout(600000) // guests booted under TCG and many processes: minutes on a loaded machine
  const {file, log} = define('g1')
  let r = await virsh(U, ['define', file])
  t.is(r.code, 0, r.stderr)
  r = await virsh(U, ['start', 'g1'])
  t.is(r.code, 0, r.stderr)
  // CPU time grows while the guest boots (an idle guest later uses almost none): checked across the
  // reboot below, as on a loaded machine the guest may be READY by the time `start` returns.
  const cpu = async () => Number(/CPU time:\s+([\d.]+)s/.exec((await virsh(U, ['dominfo', 'g1'])).stdout)?.[1])
  await waitForLog(log, READY, 1, 60000)
  t.true((await cpu()) > 0.1)
  t.is(await state('g1'), 'running (booted)')

  t.is((await virsh(U, ['suspend', 'g1'])).code, 0)
  t.is(await state('g1'), 'paused (user)')
  t.is((await virsh(U, ['resume', 'g1'])).code, 0)
  t.is(await state('g1'), 'running (unpaused)')

  const dump = join(d.root, 'g1-dump.xml')
  writeFileSync(dump, (await virsh(U, ['dumpxml', 'g1'])).stdout)
  const v = await run('virt-xml-validate', [dump, 'domain'])
  t.is(v.code, 0, v.stdout + v.stderr)

  r = await virsh(U, ['shutdown', 'g1'])
  t.is(r.code, 0, r.stderr)
  await waitForLog(log, POWEROFF, 1, 60000)
  // Seen through the monitor at once; the bound leaves room for a loaded machine.
  await waitState('g1', 'shut off (shutdown)', 30000)

  r = await virsh(U, ['start', 'g1'])
  t.is(r.code, 0, r.stderr)
  await waitForLog(log, READY, 2, 60000)
  const cpu1 = await cpu()
  r = await virsh(U, ['reboot', 'g1'])
  t.is(r.code, 0, r.stderr)
  await waitForLog(log, READY, 3, 60000)
  // A boot costs the guest well over 0.1 s of CPU (virsh prints tenths of a second).
  const cpu2 = await cpu()
  t.true(cpu2 - cpu1 > 0.05, `cpu time ${cpu1} -> ${cpu2}`)
  t.is((await state('g1')).split(' ')[0], 'running')

  r = await virsh(U, ['destroy', 'g1'])
  t.is(r.code, 0, r.stderr)
  t.is(await state('g1'), 'shut off (destroyed)')
  t.false(qemuPidsUnder(d.root).has('g1'))
  r = await virsh(U, ['undefine', 'g1'])
  t.is(r.code, 0, r.stderr)
  t.is((await virsh(U, ['list', '--all', '--name'])).stdout.trim(), '')
})

test.serial('bad definitions fail clearly and leave nothing behind', async (t) => {
  const before = new Set(qemuPidsUnder(d.root).keys())
  const cases: Array<[string, string, RegExp]> = [
    [
      'missing disk',
      guestXml(
        'bad1',
        join(d.root, 'b1.log'),
        "<disk type='file' device='disk'><source file='/nonexistent/disk.img'/><target dev='vda' bus='virtio'/></disk>",
      ),
      /nonexistent\/disk\.img/,
    ],
    ['kvm', guestXml('bad2', join(d.root, 'b2.log')).replace("type='qemu'", "type='kvm'"), /kvm|KVM/],
    ['no memory', guestXml('bad3', join(d.root, 'b3.log')).replace("<memory unit='MiB'>128</memory>", ''), /[Mm]emory/],
    ['unknown machine', guestXml('bad4', join(d.root, 'b4.log')).replace("machine='pc'", "machine='nosuch-machine'"), /nosuch-machine/],
  ]
  for (const [what, xml, msg] of cases) {
    const file = join(d.root, 'bad.xml')
    writeFileSync(file, xml)
    const name = /<name>(\w+)<\/name>/.exec(xml)![1]
    const def = await virsh(U, ['define', file])
    let err = def.stderr
    if (def.code === 0) {
      const st = await virsh(U, ['start', name])
      t.is(st.code, 1, `${what}: start succeeded`)
      err = st.stderr
      t.regex(await state(name), /^shut off/)
      await virsh(U, ['undefine', name])
    }
    t.regex(err, msg, `${what}: ${err}`)
  }
  t.deepEqual(new Set(qemuPidsUnder(d.root).keys()), before)
  const runQemu = join(d.root, 'run/libvirt/qemu')
  const stale = existsSync(runQemu) ? readdirSync(runQemu).filter((f) => /^bad/.test(f)) : []
  t.deepEqual(stale, [])
})

test.serial('vctl domain commands drive the same guests', async (t) => {
  t.timeout(600000) // guests booted under TCG and many processes: minutes on a loaded machine
  const {file, log} = define('g2')
  const j = async <T = unknown>(args: string[]): Promise<T> => {
    const r = await vctl([...args, '-c', U, '--json'])
    if (r.code !== 0) throw new Error(`vctl ${args.join(' ')}: ${r.stderr}${r.stdout}`)
    return JSON.parse(r.stdout) as T
  }
  await j(['domain', 'define', file])
  const started = await j<{id: number}>(['domain', 'start', 'g2', '--paused'])
  t.true(started.id > 0)
  t.is((await j<{state: string}>(['domain', 'state', 'g2'])).state, 'paused')
  await j(['domain', 'resume', 'g2'])
  await waitForLog(log, READY, 1, 60000)
  const stats = await j<{name: string; stats: Record<string, unknown>}[]>(['domain', 'stats', 'g2'])
  t.is(stats[0].name, 'g2')
  t.is(stats[0].stats['state.state'], 1)
  t.true(Number(stats[0].stats['cpu.time']) > 0)
  const con = await vctl(['domain', 'console', 'g2', '--no-follow', '-c', U])
  t.is(con.code, 0, con.stderr)
  t.true(con.stdout.includes(READY))
  const done = await j<{result: string}>(['domain', 'shutdown', 'g2', '--wait'])
  t.is(done.result, 'shut off')
  t.is(countInLog(log, POWEROFF), 1)
  t.is((await j<{reason: string}>(['domain', 'state', 'g2'])).reason, 'shutdown')
  await j(['domain', 'undefine', 'g2'])
})
