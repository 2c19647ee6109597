// `vctl mode switch` / `mode status` against unit files installed under a temporary root, checked
// with the real `systemctl --root=... is-enabled`; rollback through a failing systemctl on PATH;
// the running-guests guard through a daemon answering on virtqemud's socket.
import test, {type ExecutionContext} from 'ava'
import {createHash} from 'node:crypto'
import {chmodSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync} from 'node:fs'
import {createServer, type Server} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {BIN, run, startDaemon, tempRoot, vctl, type RunResult} from './helpers/daemon.js'
import {MODULAR_DRIVERS, installUnits} from '../src/lib/systemd/units.js'
import {IMPLEMENTED_MODULAR} from '../src/lib/daemons.js'
import {
  ModeSwitchError,
  buildPlan,
  executePlan,
  parseDrivers,
  startableDrivers,
  takeSnapshot,
  type ModeStatus,
  type Snapshot,
} from '../src/lib/systemd/mode.js'
import {Systemctl} from '../src/lib/systemd/systemctl.js'
import {RpcConnection} from '../src/lib/rpc/server.js'
import {remote} from '../src/lib/rpc/programs/remote.js'
import type {ArgsOf, RetOf} from '../src/lib/rpc/program.js'
import type {ModeSwitchOutput} from '../src/commands/mode/switch.js'

const flat = (s: string) => s.replace(/\s*\n\s*›\s*/g, ' ')

async function newRoot(t: ExecutionContext): Promise<string> {
  const root = tempRoot('vctl-mode-')
  t.teardown(() => rmSync(root, {recursive: true, force: true}))
  await installUnits({root, bin: BIN})
  return root
}

async function states(root: string, units: string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  for (const u of units) out[u] = (await run('systemctl', [`--root=${root}`, 'is-enabled', u])).stdout.trim()
  return out
}

async function switchMode(args: string[], env?: NodeJS.ProcessEnv) {
  return vctl(['mode', 'switch', ...args, '--json'], {env})
}

/** `mode switch --json` output. */
const switched = (r: RunResult) => JSON.parse(r.stdout) as ModeSwitchOutput
/** `mode switch --json` output when a step failed: oclif's {error} with the ModeSwitchError's fields. */
const switchError = (r: RunResult) => (JSON.parse(r.stdout) as {error: Pick<ModeSwitchError, 'message' | 'failedStep' | 'result'>}).error
/** `mode status --json` output. */
const modeStatus = (r: RunResult) => JSON.parse(r.stdout) as ModeStatus

/** Every file, symlink (with its target) and directory under dir, hashed. */
function treeHash(dir: string, opts: {dirs?: boolean} = {}): string {
  const h = createHash('sha256')
  const walk = (d: string) => {
    for (const n of readdirSync(d).sort()) {
      const p = join(d, n)
      const st = lstatSync(p)
      if (st.isSymbolicLink()) h.update(`L ${p} -> ${readlinkSync(p)}\n`)
      else if (st.isSocket()) h.update(`S ${p}\n`)
      else if (st.isDirectory()) {
        if (opts.dirs !== false) h.update(`D ${p} ${st.mode}\n`)
        walk(p)
      } else h.update(`F ${p} ${st.mode} ${createHash('sha256').update(readFileSync(p)).digest('hex')}\n`)
    }
  }
  walk(dir)
  return h.digest('hex')
}

const LIBVIRTD = ['libvirtd.service', 'libvirtd.socket', 'libvirtd-ro.socket', 'libvirtd-admin.socket']
const MODULAR_SOCKETS = (d: string) => [`virt${d}d.socket`, `virt${d}d-ro.socket`, `virt${d}d-admin.socket`]

test('modular, then monolithic again, with systemctl --root', async (t) => {
  const root = await newRoot(t)
  let r = await switchMode(['monolithic', '--root', root, '--yes'])
  t.is(r.code, 0, r.stderr)
  t.deepEqual(Object.values(await states(root, LIBVIRTD)), ['enabled', 'enabled', 'enabled', 'enabled'])

  r = await switchMode(['modular', '--root', root, '--yes'])
  t.is(r.code, 0, r.stderr)
  const out = switched(r)
  t.deepEqual(
    out.steps.map((s) => [s.verb, s.status]),
    [
      ['stop', 'skipped'],
      ['disable', 'done'],
      ['enable', 'done'],
      ['start', 'skipped'],
    ],
  )
  t.regex(out.steps[0].reason ?? '', /only edits unit files/)
  t.deepEqual(out.drivers, startableDrivers().drivers)
  const s = await states(root, [
    ...LIBVIRTD,
    'libvirtd-tcp.socket',
    ...MODULAR_SOCKETS('qemu'),
    ...MODULAR_SOCKETS('secret'),
    ...MODULAR_SOCKETS('proxy'),
    'virtqemud.service',
    'virtproxyd-tcp.socket',
  ])
  for (const u of [...LIBVIRTD, 'libvirtd-tcp.socket']) t.is(s[u], 'disabled', u)
  for (const u of [...MODULAR_SOCKETS('qemu'), ...MODULAR_SOCKETS('secret'), ...MODULAR_SOCKETS('proxy'), 'virtqemud.service'])
    t.is(s[u], 'enabled', u)
  t.is(s['virtproxyd-tcp.socket'], 'disabled', 'libvirtd-tcp.socket was not enabled, so neither is virtproxyd-tcp.socket')

  r = await vctl(['mode', 'status', '--root', root, '--json'])
  t.is(r.code, 0, r.stderr)
  let st = modeStatus(r)
  t.is(st.configured, 'modular')
  t.deepEqual(st.drivers, startableDrivers().drivers)
  t.true(st.proxy)

  r = await switchMode(['monolithic', '--root', root, '--yes'])
  t.is(r.code, 0, r.stderr)
  const back = await states(root, [...LIBVIRTD, ...MODULAR_SOCKETS('qemu'), ...MODULAR_SOCKETS('proxy'), 'virtqemud.service', 'virtproxyd.service'])
  for (const u of LIBVIRTD) t.is(back[u], 'enabled', u)
  for (const u of [...MODULAR_SOCKETS('qemu'), ...MODULAR_SOCKETS('proxy'), 'virtqemud.service', 'virtproxyd.service']) t.is(back[u], 'disabled', u)
  st = modeStatus(await vctl(['mode', 'status', '--root', root, '--json']))
  t.is(st.configured, 'monolithic')
  t.deepEqual(st.drivers, [])
})

test("--mask masks libvirtd's units; monolithic unmasks them; --drivers picks the daemons", async (t) => {
  const root = await newRoot(t)
  await switchMode(['monolithic', '--root', root, '--yes'])
  let r = await switchMode(['modular', '--root', root, '--yes', '--mask', '--drivers', 'qemu,virtsecretd'])
  t.is(r.code, 0, r.stderr)
  t.deepEqual(switched(r).drivers, ['qemu', 'secret'])
  const s = await states(root, [
    ...LIBVIRTD,
    'libvirtd-tls.socket',
    ...MODULAR_SOCKETS('qemu'),
    ...MODULAR_SOCKETS('secret'),
    ...MODULAR_SOCKETS('proxy'),
    'virtnetworkd.socket',
    'virtstoraged.service',
  ])
  for (const u of [...LIBVIRTD, 'libvirtd-tls.socket']) t.is(s[u], 'masked', u)
  for (const u of [...MODULAR_SOCKETS('qemu'), ...MODULAR_SOCKETS('secret'), ...MODULAR_SOCKETS('proxy')]) t.is(s[u], 'enabled', u)
  t.is(s['virtnetworkd.socket'], 'disabled')
  t.is(s['virtstoraged.service'], 'disabled')
  const st = modeStatus(await vctl(['mode', 'status', '--root', root, '--json']))
  t.deepEqual([st.configured, st.drivers, st.proxy], ['modular', ['qemu', 'secret'], true])

  r = await switchMode(['monolithic', '--root', root, '--yes'])
  t.is(r.code, 0, r.stderr)
  t.deepEqual(
    switched(r).steps.map((x) => x.verb),
    ['stop', 'disable', 'unmask', 'enable', 'start'],
  )
  const back = await states(root, [...LIBVIRTD, 'libvirtd-tls.socket', 'virtqemud.socket'])
  for (const u of LIBVIRTD) t.is(back[u], 'enabled', u)
  t.is(back['libvirtd-tls.socket'], 'disabled', 'tcp/tls are unmasked but stay opt-in')
  t.is(back['virtqemud.socket'], 'disabled')

  r = await vctl(['mode', 'switch', 'modular', '--root', root, '--drivers', 'qemu,bogus'])
  t.is(r.code, 2)
  t.regex(flat(r.stderr), /unknown driver 'bogus'/)
  r = await vctl(['mode', 'switch', 'monolithic', '--root', root, '--drivers', 'qemu'])
  t.is(r.code, 2)
  t.regex(flat(r.stderr), /--drivers only applies to `mode switch modular`/)
})

test('TCP/TLS sockets follow the switch: libvirtd-tcp enabled -> virtproxyd-tcp enabled, and back', async (t) => {
  const root = await newRoot(t)
  await switchMode(['monolithic', '--root', root, '--yes'])
  await run('systemctl', [`--root=${root}`, 'enable', 'libvirtd-tcp.socket'])
  let r = await switchMode(['modular', '--root', root, '--yes', '--drivers', 'qemu'])
  t.is(r.code, 0, r.stderr)
  let s = await states(root, ['libvirtd-tcp.socket', 'virtproxyd-tcp.socket', 'virtproxyd-tls.socket'])
  t.deepEqual(s, {'libvirtd-tcp.socket': 'disabled', 'virtproxyd-tcp.socket': 'enabled', 'virtproxyd-tls.socket': 'disabled'})
  r = await switchMode(['monolithic', '--root', root, '--yes'])
  t.is(r.code, 0, r.stderr)
  s = await states(root, ['libvirtd-tcp.socket', 'virtproxyd-tcp.socket', 'libvirtd-tls.socket'])
  t.deepEqual(s, {'libvirtd-tcp.socket': 'enabled', 'virtproxyd-tcp.socket': 'disabled', 'libvirtd-tls.socket': 'disabled'})
})

test('--dry-run prints the plan and changes no file', async (t) => {
  const root = await newRoot(t)
  await switchMode(['monolithic', '--root', root, '--yes'])
  const before = treeHash(root)
  let r = await switchMode(['modular', '--root', root, '--dry-run', '--mask'])
  t.is(r.code, 0, r.stderr)
  const plan = switched(r)
  t.true(plan.dryRun)
  t.deepEqual(
    plan.steps.map((s) => [s.verb, s.status]),
    [
      ['stop', 'not-run'],
      ['disable', 'not-run'],
      ['mask', 'not-run'],
      ['enable', 'not-run'],
      ['start', 'not-run'],
    ],
  )
  t.regex(plan.steps[0].reason ?? '', /would be skipped/)
  t.true(plan.steps[3].units.includes('virtproxyd.socket'))
  r = await vctl(['mode', 'switch', 'modular', '--root', root, '--dry-run'])
  t.is(r.code, 0, r.stderr)
  t.regex(r.stdout, /dry run, nothing changed/)
  t.regex(r.stdout, /virtqemud-admin\.socket/)
  t.is(treeHash(root), before)
})

function fakeSystemctl(t: ExecutionContext, failWhen: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'vctl-fakectl-'))
  t.teardown(() => rmSync(dir, {recursive: true, force: true}))
  // Fails the call whose arguments match the pattern, runs the real systemctl otherwise.
  writeFileSync(
    join(dir, 'systemctl'),
    `#!/bin/sh\ncase " $* " in ${failWhen}) echo "simulated failure: $*" >&2; exit 1;; esac\nexec /usr/bin/systemctl "$@"\n`,
  )
  chmodSync(join(dir, 'systemctl'), 0o755)
  return `${dir}:${process.env.PATH}`
}

test('a failing step rolls back the steps done and names the step', async (t) => {
  const root = await newRoot(t)
  await switchMode(['monolithic', '--root', root, '--yes'])
  const before = treeHash(root, {dirs: false})
  const PATH = fakeSystemctl(t, '*" enable "*virtqemud.service*')
  const r = await switchMode(['modular', '--root', root, '--yes', '--mask'], {PATH})
  t.is(r.code, 1)
  const err = switchError(r)
  t.is(err.failedStep, `Enable the modular daemons (${[...startableDrivers().drivers.map((d) => `virt${d}d`), 'virtproxyd'].join(', ')})`)
  t.regex(err.message, /^step 'Enable the modular daemons .*' failed: .*simulated failure.*; rolled back \d+ actions, the units are as they were$/)
  t.deepEqual(
    err.result.steps.map((s) => [s.verb, s.status]),
    [
      ['stop', 'skipped'],
      ['disable', 'rolled-back'],
      ['mask', 'rolled-back'],
      ['enable', 'failed'],
      ['start', 'not-run'],
    ],
  )
  t.deepEqual(err.result.rollback?.mismatches, [])
  // Disabling and masking libvirtd's units were undone: the tree is as it was.
  t.deepEqual(Object.values(await states(root, LIBVIRTD)), ['enabled', 'enabled', 'enabled', 'enabled'])
  t.is((await states(root, ['virtqemud.socket']))['virtqemud.socket'], 'disabled')
  t.is(treeHash(root, {dirs: false}), before)

  // Human output names the step too.
  const h = await vctl(['mode', 'switch', 'modular', '--root', root, '--yes'], {env: {PATH}})
  t.is(h.code, 1)
  t.regex(flat(h.stderr), /step 'Enable the modular daemons .*' failed/)
  t.is(treeHash(root, {dirs: false}), before)
})

test('rollback in the monolithic direction re-masks and re-enables what was there', async (t) => {
  const root = await newRoot(t)
  await switchMode(['monolithic', '--root', root, '--yes'])
  await switchMode(['modular', '--root', root, '--yes', '--mask', '--drivers', 'qemu,network'])
  const before = treeHash(root, {dirs: false})
  const snapshot = await states(root, [...LIBVIRTD, 'virtqemud.service', ...MODULAR_SOCKETS('qemu'), ...MODULAR_SOCKETS('proxy')])
  // Fails the last offline step (enable libvirtd's units), after disable and unmask succeeded.
  const PATH = fakeSystemctl(t, '*" enable "*libvirtd.service*libvirtd-admin.socket*')
  const r = await switchMode(['monolithic', '--root', root, '--yes'], {PATH})
  t.is(r.code, 1, r.stdout)
  const err = switchError(r)
  t.is(err.failedStep, 'Enable the monolithic daemon (libvirtd)')
  t.deepEqual(
    err.result.steps.map((s) => [s.verb, s.status]),
    [
      ['stop', 'skipped'],
      ['disable', 'rolled-back'],
      ['unmask', 'rolled-back'],
      ['enable', 'failed'],
      ['start', 'not-run'],
    ],
  )
  t.deepEqual(await states(root, Object.keys(snapshot)), snapshot)
  t.is(treeHash(root, {dirs: false}), before)
})

/** A daemon on ROOT/run/libvirt/virtqemud-sock that answers the QEMU driver with running guests. */
async function fakeQemuDaemon(t: ExecutionContext, root: string, guests: string[]): Promise<Server> {
  const dir = join(root, 'run/libvirt')
  mkdirSync(dir, {recursive: true})
  const P = remote.procs
  const server = createServer((socket) => {
    const handle = (conn: RpcConnection, def: {num: number}, args: unknown): unknown => {
      switch (def.num) {
        case P.AUTH_LIST.num:
          return {types: [0]} satisfies RetOf<typeof P.AUTH_LIST>
        case P.CONNECT_SUPPORTS_FEATURE.num:
          return {supported: 0} satisfies RetOf<typeof P.CONNECT_SUPPORTS_FEATURE>
        case P.CONNECT_OPEN.num:
          if (!String((args as ArgsOf<typeof P.CONNECT_OPEN>).name).startsWith('qemu')) throw new Error('not qemu')
          conn.opened = true
          return undefined
        case P.CONNECT_LIST_ALL_DOMAINS.num: {
          const {flags} = args as ArgsOf<typeof P.CONNECT_LIST_ALL_DOMAINS>
          return {
            domains: (flags & 1 ? guests : []).map((name, i) => ({name, uuid: Buffer.alloc(16, i + 1), id: i + 1})),
            ret: guests.length,
          } satisfies RetOf<typeof P.CONNECT_LIST_ALL_DOMAINS>
        }
        case P.CONNECT_CLOSE.num:
          return undefined
        default:
          throw new Error(`unexpected procedure ${def.num}`)
      }
    }
    new RpcConnection(socket, {
      programs: new Map([[remote.prog, {program: remote, handle}]]),
      readonly: false,
      authenticated: true,
      keepaliveInterval: 0,
      keepaliveCount: 0,
      maxRequests: 5,
    })
  })
  await new Promise<void>((resolve) => server.listen(join(dir, 'virtqemud-sock'), resolve))
  t.teardown(() => server.close())
  return server
}

test('refuses while guests run unless --force; a daemon without guests does not block', async (t) => {
  const root = await newRoot(t)
  await switchMode(['monolithic', '--root', root, '--yes'])
  await fakeQemuDaemon(t, root, ['web01', 'db02'])
  const before = treeHash(root)
  let r = await vctl(['mode', 'switch', 'modular', '--root', root, '--yes'])
  t.is(r.code, 1)
  t.regex(flat(r.stderr), /2 guests are running: web01 \(.*virtqemud-sock\), db02 .*use --force/)
  t.is(treeHash(root), before)
  // The dry run reports them without refusing.
  r = await switchMode(['modular', '--root', root, '--dry-run'])
  t.is(r.code, 0)
  t.deepEqual(switched(r).guests.find((g) => g.socket.endsWith('virtqemud-sock'))?.guests, ['web01', 'db02'])
  r = await switchMode(['modular', '--root', root, '--yes', '--force'])
  t.is(r.code, 0, r.stderr)
  t.is((await states(root, ['virtqemud.socket']))['virtqemud.socket'], 'enabled')
})

test('a running libvirtd without QEMU guests does not block the switch; mode status shows it running', async (t) => {
  const root = await newRoot(t)
  await switchMode(['monolithic', '--root', root, '--yes'])
  const d = await startDaemon([], {root, keepRoot: true})
  t.teardown(() => d.stop())
  let r = await vctl(['mode', 'status', '--root', root, '--json'])
  t.is(r.code, 0, r.stderr)
  const st = modeStatus(r)
  t.is(st.configured, 'monolithic')
  const libvirtd = st.running.find((x) => x.daemon === 'libvirtd')
  t.is(libvirtd?.pid, d.pid)
  t.true(libvirtd?.sockets.includes(d.sock))
  t.is(st.units.length, 46)
  t.deepEqual(
    st.units.find((u) => u.unit === 'libvirtd-ro.socket'),
    {unit: 'libvirtd-ro.socket', daemon: 'libvirtd', state: 'enabled'},
  )
  r = await vctl(['mode', 'status', '--root', root])
  t.is(r.code, 0)
  t.regex(r.stdout, /Configured layout\s*│\s*monolithic/)
  t.regex(r.stdout, new RegExp(`libvirtd\\s*│\\s*${d.pid}`))
  r = await switchMode(['modular', '--root', root, '--yes'])
  t.is(r.code, 0, r.stderr)
  const checks = switched(r).guests
  t.deepEqual(
    checks.find((g) => g.socket === d.sock),
    {socket: d.sock, answered: true, guests: []},
  )
})

test('switching needs the units installed; --mask refuses administrator unit files', async (t) => {
  const root = tempRoot('vctl-mode-')
  t.teardown(() => rmSync(root, {recursive: true, force: true}))
  let r = await vctl(['mode', 'switch', 'modular', '--root', root, '--yes'])
  t.is(r.code, 1)
  t.regex(flat(r.stderr), /not installed under .*: run `vctl units install --root/)
  r = await vctl(['mode', 'status', '--root', root, '--json'])
  t.is(modeStatus(r).configured, 'none')
  await installUnits({root, bin: BIN, admin: true})
  await switchMode(['monolithic', '--root', root, '--yes'])
  const before = treeHash(root)
  r = await vctl(['mode', 'switch', 'modular', '--root', root, '--yes', '--mask'])
  t.is(r.code, 1)
  t.regex(flat(r.stderr), /cannot mask units installed in \/etc\/systemd\/system/)
  t.is(treeHash(root), before)
})

test('plan: undo actions restore the snapshot; tcp/tls carried over; drivers parsed', (t) => {
  const enabled: Snapshot['enabled'] = {}
  const names = [
    'libvirtd',
    'virtqemud',
    'virtnetworkd',
    'virtstoraged',
    'virtsecretd',
    'virtnodedevd',
    'virtnwfilterd',
    'virtinterfaced',
    'virtproxyd',
    'virtlogd',
    'virtlockd',
  ]
  for (const n of names)
    for (const k of ['.service', '.socket', '-ro.socket', '-admin.socket', '-tcp.socket', '-tls.socket']) enabled[`${n}${k}`] = 'disabled'
  for (const u of [...LIBVIRTD, 'libvirtd-tls.socket']) enabled[u] = 'enabled'
  enabled['virtqemud-ro.socket'] = 'masked'
  const plan = buildPlan('modular', {snapshot: {enabled}, drivers: parseDrivers('qemu'), mask: true})
  t.deepEqual(
    plan.steps.map((s) => s.verb),
    ['stop', 'disable', 'mask', 'unmask', 'enable', 'start'],
  )
  const [, disable, mask, unmask, enable] = plan.steps
  t.deepEqual(disable.undo, [
    {verb: 'enable', units: ['libvirtd.service']},
    {verb: 'disable', units: ['libvirtd-tcp.socket']},
    {verb: 'enable', units: ['libvirtd.socket', 'libvirtd-ro.socket', 'libvirtd-admin.socket', 'libvirtd-tls.socket']},
  ])
  t.deepEqual(mask.undo, [{verb: 'unmask', units: disable.units}])
  t.deepEqual(unmask.units, ['virtqemud-ro.socket'])
  t.deepEqual(unmask.undo, [{verb: 'mask', units: ['virtqemud-ro.socket']}])
  t.true(enable.units.includes('virtproxyd-tls.socket'))
  t.false(enable.units.includes('virtproxyd-tcp.socket'))
  t.deepEqual(enable.undo, [
    {verb: 'disable', units: ['virtqemud.service', 'virtproxyd.service']},
    {verb: 'disable', units: enable.units.filter((u) => u.endsWith('.socket'))},
  ])
  // By default only the daemons this build can start: those the daemon accepts (IMPLEMENTED_MODULAR).
  const startable = startableDrivers()
  t.deepEqual(parseDrivers(undefined), startable.drivers)
  t.deepEqual(
    startable.drivers,
    MODULAR_DRIVERS.filter((d) => IMPLEMENTED_MODULAR.includes(`virt${d}d`)),
  )
  t.true(startable.drivers.includes('qemu') && startable.drivers.includes('secret'))
  t.deepEqual(
    startable.leftOut.map((l) => l.driver),
    MODULAR_DRIVERS.filter((d) => !startable.drivers.includes(d)),
  )
  for (const l of startable.leftOut) t.regex(l.reason, new RegExp(`no ${l.driver} driver yet: virt${l.driver}d would refuse to start`))
  t.deepEqual(parseDrivers('secret, virtqemud,qemu'), ['qemu', 'secret'])
  t.throws(() => parseDrivers('proxy'), {message: /unknown driver 'proxy'/})
})

test('with a running systemd: stops first, starts last, and a failure restarts what was stopped', async (t) => {
  // A stand-in systemctl (as if systemd were PID 1) that logs every call: libvirtd's units are
  // enabled and active, everything else disabled and inactive; enabling virtqemud fails.
  const dir = mkdtempSync(join(tmpdir(), 'vctl-fakectl-'))
  t.teardown(() => rmSync(dir, {recursive: true, force: true}))
  const log = join(dir, 'log')
  const script = join(dir, 'systemctl')
  writeFileSync(
    script,
    `#!/bin/sh
echo "$*" >> ${log}
verb=$1; shift
case $verb in
  is-enabled|is-active)
    for u in "$@"; do case $u in libvirtd*) [ $verb = is-enabled ] && echo enabled || echo active;; *) [ $verb = is-enabled ] && echo disabled || echo inactive;; esac; done
    case $1 in libvirtd*) exit 0;; *) exit 1;; esac;;
  enable) case " $* " in *virtqemud.service*) echo "Failed to enable unit: simulated" >&2; exit 1;; esac;;
esac
exit 0
`,
  )
  chmodSync(script, 0o755)
  const sc = new Systemctl({command: script, systemdRunning: true})
  t.is(sc.onlineUnavailable(), undefined)
  const snapshot = await takeSnapshot(sc)
  t.is(snapshot.active?.['libvirtd.socket'], 'active')
  const plan = buildPlan('modular', {snapshot, drivers: ['qemu']})
  writeFileSync(log, '')
  const err = await t.throwsAsync(executePlan(plan, sc, {renderer: 'silent'}), {instanceOf: ModeSwitchError})
  t.is(err.failedStep, 'Enable the modular daemons (virtqemud, virtproxyd)')
  t.deepEqual(
    err.result.steps.map((x) => [x.verb, x.status]),
    [
      ['stop', 'rolled-back'],
      ['disable', 'rolled-back'],
      ['enable', 'failed'],
      ['start', 'not-run'],
    ],
  )
  const calls = readFileSync(log, 'utf8')
    .trim()
    .split('\n')
    .filter((l) => !l.startsWith('is-'))
  const all = 'libvirtd.service libvirtd.socket libvirtd-ro.socket libvirtd-admin.socket libvirtd-tcp.socket libvirtd-tls.socket'
  t.deepEqual(calls, [
    `stop ${all}`,
    `disable ${all}`,
    // libvirtd-tcp/-tls were enabled, so virtproxyd's take over
    'enable virtqemud.service virtqemud.socket virtqemud-ro.socket virtqemud-admin.socket virtproxyd.service virtproxyd.socket virtproxyd-ro.socket virtproxyd-admin.socket virtproxyd-tcp.socket virtproxyd-tls.socket',
    // undo, newest first: the failed enable step (systemctl may have done part of it), the disable
    // step, then the stop step
    'disable virtqemud.service virtproxyd.service',
    'disable virtqemud.socket virtqemud-ro.socket virtqemud-admin.socket virtproxyd.socket virtproxyd-ro.socket virtproxyd-admin.socket virtproxyd-tcp.socket virtproxyd-tls.socket',
    'enable libvirtd.service',
    'enable libvirtd.socket libvirtd-ro.socket libvirtd-admin.socket libvirtd-tcp.socket libvirtd-tls.socket',
    `start ${all}`,
  ])
  t.deepEqual(err.result.rollback!.mismatches, [])

  // The same plan without the failure runs stop, disable, enable, start.
  writeFileSync(script, readFileSync(script, 'utf8').replace('*virtqemud.service*', '*no-such-unit*'))
  writeFileSync(log, '')
  const ok = await executePlan(plan, sc, {renderer: 'silent'})
  t.deepEqual(
    ok.steps.map((x) => [x.verb, x.status]),
    [
      ['stop', 'done'],
      ['disable', 'done'],
      ['enable', 'done'],
      ['start', 'done'],
    ],
  )
  t.is(
    readFileSync(log, 'utf8').trim().split('\n').at(-1),
    'start virtqemud.socket virtqemud-ro.socket virtqemud-admin.socket virtproxyd.socket virtproxyd-ro.socket virtproxyd-admin.socket virtproxyd-tcp.socket virtproxyd-tls.socket',
  )
})
