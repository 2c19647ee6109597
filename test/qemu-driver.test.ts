/**
 * QemuDriver driven directly with real QEMU (TCG) and the tiny test guest
 * (scripts/build-test-guest.sh: prints "VCTL-GUEST READY" on ttyS0, powers off on an ACPI
 * power-button press). Every test has its own root and kills every QEMU it started, by pid.
 */
import {execFileSync} from 'node:child_process'
import {existsSync, mkdtempSync, readdirSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'

import test, {type ExecutionContext} from 'ava'

import {daemonPaths, driverStateDirs, type DaemonPaths} from '../src/lib/daemon/paths.js'
import {VirError} from '../src/lib/errors.js'
import {QemuDriver} from '../src/lib/drivers/qemu/driver.js'
import {pidRunning} from '../src/lib/drivers/qemu/process.js'
import {
  DestroyFlags,
  DomainState,
  LifecycleEvent,
  ListDomainsFlags,
  PausedReason,
  RunningReason,
  ShutoffReason,
  StoppedDetail,
  type DomainEventMsg,
} from '../src/lib/drivers/types.js'

const ROOT = resolve(import.meta.dirname, '..')
const GUEST = join(ROOT, '.cache/test-guest')
const KERNEL = join(GUEST, 'vmlinuz')
const INITRD = join(GUEST, 'initramfs.cpio.gz')

test.before(() => {
  if (!existsSync(KERNEL) || !existsSync(INITRD)) {
    execFileSync('bash', [join(ROOT, 'scripts/build-test-guest.sh')], {stdio: 'inherit', timeout: 15 * 60_000})
  }
})

/** The driver's paths as the daemon gives them (no virtlogd / virtlockd: logs are plain files). */
function driverOptions(paths: DaemonPaths) {
  return {mode: paths.mode, dirs: driverStateDirs(paths, 'qemu'), capsCacheDir: join(paths.cacheDir, 'qemu/capabilities')}
}

interface Env {
  root: string
  paths: DaemonPaths
  drv: QemuDriver
  events: {at: number; msg: DomainEventMsg}[]
  logs: string[]
  /** Every QEMU pid seen; SIGKILLed at teardown. */
  pids: Set<number>
  open(): Promise<QemuDriver>
}

async function setup(t: ExecutionContext, opts: {kvm?: boolean; destroyGraceMs?: number} = {}): Promise<Env> {
  const root = mkdtempSync(join(tmpdir(), 'vctl-qd-'))
  const paths = daemonPaths({daemon: 'virtqemud', mode: 'system', root})
  const logs: string[] = []
  const events: Env['events'] = []
  const pids = new Set<number>()
  const drivers: QemuDriver[] = []
  const env: Env = {
    root,
    paths,
    drv: undefined as unknown as QemuDriver,
    events,
    logs,
    pids,
    async open() {
      const log = {
        debug: (m: string) => logs.push(`debug: ${m}`),
        info: (m: string) => logs.push(`info: ${m}`),
        warn: (m: string) => logs.push(`warn: ${m}`),
        error: (m: string) => logs.push(`error: ${m}`),
      }
      const drv = await QemuDriver.create({...driverOptions(paths), log, kvm: opts.kvm ?? false, destroyGraceMs: opts.destroyGraceMs})
      drv.events.on('domain', (msg: DomainEventMsg) => {
        events.push({at: performance.now(), msg})
        if (msg.kind === 'lifecycle' && msg.event === LifecycleEvent.STARTED) {
          const pid = drv.domainPid(msg.dom.uuid)
          if (pid) pids.add(pid)
        }
      })
      drivers.push(drv)
      env.drv = drv
      return drv
    },
  }
  t.teardown(async () => {
    for (const d of drivers) await d.shutdownDriver().catch(() => {})
    // Status files name every QEMU still running under this root.
    const runDir = driverStateDirs(paths, 'qemu').runDir
    try {
      for (const f of readdirSync(runDir)) {
        if (!f.endsWith('.json')) continue
        const st = JSON.parse(readFileSync(join(runDir, f), 'utf8')) as {pid: number}
        pids.add(st.pid)
      }
    } catch {
      // no run dir
    }
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL')
      } catch {
        // already gone
      }
    }
    rmSync(root, {recursive: true, force: true})
    if (!t.passed) t.log(logs.join('\n'))
  })
  await env.open()
  return env
}

function guestXml(name: string, serial: string, extra = ''): string {
  return `<domain type='qemu'>
  <name>${name}</name>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>${KERNEL}</kernel>
    <initrd>${INITRD}</initrd>
    <cmdline>console=ttyS0 quiet panic=-1</cmdline>
  </os>
  <devices>
    <serial type='file'><source path='${serial}'/><target port='0'/></serial>
    ${extra}
  </devices>
</domain>`
}

function noOsXml(name: string, extra = ''): string {
  return `<domain type='qemu'><name>${name}</name><memory unit='MiB'>128</memory><os><type>hvm</type></os><devices>${extra}</devices></domain>`
}

function count(path: string, needle: string): number {
  try {
    return readFileSync(path, 'utf8').split(needle).length - 1
  } catch {
    return 0
  }
}

async function waitFor(what: string, cond: () => boolean, ms: number, step = 20): Promise<number> {
  const start = performance.now()
  while (!cond()) {
    if (performance.now() - start > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await sleep(step)
  }
  return performance.now() - start
}

function lifecycle(env: Env, name: string): {event: number; detail: number}[] {
  return env.events
    .filter((e) => e.msg.kind === 'lifecycle' && e.msg.dom.name === name)
    .map((e) => ({event: (e.msg as {event: number}).event, detail: (e.msg as {detail: number}).detail}))
}

function statusFile(env: Env, name: string): string {
  return join(driverStateDirs(env.paths, 'qemu').runDir, `${name}.json`)
}

function virErr(err: unknown): VirError {
  if (!(err instanceof VirError)) throw err
  return err
}

test('lifecycle with the tiny guest: start, suspend/resume, reboot, shutdown, destroy', async (t) => {
  const env = await setup(t)
  const {drv} = env
  const serial = join(env.root, 'g1.serial')
  const ref = await drv.defineXML(guestXml('g1', serial))
  t.deepEqual(lifecycle(env, 'g1'), [{event: LifecycleEvent.DEFINED, detail: 0}])
  t.true(existsSync(join(driverStateDirs(env.paths, 'qemu').configDir, 'g1.xml')))
  t.deepEqual(drv.getState(ref.uuid), {state: DomainState.SHUTOFF, reason: ShutoffReason.UNKNOWN})
  t.false(drv.hasActiveDomains())

  await drv.create(ref.uuid, 0)
  t.deepEqual(drv.getState(ref.uuid), {state: DomainState.RUNNING, reason: RunningReason.BOOTED})
  t.is(drv.lookupByName('g1').id, 1)
  t.true(drv.hasActiveDomains())
  t.true(existsSync(statusFile(env, 'g1')))
  t.regex(drv.getXMLDesc(ref.uuid, 0), /<domain type='qemu' id='1'>/)
  t.notRegex(drv.getXMLDesc(ref.uuid, 2), /<domain[^>]* id='1'/)
  const again = virErr(await t.throwsAsync(drv.create(ref.uuid, 0)))
  t.is(again.code, 55)
  t.is(again.message, 'Requested operation is not valid: domain is already running')

  const bootMs = await waitFor('READY', () => count(serial, 'VCTL-GUEST READY') >= 1, 60000)
  t.log(`guest READY ${bootMs.toFixed(0)} ms after start returned`)
  // The guest burned CPU to boot (once READY it idles in a blocking read). That it grows is checked
  // across the reboot below: on a loaded machine the guest may be READY by the time start returns.
  const info = drv.getInfo(ref.uuid)
  t.true(info.cpuTimeNs > 100_000_000n)
  t.is(info.maxMemKiB, 131072n)
  t.is(info.nrVirtCpu, 1)

  await drv.suspend(ref.uuid)
  t.deepEqual(drv.getState(ref.uuid), {state: DomainState.PAUSED, reason: PausedReason.USER})
  await drv.suspend(ref.uuid) // already paused: a no-op, as in libvirt's qemu driver
  await drv.resume(ref.uuid)
  t.deepEqual(drv.getState(ref.uuid), {state: DomainState.RUNNING, reason: RunningReason.UNPAUSED})
  t.deepEqual(lifecycle(env, 'g1').slice(-3), [
    {event: LifecycleEvent.STARTED, detail: 0},
    {event: LifecycleEvent.SUSPENDED, detail: 0},
    {event: LifecycleEvent.RESUMED, detail: 0},
  ])

  const stats = await drv.getStats([ref], 0)
  const fields = new Map(stats[0].params.map((p) => [p.field, p.value]))
  t.is(fields.get('state.state'), DomainState.RUNNING)
  t.true((fields.get('cpu.time') as bigint) > 0n)
  t.is(fields.get('balloon.maximum'), 131072n)
  t.is(fields.get('vcpu.current'), 1)
  t.true(fields.has('vcpu.0.time'))

  // Reboot (ACPI): the same QEMU boots the guest again.
  const pid = drv.domainPid(ref.uuid)
  const cpu1 = drv.getInfo(ref.uuid).cpuTimeNs
  await drv.reboot(ref.uuid, 0)
  await waitFor('second READY', () => count(serial, 'VCTL-GUEST READY') >= 2, 60000)
  t.is(drv.domainPid(ref.uuid), pid)
  // A boot costs the guest well over 100 ms of CPU: the live figure grew by at least that.
  const cpu2 = drv.getInfo(ref.uuid).cpuTimeNs
  t.true(cpu2 - cpu1 > 100_000_000n, `cpu time grows while the guest boots again: ${cpu1} -> ${cpu2}`)
  t.deepEqual(drv.getState(ref.uuid), {state: DomainState.RUNNING, reason: RunningReason.BOOTED})
  t.true(env.events.some((e) => e.msg.kind === 'reboot' && e.msg.dom.name === 'g1'))
  t.is(count(serial, 'VCTL-GUEST POWEROFF'), 1)

  // Shutdown (ACPI): returns at once; the guest powers off; shut off (shutdown).
  const t0 = performance.now()
  await drv.shutdown(ref.uuid, 0)
  // It does not wait for the guest (a few ms; the bound leaves room for a loaded machine).
  t.true(performance.now() - t0 < 5000, 'shutdown returns immediately')
  await waitFor('shut off', () => !drv.isActive(ref.uuid), 60000, 5)
  t.deepEqual(drv.getState(ref.uuid), {state: DomainState.SHUTOFF, reason: ShutoffReason.SHUTDOWN})
  const lastEvent = (event: number) => [...env.events].reverse().find((e) => e.msg.kind === 'lifecycle' && e.msg.event === event)!
  const shutdownEv = lastEvent(LifecycleEvent.SHUTDOWN)
  const stoppedEv = lastEvent(LifecycleEvent.STOPPED)
  t.is((stoppedEv.msg as {detail: number}).detail, StoppedDetail.SHUTDOWN)
  const offMs = stoppedEv.at - shutdownEv.at
  t.log(`guest power-off (QMP SHUTDOWN) -> shut off: ${offMs.toFixed(1)} ms`)
  // Milliseconds normally (QEMU exits, the child's exit is seen); the bound holds on a loaded machine.
  t.true(offMs <= 5000, `shutdown-to-shut-off ${offMs} ms`)
  t.false(pidRunning(pid!))
  await waitFor('status file removed', () => !existsSync(statusFile(env, 'g1')), 30000, 5)
  t.false(existsSync(join(driverStateDirs(env.paths, 'qemu').runDir, 'g1.monitor')))
  t.is(drv.lookupByName('g1').id, -1)

  // Start again (id 2), destroy: shut off (destroyed).
  await drv.create(ref.uuid, 0)
  t.is(drv.lookupByName('g1').id, 2)
  const pid2 = drv.domainPid(ref.uuid)!
  const d0 = performance.now()
  await drv.destroy(ref.uuid, 0)
  const destroyMs = performance.now() - d0
  t.log(`destroy of a running guest: ${destroyMs.toFixed(1)} ms`)
  t.false(pidRunning(pid2))
  t.deepEqual(drv.getState(ref.uuid), {state: DomainState.SHUTOFF, reason: ShutoffReason.DESTROYED})
  t.deepEqual(lifecycle(env, 'g1').at(-1), {event: LifecycleEvent.STOPPED, detail: StoppedDetail.DESTROYED})
  t.false(existsSync(statusFile(env, 'g1')))
  t.false(drv.hasActiveDomains())
  const log = readFileSync(drv.domainLogPath(ref.uuid), 'utf8')
  t.regex(log, /shutting down, reason=shutdown/)
  t.regex(log, /shutting down, reason=destroyed/)
  const notRunning = virErr(await t.throwsAsync(drv.suspend(ref.uuid)))
  t.is(notRunning.code, 55)
})

test('start --paused gives paused (user); a SIGKILLed QEMU becomes shut off (crashed) without being asked', async (t) => {
  const env = await setup(t)
  const {drv} = env
  const ref = await drv.defineXML(guestXml('victim', join(env.root, 'victim.serial')))
  await drv.create(ref.uuid, 1 /* PAUSED */)
  t.deepEqual(drv.getState(ref.uuid), {state: DomainState.PAUSED, reason: PausedReason.USER})
  t.deepEqual(lifecycle(env, 'victim').slice(-2), [
    {event: LifecycleEvent.STARTED, detail: 0},
    {event: LifecycleEvent.SUSPENDED, detail: 0},
  ])
  await drv.resume(ref.uuid)
  t.deepEqual(drv.getState(ref.uuid), {state: DomainState.RUNNING, reason: RunningReason.UNPAUSED})
  const pid = drv.domainPid(ref.uuid)!
  const k0 = performance.now()
  process.kill(pid, 'SIGKILL')
  // Noticed by the child's exit (milliseconds); the bound leaves room for a loaded machine.
  await waitFor('crash noticed', () => !drv.isActive(ref.uuid), 30000, 2)
  t.log(`SIGKILL -> shut off (crashed): ${(performance.now() - k0).toFixed(1)} ms`)
  t.deepEqual(drv.getState(ref.uuid), {state: DomainState.SHUTOFF, reason: ShutoffReason.CRASHED})
  t.deepEqual(lifecycle(env, 'victim').at(-1), {event: LifecycleEvent.STOPPED, detail: StoppedDetail.FAILED})
  await waitFor('status file removed', () => !existsSync(statusFile(env, 'victim')), 30000, 5)
})

test('destroy GRACEFUL never SIGKILLs; plain destroy does', async (t) => {
  const env = await setup(t, {destroyGraceMs: 300})
  const {drv} = env
  const ref = await drv.createXML(noOsXml('stuck'), 0)
  const pid = drv.domainPid(ref.uuid)!
  process.kill(pid, 'SIGSTOP') // SIGTERM stays pending while stopped; SIGKILL still works
  const err = virErr(await t.throwsAsync(drv.destroy(ref.uuid, DestroyFlags.GRACEFUL)))
  t.is(err.code, 38)
  t.regex(err.message, /Failed to terminate process \d+ with SIGTERM/)
  t.true(drv.isActive(ref.uuid))
  t.true(pidRunning(pid))
  await drv.destroy(ref.uuid, 0)
  t.false(pidRunning(pid))
  // Transient: gone once stopped.
  t.throws(() => drv.lookupByName('stuck'), {message: "Domain not found: no domain with matching name 'stuck'"})
})

test('restart safety: a new driver reattaches to running guests (same pids, ids, states)', async (t) => {
  const env = await setup(t)
  const drv1 = env.drv
  const a = await drv1.defineXML(guestXml('alpha', join(env.root, 'alpha.serial')))
  await drv1.create(a.uuid, 0)
  const b = await drv1.createXML(noOsXml('beta'), 1 /* paused */)
  const c = await drv1.defineXML(noOsXml('gamma'))
  await drv1.create(c.uuid, 0)
  const pidA = drv1.domainPid(a.uuid)!
  const pidB = drv1.domainPid(b.uuid)!
  const pidC = drv1.domainPid(c.uuid)!
  await drv1.shutdownDriver()
  t.true(pidRunning(pidA) && pidRunning(pidB) && pidRunning(pidC), 'guests outlive the driver')
  // gamma dies while no daemon watches.
  process.kill(pidC, 'SIGKILL')
  await waitFor('gamma gone', () => !pidRunning(pidC), 30000, 5)

  const r0 = performance.now()
  const drv2 = await env.open()
  t.log(`new driver with 2 live guests ready in ${(performance.now() - r0).toFixed(0)} ms`)
  t.deepEqual(
    drv2
      .listDomains(ListDomainsFlags.ACTIVE)
      .map((d) => [d.name, d.id])
      .sort(),
    [
      ['alpha', 1],
      ['beta', 2],
    ],
  )
  t.is(drv2.domainPid(a.uuid), pidA)
  t.is(drv2.domainPid(b.uuid), pidB)
  t.deepEqual(drv2.getState(a.uuid), {state: DomainState.RUNNING, reason: RunningReason.BOOTED})
  t.deepEqual(drv2.getState(b.uuid), {state: DomainState.PAUSED, reason: PausedReason.USER})
  t.true(drv2.isPersistent(a.uuid))
  t.false(drv2.isPersistent(b.uuid))
  t.deepEqual(drv2.getState(c.uuid), {state: DomainState.SHUTOFF, reason: ShutoffReason.CRASHED})
  t.false(existsSync(statusFile(env, 'gamma')))
  t.true(drv2.hasActiveDomains())
  t.regex(drv2.getXMLDesc(b.uuid, 0), /id='2'/)

  // Both answer.
  await drv2.suspend(a.uuid)
  t.deepEqual(drv2.getState(a.uuid), {state: DomainState.PAUSED, reason: PausedReason.USER})
  await drv2.resume(a.uuid)
  await drv2.resume(b.uuid)
  t.deepEqual(drv2.getState(b.uuid), {state: DomainState.RUNNING, reason: RunningReason.UNPAUSED})
  t.true(drv2.getInfo(a.uuid).cpuTimeNs > 0n)
  // Ids continue after the highest one seen.
  await drv2.create(c.uuid, 0)
  t.is(drv2.lookupByName('gamma').id, 3)

  // Exit detection works for processes that are not our children.
  const d0 = performance.now()
  await drv2.destroy(a.uuid, 0)
  t.log(`destroy of a reattached guest: ${(performance.now() - d0).toFixed(1)} ms`)
  t.false(pidRunning(pidA))
  t.deepEqual(drv2.getState(a.uuid), {state: DomainState.SHUTOFF, reason: ShutoffReason.DESTROYED})
  const k0 = performance.now()
  process.kill(pidB, 'SIGKILL')
  // Not our child: noticed by the monitor closing or the 1 s /proc sweep; generous for a loaded machine.
  await waitFor('beta noticed', () => drv2.listDomains(0).every((d) => d.name !== 'beta'), 30000, 2)
  t.log(`SIGKILL of a reattached guest noticed in ${(performance.now() - k0).toFixed(1)} ms`)
  t.deepEqual(lifecycle(env, 'beta').at(-1), {event: LifecycleEvent.STOPPED, detail: StoppedDetail.FAILED})
  await drv2.destroy(c.uuid, 0)
  t.false(drv2.hasActiveDomains())
})

test('guests survive the daemon process being SIGKILLed; a new daemon reattaches and controls them', async (t) => {
  const env = await setup(t)
  const serial = join(env.root, 'orphan.serial')
  // A separate "daemon" process starts the guest and then dies hard.
  const script = `
    const {QemuDriver} = await import(${JSON.stringify(join(ROOT, 'src/lib/drivers/qemu/driver.ts'))});
    const {daemonPaths, driverStateDirs} = await import(${JSON.stringify(join(ROOT, 'src/lib/daemon/paths.ts'))});
    const paths = daemonPaths({daemon: 'virtqemud', mode: 'system', root: ${JSON.stringify(env.root)}});
    const quiet = {debug() {}, info() {}, warn() {}, error() {}};
    const drv = await QemuDriver.create({mode: 'system', dirs: driverStateDirs(paths, 'qemu'), capsCacheDir: paths.cacheDir + '/qemu/capabilities', log: quiet, kvm: false});
    const ref = await drv.createXML(${JSON.stringify(guestXml('orphan', serial))}, 0);
    process.stdout.write(String(drv.domainPid(ref.uuid)) + '\\n');
    setInterval(() => {}, 1000);
  `
  const {spawn} = await import('node:child_process')
  const daemon = spawn(process.execPath, ['--import=tsx', '--input-type=module', '-e', script], {cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit']})
  t.teardown(() => {
    try {
      daemon.kill('SIGKILL')
    } catch {
      // gone
    }
  })
  const pid = await new Promise<number>((resolve, reject) => {
    let out = ''
    daemon.stdout.on('data', (d: Buffer) => {
      out += d.toString()
      if (out.includes('\n')) resolve(Number(out.trim()))
    })
    daemon.once('exit', (code) => reject(new Error(`daemon exited with ${code}`)))
  })
  env.pids.add(pid)
  daemon.kill('SIGKILL')
  await new Promise((r) => daemon.once('exit', r))
  t.true(pidRunning(pid), 'QEMU outlives a SIGKILLed daemon')
  await waitFor('READY', () => count(serial, 'VCTL-GUEST READY') >= 1, 60000)

  const drv = await env.open()
  const ref = drv.lookupByName('orphan')
  t.is(ref.id, 1)
  t.is(drv.domainPid(ref.uuid), pid)
  t.deepEqual(drv.getState(ref.uuid), {state: DomainState.RUNNING, reason: RunningReason.BOOTED})
  // ACPI shutdown of a guest that is not our child: exit noticed via the monitor + /proc.
  await drv.shutdown(ref.uuid, 0)
  await waitFor('shut off', () => drv.listDomains(0).length === 0, 60000, 5)
  t.false(pidRunning(pid))
  const stopped = lifecycle(env, 'orphan').at(-1)
  t.deepEqual(stopped, {event: LifecycleEvent.STOPPED, detail: StoppedDetail.SHUTDOWN})
})

test('start errors are libvirt-style and leave nothing behind', async (t) => {
  const env = await setup(t)
  const {drv} = env
  const runDir = driverStateDirs(env.paths, 'qemu').runDir
  const disk = `<disk type='file' device='disk'><source file='${env.root}/missing.img'/><target dev='vda' bus='virtio'/></disk>`
  const ref = await drv.defineXML(noOsXml('nodisk', disk))
  const e1 = virErr(await t.throwsAsync(drv.create(ref.uuid, 0)))
  t.is(e1.code, 38)
  t.is(e1.message, `Cannot access storage file '${env.root}/missing.img': No such file or directory`)
  t.deepEqual(drv.getState(ref.uuid).state, DomainState.SHUTOFF)
  t.false(drv.hasActiveDomains())

  // QEMU itself refuses: the error carries its message from the log.
  const bad = guestXml('badkernel', join(env.root, 'bk.serial')).replace(KERNEL, join(env.root, 'no-such-kernel'))
  const e2 = virErr(await t.throwsAsync(drv.createXML(bad, 0)))
  t.is(e2.code, 1)
  t.is(e2.domain, 10)
  // One message whichever race shows QEMU's exit, with what QEMU wrote (not our own log lines).
  t.regex(e2.message, /^internal error: process exited while connecting to monitor: .*no-such-kernel/s)
  t.notRegex(e2.message, /shutting down|starting up/)
  t.throws(() => drv.lookupByName('badkernel'), {message: /no domain with matching name 'badkernel'/})

  const e3 = virErr(await t.throwsAsync(drv.defineXML(noOsXml('k').replace("type='qemu'", "type='kvm'"))))
  t.is(e3.code, 67)
  t.is(e3.message, "unsupported configuration: Emulator '/usr/bin/qemu-system-x86_64' does not support virt type 'kvm'")
  const e4 = virErr(await t.throwsAsync(drv.defineXML(noOsXml('m').replace('<type>hvm</type>', "<type machine='pc-bogus-1.0'>hvm</type>"))))
  t.is(e4.code, 67)
  t.regex(e4.message, /does not support machine type 'pc-bogus-1.0'/)
  const e5 = virErr(await t.throwsAsync(drv.defineXML(`<domain type='qemu'><name>nomem</name><os><type>hvm</type></os></domain>`)))
  t.is(e5.code, 27)

  t.false(drv.hasActiveDomains())
  t.deepEqual(readdirSync(runDir), [])
  t.deepEqual(
    drv.listDomains(0).map((d) => d.name),
    ['nodisk'],
  )
})

test('definitions, autostart and transient domains persist across drivers', async (t) => {
  const env = await setup(t)
  const drv1 = env.drv
  const a = await drv1.defineXML(noOsXml('auto'))
  const b = await drv1.defineXML(noOsXml('manual'))
  await drv1.setAutostart(a.uuid, true)
  t.true(existsSync(join(driverStateDirs(env.paths, 'qemu').autostartDir, 'auto.xml')))
  const err = virErr(
    await t.throwsAsync(
      drv1.defineXML(noOsXml('auto').replace('<name>auto</name>', '<name>auto</name><uuid>11111111-2222-3333-4444-555555555555</uuid>')),
    ),
  )
  t.is(err.code, 9)
  t.regex(err.message, /domain 'auto' already exists with uuid/)
  await drv1.shutdownDriver()

  const drv2 = await env.open()
  t.deepEqual(
    drv2
      .listDomains(ListDomainsFlags.PERSISTENT)
      .map((d) => d.name)
      .sort(),
    ['auto', 'manual'],
  )
  t.true(drv2.getAutostart(a.uuid))
  t.false(drv2.getAutostart(b.uuid))
  t.regex(drv2.getXMLDesc(a.uuid, 0), /<type arch='x86_64' machine='pc-i440fx-[0-9.]+'>hvm<\/type>/)
  await drv2.autostart()
  t.true(drv2.isActive(a.uuid))
  t.false(drv2.isActive(b.uuid))

  // Redefining a running domain updates the config, not the live definition.
  await drv2.defineXML(noOsXml('auto').replace("<memory unit='MiB'>128</memory>", `<uuid>${a.uuid}</uuid><memory unit='MiB'>96</memory>`))
  t.true(drv2.isUpdated(a.uuid))
  t.regex(drv2.getXMLDesc(a.uuid, 0), /<memory unit='KiB'>131072<\/memory>/)
  t.regex(drv2.getXMLDesc(a.uuid, 2), /<memory unit='KiB'>98304<\/memory>/)

  // Undefine while running: transient until it stops.
  await drv2.undefine(a.uuid)
  t.false(drv2.isPersistent(a.uuid))
  t.false(existsSync(join(driverStateDirs(env.paths, 'qemu').configDir, 'auto.xml')))
  t.false(existsSync(join(driverStateDirs(env.paths, 'qemu').autostartDir, 'auto.xml')))
  await drv2.destroy(a.uuid, 0)
  t.throws(() => drv2.lookupByUuid(a.uuid), {message: /no domain with matching uuid/})
  await drv2.undefine(b.uuid)
  t.deepEqual(drv2.listDomains(0), [])
})

test('lookups, URIs and host facts', async (t) => {
  const env = await setup(t)
  const {drv} = env
  const e = t.throws<VirError>(() => drv.lookupByName('nope'), {instanceOf: VirError})
  t.is(e.code, 42)
  t.is(e.domain, 10)
  t.is(e.message, "Domain not found: no domain with matching name 'nope'")
  t.is(t.throws<VirError>(() => drv.lookupById(7)).message, 'Domain not found: no domain with matching id 7')
  t.is(drv.canonicalUri('/system'), 'qemu:///system')
  t.notThrows(() => drv.checkUriPath('/system'))
  t.is(t.throws<VirError>(() => drv.checkUriPath('/session')).code, 5)
  t.is(drv.name, 'qemu')
  t.is(drv.type, 'QEMU')
  t.true(drv.getVersion() >= 7_000_000n)
  const caps = drv.getCapabilities()
  t.regex(caps, /<domain type='qemu'\/>/)
  t.notRegex(caps, /<domain type='kvm'/)
  t.regex(caps, /<machine canonical='pc-i440fx-[0-9.]+' maxCpus='255'>pc<\/machine>/)
  const node = drv.nodeInfo()
  t.is(node.model, 'x86_64')
  t.is(node.sockets * node.cores * node.threads * node.nodes, node.cpus)
  t.true(drv.nodeFreeMemory() > 0n)
  t.is(drv.getMaxVcpus('qemu'), 16)
})

test('pty serial console: live XML shows the pty; latency of start and destroy of a no-OS guest', async (t) => {
  const env = await setup(t)
  const {drv} = env
  const ref = await drv.createXML(noOsXml('pty', "<serial type='pty'/><console type='pty'/>"), 0)
  const live = drv.getXMLDesc(ref.uuid, 0)
  t.regex(live, /<serial type='pty'>\s*<source path='\/dev\/pts\/\d+'\/>/)
  t.regex(live, /<console type='pty' tty='\/dev\/pts\/\d+'>\s*<source path='\/dev\/pts\/\d+'\/>/)
  t.notRegex(drv.getXMLDesc(ref.uuid, 2 /* INACTIVE */), /\/dev\/pts|<domain[^>]* id='/)
  await drv.destroy(ref.uuid, 0)

  // VNC on 127.0.0.1 with an allocated port, shown in the live XML; QEMU answers RFB there.
  const v = await drv.createXML(noOsXml('vnc', "<graphics type='vnc'/>"), 0)
  const port = Number(/<graphics type='vnc' port='(\d+)' autoport='yes'/.exec(drv.getXMLDesc(v.uuid, 0))?.[1])
  t.true(port >= 5900, drv.getXMLDesc(v.uuid, 0))
  const {connect} = await import('node:net')
  const banner = await new Promise<string>((resolve, reject) => {
    const sock = connect(port, '127.0.0.1')
    sock.once('data', (d) => {
      resolve(d.toString())
      sock.destroy()
    })
    sock.once('error', reject)
  })
  t.regex(banner, /^RFB 003\.008/)
  await drv.destroy(v.uuid, 0)

  const starts: number[] = []
  const destroys: number[] = []
  for (let i = 0; i < 5; i++) {
    const s0 = performance.now()
    const r = await drv.defineXML(noOsXml(`lat${i}`))
    await drv.create(r.uuid, 0)
    starts.push(performance.now() - s0)
    t.is(drv.getState(r.uuid).state, DomainState.RUNNING)
    const d0 = performance.now()
    await drv.destroy(r.uuid, 0)
    destroys.push(performance.now() - d0)
  }
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]
  t.log(`define+start (until cont done) ms: ${starts.map((x) => x.toFixed(1)).join(' ')} median ${median(starts).toFixed(1)}`)
  t.log(`destroy ms: ${destroys.map((x) => x.toFixed(1)).join(' ')} median ${median(destroys).toFixed(1)}`)
  // Typically ~300-500 ms to start (QEMU's own start-up) and ~60 ms to destroy on a quiet machine;
  // several seconds each on a heavily loaded one (seen: 6.5 s and 1.1 s). The bounds hold there and
  // still catch a start or destroy that hangs on a timeout.
  t.true(median(starts) < 15000, `start median ${median(starts).toFixed(0)} ms`)
  t.true(median(destroys) < 5000, `destroy median ${median(destroys).toFixed(0)} ms`)
})
