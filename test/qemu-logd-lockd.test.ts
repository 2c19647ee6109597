// The QEMU driver with virtlogd and virtlockd, all three started through the real CLI
// (`vctl daemon start --driver log|lock|qemu --root R -d`) on one root, driven with the real virsh
// and real QEMU guests (TCG).
//
// Console output: the tiny test guest prints only a few lines, so the streaming guest here runs a
// shell as its initramfs init (kernel `rdinit=/bin/sh -- -c "..."`, busybox from the same
// initramfs) that prints 3000 numbered lines on ttyS0 in bursts of 100 lines every 0.12 s (about
// 200 KB over ~4-5 s under TCG), then hands over to the guest's normal /init (READY, ACPI power
// off). That is real guest console output through QEMU's serial chardev into virtlogd's FIFO;
// virtlogd is configured with max_size = 65536 and max_backups = 3 (ROOT/etc/libvirt/virtlogd.conf),
// so the console log rolls over several times while keeping all 3000 lines (4 x 64 KiB), which
// lets the test check every line exactly once and in order across a virtlogd SIGUSR1 re-exec sent
// early in the stream (so the rollovers are the new process's work, with the config it re-read).
// Lines may be split across two files (virtlogd cuts at the last newline of what it has read; a
// line QEMU delivers in two pieces can straddle a rollover), so lines are checked on the
// concatenation of the kept files, oldest first.
import test from 'ava'
import {existsSync, mkdirSync, readFileSync, readdirSync, realpathSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {join, resolve} from 'node:path'
import {parseDomainXml} from '../src/lib/conf/domain.js'
import {buildQemuArgv, fileChardevs} from '../src/lib/drivers/qemu/argv.js'
import {applyQemuDefaults, validateForQemu, type QemuTarget} from '../src/lib/drivers/qemu/validate.js'
import {diskLocks} from '../src/lib/drivers/qemu/logd-lockd.js'
import {listLocks} from '../src/lib/services/lock/client.js'
import {isRunning, python, run, startDaemon, tempRoot, vctl, virsh, waitExit, type TestDaemon} from './helpers/daemon.js'
import {checkGolden} from './helpers/golden.js'
import {INITRD, KERNEL, POWEROFF, READY, countInLog, killGuestsUnder, qemuPidsUnder, waitForLog} from './helpers/guest.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function until<T>(get: () => T | undefined | false | Promise<T | undefined | false>, what: string, ms = 60000): Promise<T> {
  const end = Date.now() + ms
  for (;;) {
    const v = await get()
    if (v) return v
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await sleep(25)
  }
}

// ---- the argv with virtlogd FIFOs (pure; golden) ---------------------------------------------

const GOLDEN = resolve(import.meta.dirname, 'golden/qemu')

function goldenTarget(): QemuTarget {
  return {
    emulator: '/usr/bin/qemu-system-x86_64',
    arch: 'x86_64',
    machines: [{name: 'pc-i440fx-7.2', alias: 'pc', isDefault: true, maxCpus: 255, deprecated: false}],
    cpuModels: ['qemu64'],
    kvm: false,
    sandbox: true,
  }
}

test('argv: file serial ports go to virtlogd FIFOs (golden logd/serial-file.args); locks per disk', (t) => {
  const def = parseDomainXml(readFileSync(join(GOLDEN, 'serial-file.xml'), 'utf8'))
  const tg = goldenTarget()
  applyQemuDefaults(def, tg)
  validateForQemu(def, tg)
  const files = fileChardevs(def)
  t.deepEqual(files, [
    {id: 'charserial0', path: '/var/log/vctl/serial-file.console.log', append: true},
    {id: 'charserial1', path: '/var/log/vctl/serial-file,debug.log', append: false},
  ])
  const fifos = Object.fromEntries(files.map((f, i) => [f.id, `/run/libvirt/virtlogd/qemu-serial-file-${i},x.fifo`]))
  const argv = buildQemuArgv(def, {emulator: tg.emulator, monitorPath: '/run/libvirt/qemu/serial-file.monitor', sandbox: true, chardevFifos: fifos})
  const file = join(GOLDEN, 'logd/serial-file.args')
  const actual = argv.join('\n') + '\n'
  checkGolden(t, file, actual)
  // Only the chardev paths differ from the direct-file argv.
  const direct = buildQemuArgv(def, {emulator: tg.emulator, monitorPath: '/run/libvirt/qemu/serial-file.monitor', sandbox: true})
  t.deepEqual(
    argv.map((a, i) => [a, direct[i]]).filter(([a, b]) => a !== b),
    [
      [
        'file,id=charserial0,path=/run/libvirt/virtlogd/qemu-serial-file-0,,x.fifo',
        'file,id=charserial0,path=/var/log/vctl/serial-file.console.log,append=on',
      ],
      ['file,id=charserial1,path=/run/libvirt/virtlogd/qemu-serial-file-1,,x.fifo', 'file,id=charserial1,path=/var/log/vctl/serial-file,,debug.log'],
    ],
  )
  t.deepEqual(diskLocks(def), [
    {path: '/var/lib/libvirt/images/serial-file.img', shared: false},
    {path: '/var/lib/libvirt/images/tools.iso', shared: true},
  ])
})

// ---- the three daemons ------------------------------------------------------------------------

const MAX_SIZE = 65536
const MAX_BACKUPS = 3
const LINES = 3000

let root: string
let qemu: TestDaemon
let U: string

const pidFile = (daemon: string) => join(root, 'run', `${daemon}.pid`)
function daemonPid(daemon: string): number | undefined {
  try {
    return Number(readFileSync(pidFile(daemon), 'utf8').trim()) || undefined
  } catch {
    return undefined
  }
}
/** A killed daemon stays a zombie until reaped: it counts as gone, as `vctl daemon stop` sees it. */
const alive = isRunning

test.before(async () => {
  root = realpathSync(tempRoot('vctl-logd-lockd-'))
  mkdirSync(join(root, 'etc/libvirt'), {recursive: true})
  writeFileSync(join(root, 'etc/libvirt/virtlogd.conf'), `max_size = ${MAX_SIZE}\nmax_backups = ${MAX_BACKUPS}\n`)
  const [, , q] = await Promise.all([
    startDaemon(['--driver', 'log'], {root, keepRoot: true}),
    startDaemon(['--driver', 'lock'], {root, keepRoot: true}),
    startDaemon(['--driver', 'qemu'], {root, keepRoot: true}),
  ])
  qemu = q
  U = qemu.uri('qemu')
})

test.after.always(async () => {
  if (!root) return
  killGuestsUnder(root)
  // The daemons may have re-executed (new PIDs): stop whatever each PID file names now.
  for (const dm of ['virtqemud', 'virtlogd', 'virtlockd']) {
    const pid = daemonPid(dm)
    if (pid && alive(pid)) {
      process.kill(pid, 'SIGTERM')
      if (!(await waitExit(pid, 5000))) process.kill(pid, 'SIGKILL')
    }
  }
  rmSync(root, {recursive: true, force: true})
})

const LOGD_SOCK = () => join(root, 'run/libvirt/virtlogd-sock')
const LOCKD_SOCK = () => join(root, 'run/libvirt/virtlockd-sock')

function xml(name: string, o: {serial: string; append?: boolean; cmdline?: string; disk?: string; kernel?: string}): string {
  const cmdline = o.cmdline ?? 'console=ttyS0 quiet panic=-1 cryptomgr.notests'
  const disk = o.disk
    ? `<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='${o.disk}'/><target dev='vda' bus='virtio'/></disk>`
    : ''
  return `<domain type='qemu'>
  <name>${name}</name>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>${o.kernel ?? KERNEL}</kernel>
    <initrd>${INITRD}</initrd>
    <cmdline>${cmdline}</cmdline>
  </os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    ${disk}
    <serial type='file'>
      <source path='${o.serial}'${o.append ? " append='on'" : ''}/>
      <target port='0'/>
    </serial>
  </devices>
</domain>
`
}

async function define(name: string, o: Parameters<typeof xml>[1]): Promise<void> {
  const file = join(root, `${name}.xml`)
  writeFileSync(file, xml(name, o))
  const r = await virsh(U, ['define', file])
  if (r.code !== 0) throw new Error(`define ${name}: ${r.stderr}`)
}

async function state(name: string): Promise<string> {
  return (await virsh(U, ['domstate', name])).stdout.trim()
}

/** The log's files that exist, oldest first (PATH.N ... PATH.0, PATH). */
function logFiles(path: string): string[] {
  const out: string[] = []
  for (let i = 20; i >= 0; i--) if (existsSync(`${path}.${i}`)) out.push(`${path}.${i}`)
  if (existsSync(path)) out.push(path)
  return out
}
/** A log and its backups, oldest first; a file virtlogd rotates away while this reads counts as empty. */
const whole = (path: string) =>
  logFiles(path)
    .map((f) => {
      try {
        return readFileSync(f, 'utf8')
      } catch {
        return ''
      }
    })
    .join('')
const seqNumbers = (text: string) => [...text.matchAll(/^VCTL-SEQ (\d+) /gm)].map((m) => Number(m[1]))

function followed(): {path: string; fifo: string}[] {
  try {
    return JSON.parse(readFileSync(join(root, 'run/libvirt/virtlogd/logs.json'), 'utf8')) as {path: string; fifo: string}[]
  } catch {
    return []
  }
}

async function reexec(daemon: string): Promise<{before: number; after: number}> {
  const before = daemonPid(daemon)!
  process.kill(before, 'SIGUSR1')
  const after = await until(() => {
    const p = daemonPid(daemon)
    return p !== undefined && p !== before && !alive(before) ? p : undefined
  }, `${daemon} to re-exec`)
  return {before, after}
}

test.serial('virtlogd: console output rolls over at max_size; SIGUSR1 while the guest writes loses no line; QEMU unaffected', async (t) => {
  t.timeout(600000) // guests booted under TCG and many processes: minutes on a loaded machine
  const serial = join(root, 'stream-console.log')
  const qemuLog = join(root, 'var/log/libvirt/qemu/stream.log')
  // Something left from before must go: no append='on', so the log starts empty.
  writeFileSync(serial, 'stale\n')
  // 0.4 s of pause every 100 lines: the guest still writes for 10 s or more after line 300, so the
  // re-exec below (well under a second normally) ends while it writes even on a loaded machine.
  const script = `i=0; while [ $i -lt ${LINES} ]; do echo VCTL-SEQ $i ..................................................; i=$((i+1)); if [ $((i%100)) = 0 ]; then usleep 400000; fi; done; echo VCTL-SEQ-DONE; exec /init`
  await define('stream', {serial, cmdline: `console=ttyS0 quiet panic=-1 cryptomgr.notests rdinit=/bin/sh -- -c "${script}"`})
  const r = await virsh(U, ['start', 'stream'])
  t.is(r.code, 0, r.stderr)
  const qpid = qemuPidsUnder(root).get('stream')
  t.truthy(qpid)

  // Both logs go through virtlogd FIFOs; QEMU writes the console into its FIFO.
  const logs = followed()
  t.deepEqual(logs.map((l) => l.path).sort(), [qemuLog, serial].sort())
  const cmd = readFileSync(`/proc/${qpid}/cmdline`, 'utf8').split('\0')
  const consoleFifo = logs.find((l) => l.path === serial)!.fifo
  t.true(cmd.includes(`file,id=charserial0,path=${consoleFifo}`), cmd.join(' '))
  t.true(statSync(consoleFifo).isFIFO())
  t.regex(readFileSync(qemuLog, 'utf8'), /starting up vctl qemu driver, domain stream/)

  // Re-exec virtlogd while lines keep coming (early on, so the new process does the rollovers).
  await until(() => seqNumbers(whole(serial)).length >= 300, 'the guest to stream', 60000)
  const atSignal = seqNumbers(whole(serial)).length
  const {before, after} = await reexec('virtlogd')
  const atTakeOver = seqNumbers(whole(serial))
  t.true(atTakeOver.length < LINES, `still writing when the new virtlogd took over (${atTakeOver.length} lines)`)
  t.true(atSignal < LINES)
  t.log(`lines at SIGUSR1: ${atSignal}, at take-over: ${atTakeOver.length}`)
  const st = await vctl(['daemon', 'status', '--driver', 'log', '--root', root])
  t.regex(st.stdout, new RegExp(`virtlogd is running \\(pid ${after}\\)`))
  t.not(before, after)

  await waitForLog(serial, READY, 1, 60000)
  const files = logFiles(serial)
  t.true(existsSync(`${serial}.0`), 'rolled over')
  t.true(files.length >= 3 && files.length <= MAX_BACKUPS + 1, files.join(' '))
  t.false(existsSync(`${serial}.${MAX_BACKUPS}`))
  for (const f of files) t.true(statSync(f).size <= MAX_SIZE, `${f}: ${statSync(f).size}`)
  const text = whole(serial)
  t.false(text.includes('stale'), 'truncated at start (no append)')
  const seq = seqNumbers(text)
  t.is(seq.length, LINES)
  t.is(
    seq.findIndex((n, i) => n !== i),
    -1,
    'every line once, in order',
  )
  t.true(text.indexOf('VCTL-SEQ-DONE') > text.lastIndexOf(`VCTL-SEQ ${LINES - 1} `))

  // QEMU did not notice: same process, answering its monitor.
  t.is(qemuPidsUnder(root).get('stream'), qpid)
  t.is(await state('stream'), 'running')
  t.is((await virsh(U, ['suspend', 'stream'])).code, 0)
  t.is(await state('stream'), 'paused')
  t.is((await virsh(U, ['resume', 'stream'])).code, 0)
  t.is(await state('stream'), 'running')

  // Shutdown: the logs are closed in virtlogd (FIFOs gone), our last line goes through it.
  t.is((await virsh(U, ['shutdown', 'stream'])).code, 0)
  await waitForLog(serial, POWEROFF, 1, 60000)
  await until(async () => (await state('stream')) === 'shut off', 'the guest to stop')
  await until(() => followed().length === 0, 'virtlogd to stop following the logs')
  t.false(existsSync(consoleFifo))
  // The driver's last line is appended once the logs are closed: give it its moment.
  await until(() => /shutting down, reason=shutdown\n$/.test(readFileSync(qemuLog, 'utf8')), 'the shutdown line in the QEMU log')
  const ql = readFileSync(qemuLog, 'utf8')
  t.regex(ql, /shutting down, reason=shutdown\n$/)
  t.true(ql.includes(`path=${consoleFifo}`), 'the logged command line names the FIFO')
})

test.serial('virtlockd: a second guest on the same disk fails with the lock error; locks survive SIGUSR1 and a virtqemud restart', async (t) => {
  t.timeout(600000) // guests booted under TCG and many processes: minutes on a loaded machine
  const img = join(root, 'shared.img')
  const mk = await run('qemu-img', ['create', '-f', 'raw', img, '1M'])
  t.is(mk.code, 0, mk.stderr)
  const serialA = join(root, 'lockA-console.log')
  const serialB = join(root, 'lockB-console.log')
  await define('lockA', {serial: serialA, append: true, disk: img})
  await define('lockB', {serial: serialB, append: true, disk: img})
  const busy = `resource busy: Lockspace resource '${img}' is locked`

  let r = await virsh(U, ['start', 'lockA'])
  t.is(r.code, 0, r.stderr)
  const pidA = qemuPidsUnder(root).get('lockA')!
  let locks = await listLocks(LOCKD_SOCK())
  t.deepEqual(locks, [{path: img, shared: false, owners: [{name: 'lockA', uuid: locks[0]?.owners[0]?.uuid, pid: pidA}]}])

  const refused = async (when: string) => {
    const r2 = await virsh(U, ['start', 'lockB'])
    t.not(r2.code, 0, when)
    t.true(r2.stderr.includes(busy), `${when}: ${r2.stderr}`)
    t.false(qemuPidsUnder(root).has('lockB'), `${when}: no QEMU for lockB`)
    t.false(existsSync(join(root, 'run/libvirt/qemu/lockB.json')), `${when}: no status file`)
    t.is(await state('lockB'), 'shut off')
    t.false(
      followed().some((l) => l.path === serialB),
      `${when}: lockB's log not opened`,
    )
  }
  await refused('first try')
  // libvirt's error code and domain, as a client library sees them.
  const py = await python(
    `import libvirt\nc = libvirt.open(${JSON.stringify(U)})\ntry:\n  c.lookupByName('lockB').create()\nexcept libvirt.libvirtError as e:\n  print(e.get_error_code(), e.get_error_domain(), e.get_error_message())\n`,
  )
  t.is(py.stdout.trim(), `87 42 ${busy}`, py.stderr)

  // virtlockd re-executes: the lock is kept (same owner and pid) and still enforced.
  const {before, after} = await reexec('virtlockd')
  t.not(before, after)
  t.regex((await vctl(['daemon', 'status', '--driver', 'lock', '--root', root])).stdout, new RegExp(`virtlockd is running \\(pid ${after}\\)`))
  t.deepEqual(await listLocks(LOCKD_SOCK()), locks)
  await refused('after virtlockd re-exec')

  // virtqemud restarts and reattaches lockA: still enforced; the new daemon releases it later.
  t.is((await vctl(['daemon', 'stop', '--driver', 'qemu', '--root', root])).code, 0)
  qemu = await startDaemon(['--driver', 'qemu'], {root, keepRoot: true})
  t.is(await state('lockA'), 'running')
  t.is(qemuPidsUnder(root).get('lockA'), pidA)
  await refused('after virtqemud restart')

  r = await virsh(U, ['destroy', 'lockA'])
  t.is(r.code, 0, r.stderr)
  t.deepEqual(await listLocks(LOCKD_SOCK()), [], 'released when lockA was destroyed')
  t.false(
    followed().some((l) => l.path === serialA),
    "lockA's console log closed by the restarted daemon",
  )
  r = await virsh(U, ['start', 'lockB'])
  t.is(r.code, 0, r.stderr)
  locks = await listLocks(LOCKD_SOCK())
  t.deepEqual(
    locks.map((l) => [l.path, l.owners.map((o) => [o.name, o.pid])]),
    [[img, [['lockB', qemuPidsUnder(root).get('lockB')]]]],
  )
  // And now lockA is the one refused.
  r = await virsh(U, ['start', 'lockA'])
  t.true(r.stderr.includes(busy), r.stderr)
  r = await virsh(U, ['destroy', 'lockB'])
  t.is(r.code, 0, r.stderr)
  t.deepEqual(await listLocks(LOCKD_SOCK()), [])
  t.deepEqual(
    followed().filter((l) => l.path.includes('lock')),
    [],
  )

  // QEMU failing after it was spawned: its error comes back (read through virtlogd), and the
  // locks and logs are given back all the same.
  await define('lockBad', {serial: join(root, 'lockBad-console.log'), disk: img, kernel: join(root, 'no-such-vmlinuz')})
  r = await virsh(U, ['start', 'lockBad'])
  t.not(r.code, 0)
  t.regex(r.stderr, /process exited while connecting to monitor: .*could not open kernel file/, r.stderr)
  t.notRegex(r.stderr, /unexpectedly closed|shutting down/, 'one message, with what QEMU wrote only')
  t.false(qemuPidsUnder(root).has('lockBad'))
  t.false(existsSync(join(root, 'run/libvirt/qemu/lockBad.json')))
  t.deepEqual(await listLocks(LOCKD_SOCK()), [])
  t.deepEqual(
    followed().filter((l) => l.path.includes('lock')),
    [],
  )
  t.regex(readFileSync(join(root, 'var/log/libvirt/qemu/lockBad.log'), 'utf8'), /could not open kernel file[^]*shutting down, reason=failed\n$/)
})

test.serial('CLI: virtlogd/virtlockd status and stop; without them guests log directly and take no locks', async (t) => {
  t.timeout(600000) // guests booted under TCG and many processes: minutes on a loaded machine
  for (const [driver, name] of [
    ['log', 'virtlogd'],
    ['lock', 'virtlockd'],
  ]) {
    const pid = daemonPid(name)!
    let r = await vctl(['daemon', 'status', '--driver', driver, '--root', root])
    t.is(r.code, 0)
    t.regex(r.stdout, new RegExp(`${name} is running \\(pid ${pid}\\)`))
    r = await vctl(['daemon', 'stop', '--driver', driver, '--root', root])
    t.is(r.code, 0, r.stderr)
    t.false(alive(pid))
    r = await vctl(['daemon', 'status', '--driver', driver, '--root', root])
    t.is(r.code, 3)
    t.regex(r.stdout, new RegExp(`${name} is not running`))
  }
  t.false(existsSync(LOGD_SOCK()))
  t.false(existsSync(LOCKD_SOCK()))

  // The same definition starts without them: the console is a plain file again.
  const serial = join(root, 'lockA-console.log')
  const readyBefore = countInLog(serial, READY)
  let r = await virsh(U, ['start', 'lockA'])
  t.is(r.code, 0, r.stderr)
  const qpid = qemuPidsUnder(root).get('lockA')!
  const cmd = readFileSync(`/proc/${qpid}/cmdline`, 'utf8').split('\0')
  t.true(cmd.includes(`file,id=charserial0,path=${serial},append=on`), cmd.join(' '))
  await waitForLog(serial, READY, readyBefore + 1, 60000)
  r = await virsh(U, ['destroy', 'lockA'])
  t.is(r.code, 0, r.stderr)
  t.regex(readFileSync(join(root, 'var/log/libvirt/qemu/lockA.log'), 'utf8'), /shutting down, reason=destroyed\n$/)
  t.false(readdirSync(join(root, 'run/libvirt')).includes('virtlockd-sock'))
})
