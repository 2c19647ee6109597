// The same virsh save/restore/managed-save session against vctl's virtqemud and Debian's real
// libvirtd 9.0 (QEMU driver, private mount namespace: test/helpers/real-libvirtd.ts), with a
// `virsh event --all --loop` watching each: exit codes, outputs (paths and UUIDs normalised) and
// the lifecycle event sequences must be the same. The tiny guest counts on its serial console
// (vctl.counter): on vctl, a restored guest must go on counting where it stopped, without booting.
import test from 'ava'
import {mkdirSync, readFileSync, writeFileSync, existsSync} from 'node:fs'
import {join} from 'node:path'
import {run, waitFor} from './helpers/daemon.js'
import {READY, countInLog, guestXml, waitForLog} from './helpers/guest.js'
import {sideBySide} from './helpers/side-by-side.js'

const pair = sideBySide('vctl-savecmp-', {daemonArgs: ['--driver', 'qemu']})
const root = pair.root

interface Side {
  label: string
  uri: string
  dir: string
  serial: string
  steps: string[]
  events: string[]
  /** Whether the watcher saw the probe domain (see watchReady) go. */
  probed: boolean
}

function newSide(label: string, uri: string): Side {
  const dir = join(root, label)
  mkdirSync(dir, {recursive: true})
  return {label, uri, dir, serial: join(dir, 'serial.log'), steps: [], events: [], probed: false}
}

/** Lifecycle and reboot events of `virsh event --all --loop`, without timestamps. */
function watch(s: Side): void {
  pair.watch(
    'virsh',
    ['-c', s.uri, 'event', '--all', '--loop'],
    (l) => {
      if (l.includes("domain 'probe'")) s.probed ||= l.includes('Undefined')
      else if (/event '(lifecycle|reboot)'/.test(l)) s.events.push(l.trim())
    },
    {stderr: 'ignore', env: {...process.env, LC_ALL: 'C'}},
  )
}

/**
 * Waits until the watcher gets events: a throwaway domain 'probe' is defined and undefined until its
 * watcher reports it gone (its events are kept out of the comparison). A fixed pause could end before
 * `virsh event` registered on a loaded machine, and the first events of the session would be missed.
 */
async function watchReady(s: Side): Promise<void> {
  const xml = join(s.dir, 'probe.xml')
  writeFileSync(xml, guestXml('probe', join(s.dir, 'probe.log')))
  await waitFor(
    `${s.label}: the event watcher to report events`,
    async () => {
      await run('virsh', ['-c', s.uri, 'define', xml], {env: {LC_ALL: 'C'}})
      await run('virsh', ['-c', s.uri, 'undefine', 'probe'], {env: {LC_ALL: 'C'}})
      return waitFor('', () => s.probed, 2000).then(
        () => true,
        () => false,
      )
    },
    90000,
  )
}

function norm(s: Side, text: string): string {
  return text
    .split(s.dir)
    .join('DIR')
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, 'UUID')
    .trim()
}

/** Runs one virsh command, records `args -> code: output` (normalised) unless `codeOnly`. */
async function v(s: Side, args: string[], codeOnly = false): Promise<{code: number; out: string}> {
  const r = await run('virsh', ['-c', s.uri, ...args], {env: {LC_ALL: 'C'}, timeout: 120000})
  const out = norm(s, `${r.stdout}\n${r.stderr}`)
  s.steps.push(`${norm(s, args.join(' '))} -> ${r.code}${codeOnly ? '' : `: ${out}`}`)
  return {code: r.code, out}
}

/** The last COUNT value on the guest's console. */
function lastCount(s: Side): number {
  const m = [...readFileSync(s.serial, 'utf8').matchAll(/VCTL-GUEST COUNT (\d+)/g)]
  return m.length ? Number(m[m.length - 1][1]) : -1
}

/** COUNT values printed after byte `offset` of the console. */
function countsAfter(s: Side, offset: number): number[] {
  return [
    ...readFileSync(s.serial, 'utf8')
      .slice(offset)
      .matchAll(/VCTL-GUEST COUNT (\d+)/g),
  ].map((m) => Number(m[1]))
}

const stable = (s: Side) => async (what: string, cond: () => boolean) => waitFor(`${s.label}: ${what}`, cond, 60000)

/** The session, identical on both daemons; `checks` collects what only vctl is asked to prove. */
async function session(s: Side, checks: string[]): Promise<void> {
  const file = join(s.dir, 'g1.save')
  const xml = join(s.dir, 'g1.xml')
  writeFileSync(s.serial, '')
  writeFileSync(xml, guestXml('g1', s.serial, '', {cmdline: 'vctl.counter=100'}))
  watch(s)
  await watchReady(s)
  await v(s, ['define', xml])
  await v(s, ['save', 'g1', file])
  await v(s, ['managedsave', 'g1'])
  await v(s, ['start', 'g1'])
  await waitForLog(s.serial, READY, 1, 90000)
  await waitForLog(s.serial, 'VCTL-GUEST COUNT 3', 1, 60000)

  // save + restore: the guest continues counting, no second boot
  await v(s, ['save', 'g1', file])
  await v(s, ['domstate', 'g1', '--reason'])
  const atSave = lastCount(s)
  const offset = readFileSync(s.serial, 'utf8').length
  await v(s, ['list', '--all', '--with-managed-save'])
  await v(s, ['save-image-dumpxml', file], true)
  await v(s, ['restore', file])
  await v(s, ['domstate', 'g1', '--reason'])
  await stable(s)('counting after restore', () => countsAfter(s, offset).length >= 3)
  const after = countsAfter(s, offset)
  checks.push(`restore: counted ${atSave} before, then ${after.slice(0, 3).join(',')}; READY x${countInLog(s.serial, READY)}`)
  await v(s, ['restore', file])

  // managed save: start resumes it, the image is gone afterwards
  await v(s, ['managedsave', 'g1'])
  await v(s, ['domstate', 'g1', '--reason'])
  await v(s, ['list', '--all', '--with-managed-save'])
  await v(s, ['list', '--all', '--managed-save'])
  await v(s, ['list', '--all', '--without-managed-save'])
  await v(s, ['managedsave-dumpxml', 'g1'], true)
  await v(s, ['undefine', 'g1'])
  const atManaged = lastCount(s)
  const offset2 = readFileSync(s.serial, 'utf8').length
  await v(s, ['start', 'g1'])
  await v(s, ['domstate', 'g1', '--reason'])
  await stable(s)('counting after managed start', () => countsAfter(s, offset2).length >= 3)
  checks.push(
    `managed start: counted ${atManaged} before, then ${countsAfter(s, offset2).slice(0, 3).join(',')}; READY x${countInLog(s.serial, READY)}`,
  )
  await v(s, ['list', '--all', '--with-managed-save'])
  await v(s, ['managedsave', 'g1', '--paused'])
  await v(s, ['start', 'g1'])
  await v(s, ['domstate', 'g1', '--reason'])
  await v(s, ['resume', 'g1'])
  await v(s, ['managedsave', 'g1'])
  await v(s, ['managedsave-remove', 'g1'])
  await v(s, ['managedsave-remove', 'g1'])
  await v(s, ['managedsave-dumpxml', 'g1'])
  await v(s, ['start', 'g1'])
  await v(s, ['managedsave', 'g1'])
  await v(s, ['start', 'g1', '--force-boot'])
  await v(s, ['domstate', 'g1', '--reason'])
  await v(s, ['list', '--all', '--with-managed-save'])
  await v(s, ['destroy', 'g1'])

  // bad input: the guest is untouched
  writeFileSync(join(s.dir, 'corrupt.save'), Buffer.alloc(4096, 7))
  writeFileSync(join(s.dir, 'short.save'), readFileSync(file).subarray(0, 30))
  await v(s, ['restore', join(s.dir, 'corrupt.save')])
  await v(s, ['restore', join(s.dir, 'short.save')])
  await v(s, ['save-image-dumpxml', join(s.dir, 'corrupt.save')])
  await v(s, ['save-image-dumpxml', join(s.dir, 'missing.save')])
  await v(s, ['restore', join(s.dir, 'missing.save')])
  await v(s, ['domstate', 'g1', '--reason'])
  // a save file of another domain: same name, other uuid
  await v(s, ['undefine', 'g1'])
  await v(s, ['define', xml])
  await v(s, ['restore', file])
  await v(s, ['domstate', 'g1', '--reason'])
  await v(s, ['undefine', 'g1'])
  await waitFor(`${s.label}: the last event`, () => s.events.filter((e) => e.includes('Undefined')).length >= 2, 60000)
}

test.serial('save, restore and managed save: virsh on vctl as on libvirtd 9.0, events included', async (t) => {
  t.timeout(900000)
  const {vctl, real} = await pair.start()
  const vs = newSide('vctl', vctl.uri('qemu'))
  const vChecks: string[] = []
  const rs = newSide('real', real.uri)
  await Promise.all([session(vs, vChecks), session(rs, [])])

  // vctl on its own: the guest continued (counts go on from where they were; one boot only)
  for (const c of vChecks) {
    const m = /counted (\d+) before, then (\d+),(\d+),(\d+); READY x(\d+)/.exec(c)
    t.truthy(m, c)
    if (!m) continue
    const [before, first, , third, ready] = [m[1], m[2], m[3], m[4], m[5]].map(Number)
    t.true(first > before && first <= before + 2, `${c}: counting continues`)
    t.is(third, first + 2, c)
    t.is(ready, 1, `${c}: no second boot`)
  }
  t.false(existsSync(join(vctl.root, 'var/lib/libvirt/qemu/save/g1.save')), 'managed save image gone')

  t.deepEqual(vs.steps, rs.steps)
  t.deepEqual(vs.events, rs.events)
})
