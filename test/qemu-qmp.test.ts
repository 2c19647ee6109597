/**
 * QMP client and capability probing against a real QEMU (`-machine none`, no guest).
 */
import {spawn, type ChildProcess} from 'node:child_process'
import {createHash} from 'node:crypto'
import {existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import test, {type ExecutionContext} from 'ava'

import {loadQemuCaps, probeQemu, canonicalMachine, hostHasVirtExtensions} from '../src/lib/drivers/qemu/capabilities.js'
import {connectMonitor, cmdlineIsGuest, pidRunning, readProcStat} from '../src/lib/drivers/qemu/process.js'
import {QmpClient, QmpError, type QmpEvent} from '../src/lib/drivers/qemu/qmp.js'

const EMULATOR = '/usr/bin/qemu-system-x86_64'

function tempDir(t: ExecutionContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'vctl-qmp-'))
  t.teardown(() => rmSync(dir, {recursive: true, force: true}))
  return dir
}

/** Starts a QEMU with no machine and a QMP socket; killed (by pid) at teardown. */
function startQemu(t: ExecutionContext, sock: string, extra: string[] = []): ChildProcess {
  const child = spawn(
    EMULATOR,
    [
      '-machine',
      'none',
      '-nodefaults',
      '-display',
      'none',
      '-S',
      '-name',
      'guest=qmp-test,debug-threads=on',
      '-chardev',
      `socket,id=mon,path=${sock},server=on,wait=off`,
      '-mon',
      'chardev=mon,mode=control',
      ...extra,
    ],
    {
      stdio: 'ignore',
    },
  )
  const pid = child.pid!
  t.teardown(() => {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      // already gone
    }
  })
  return child
}

test('connects, negotiates capabilities, runs commands with ids', async (t) => {
  const dir = tempDir(t)
  const sock = join(dir, 'mon.sock')
  const child = startQemu(t, sock)
  const qmp = await connectMonitor(sock, () => child.exitCode === null, 60000)
  t.teardown(() => qmp.close())
  t.is(qmp.greeting.version.qemu.major >= 7, true)
  const [ver, status, kvm] = await Promise.all([
    qmp.execute<{qemu: {major: number}}>('query-version'),
    qmp.execute<{status: string; running: boolean}>('query-status'),
    qmp.execute<{present: boolean}>('query-kvm'),
  ])
  t.is(ver.qemu.major, qmp.greeting.version.qemu.major)
  t.is(status.status, 'prelaunch')
  t.is(typeof kvm.present, 'boolean')
})

test('a failing command rejects with QMP desc as OPERATION_FAILED in the QEMU domain', async (t) => {
  const dir = tempDir(t)
  const sock = join(dir, 'mon.sock')
  const child = startQemu(t, sock)
  const qmp = await connectMonitor(sock, () => child.exitCode === null, 60000)
  t.teardown(() => qmp.close())
  const err = await t.throwsAsync(qmp.execute('no-such-command'), {instanceOf: QmpError})
  t.is(err.code, 9)
  t.is(err.domain, 10)
  t.is(err.qmpClass, 'CommandNotFound')
  t.regex(err.message, /The command no-such-command has not been found/)
  // The connection stays usable.
  t.is((await qmp.execute<{status: string}>('query-status')).status, 'prelaunch')
})

test('asynchronous events (STOP, RESUME, SHUTDOWN) and close', async (t) => {
  const dir = tempDir(t)
  const sock = join(dir, 'mon.sock')
  const child = startQemu(t, sock)
  const qmp = await connectMonitor(sock, () => child.exitCode === null, 60000)
  const events: QmpEvent[] = []
  qmp.on('event', (e: QmpEvent) => events.push(e))
  await qmp.execute('cont')
  await qmp.execute('stop')
  await qmp.execute('cont')
  const closed = new Promise<void>((r) => qmp.once('close', () => r()))
  const exited = new Promise<void>((r) => child.once('exit', () => r()))
  await qmp.execute('quit').catch(() => {})
  await closed
  await exited
  t.deepEqual(
    events.map((e) => e.event),
    ['RESUME', 'STOP', 'RESUME', 'SHUTDOWN'],
  )
  t.is(events[3].data.reason, 'host-qmp-quit')
  t.true(qmp.closed)
  const err = await t.throwsAsync(qmp.execute('query-status'))
  t.regex(err.message, /End of file from qemu monitor/)
})

test('pending commands are rejected when QEMU dies', async (t) => {
  const dir = tempDir(t)
  const sock = join(dir, 'mon.sock')
  const child = startQemu(t, sock)
  const qmp = await connectMonitor(sock, () => child.exitCode === null, 60000)
  const closed = new Promise<void>((r) => qmp.once('close', () => r()))
  child.kill('SIGKILL')
  await closed
  await t.throwsAsync(qmp.execute('query-status'), {message: /End of file/})
})

test('connectMonitor waits for the socket to appear and gives up when the process dies', async (t) => {
  const dir = tempDir(t)
  const sock = join(dir, 'late.sock')
  let child: ChildProcess | undefined
  const timer = setTimeout(() => (child = startQemu(t, sock)), 150)
  const qmp = await connectMonitor(sock, () => true, 60000)
  clearTimeout(timer)
  t.teardown(() => qmp.close())
  t.truthy(child)
  t.is((await qmp.execute<{status: string}>('query-status')).status, 'prelaunch')

  const gone = connectMonitor(join(dir, 'never.sock'), () => false, 5000)
  await t.throwsAsync(gone, {message: /process exited while connecting to monitor/})
})

test('the monitor accepts a new client after the previous one disconnects (daemon restart)', async (t) => {
  const dir = tempDir(t)
  const sock = join(dir, 'mon.sock')
  const child = startQemu(t, sock)
  const a = await connectMonitor(sock, () => child.exitCode === null, 60000)
  await a.closeAndWait()
  const b = await QmpClient.connect(sock, {timeoutMs: 30000})
  t.teardown(() => b.close())
  t.is((await b.execute<{status: string}>('query-status')).status, 'prelaunch')
})

test('/proc helpers recognise the process', async (t) => {
  const dir = tempDir(t)
  const sock = join(dir, 'mon.sock')
  const child = startQemu(t, sock)
  const qmp = await connectMonitor(sock, () => child.exitCode === null, 60000)
  t.teardown(() => qmp.close())
  const pid = child.pid!
  const st = readProcStat(pid)!
  t.truthy(st)
  t.true(pidRunning(pid, st.starttime))
  t.false(pidRunning(pid, String(Number(st.starttime) + 1)))
  const {readCmdline} = await import('../src/lib/drivers/qemu/process.js')
  t.true(cmdlineIsGuest(readCmdline(pid), 'qmp-test'))
  t.false(cmdlineIsGuest(readCmdline(pid), 'qmp'))
  t.true(cmdlineIsGuest(['qemu', '-name', 'guest=a,,b,debug-threads=on'], 'a,b'))
  t.false(cmdlineIsGuest(['qemu', '-name', 'guest=a,,b,debug-threads=on'], 'a'))
})

test('probing reports version, machines, CPU models, KVM and sandbox support', async (t) => {
  const caps = await probeQemu(EMULATOR)
  t.true(caps.version.major >= 7)
  t.is(caps.versionNumber, caps.version.major * 1_000_000 + caps.version.minor * 1_000 + caps.version.micro)
  t.is(caps.arch, 'x86_64')
  t.truthy(caps.machines.find((m) => m.alias === 'pc'))
  t.truthy(caps.machines.find((m) => m.alias === 'q35'))
  t.true(caps.machines[0].isDefault)
  t.is(canonicalMachine({...caps, mtimeMs: 0, size: 0, kvmDevice: false}, 'pc'), caps.machines.find((m) => m.alias === 'pc')!.name)
  t.true(caps.cpuModels.includes('qemu64'))
  t.true(caps.cpuModels.includes('max'))
  t.is(typeof caps.kvm.enabled, 'boolean')
  t.is(caps.sandbox, true, 'Debian QEMU is built with seccomp')
  t.is(typeof hostHasVirtExtensions(), 'boolean')
})

test('capabilities are cached on disk per binary and reused', async (t) => {
  const dir = tempDir(t)
  const lines: string[] = []
  const log = {
    debug: (m: string) => lines.push(`debug ${m}`),
    info: (m: string) => lines.push(`info ${m}`),
    warn: (m: string) => lines.push(`warn ${m}`),
  }
  // A cache file of an earlier version (named by a hash of the path) goes once the binary is probed.
  const hashNamed = join(dir, `${createHash('sha256').update(EMULATOR).digest('hex')}.json`)
  writeFileSync(hashNamed, '{}')
  const a = await loadQemuCaps(EMULATOR, dir, log)
  const files = readdirSync(dir).filter((f) => f.endsWith('.json'))
  t.deepEqual(files, [`${encodeURIComponent(EMULATOR)}.json`])
  const mtime = statSync(join(dir, files[0])).mtimeMs
  t.true(lines.some((l) => l.startsWith('info qemu: probed')))
  lines.length = 0
  const b = await loadQemuCaps(EMULATOR, dir, log)
  t.deepEqual(b, a)
  t.true(lines.some((l) => l.includes('from cache')))
  t.false(lines.some((l) => l.includes('probed')))
  t.is(statSync(join(dir, files[0])).mtimeMs, mtime)
  t.false(existsSync(join(dir, 'nonexistent')))
  await t.throwsAsync(loadQemuCaps('/nonexistent/qemu', dir, log), {
    message: /Cannot find QEMU binary \/nonexistent\/qemu: No such file or directory/,
  })
})
