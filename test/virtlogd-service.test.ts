// virtlogd's service through its RPC program, on a standalone host in this process: FIFOs written
// by real shell processes, rollover, append/position/read, close, and a restart following again.
import test from 'ava'
import {existsSync, lstatSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {spawn} from 'node:child_process'
import {startServiceDaemon} from './helpers/service-daemon.js'
import type {LogService} from '../src/lib/services/log/server.js'
import {appendGuestLog, closeGuestLog, guestLogPosition, openFifoForWriting, openGuestLog, readGuestLog} from '../src/lib/services/log/client.js'
import {withDaemon} from '../src/lib/services/retry.js'
import {logProgram} from '../src/lib/services/log/protocol.js'
import {ErrorCode, ErrorDomain, VirError} from '../src/lib/errors.js'
import {closeSync, writeSync} from 'node:fs'

const base = mkdtempSync(join(tmpdir(), 'vctl-virtlogd-'))
test.after.always(() => rmSync(base, {recursive: true, force: true}))
let n = 0

const UUID = '11111111-2222-4333-8444-555555555555'

async function startHost(root = join(base, `r${n++}`), config = {max_size: 4096, max_backups: 3}) {
  const host = await startServiceDaemon('log', root, {config})
  const svc = host.services[0] as LogService
  const stop = async () => {
    await host.stop()
    svc.manager.shutdown()
  }
  return {host, svc, root, sock: host.paths.sockRw, logDir: join(root, 'var/log/libvirt/qemu'), stop}
}

/** Runs a shell writing to the FIFO; resolves with its exit status and stderr. */
function sh(script: string, fifo: string): Promise<{code: number | null; signal: string | null; stderr: string}> {
  return new Promise((resolve) => {
    const c = spawn('sh', ['-c', script, 'sh', fifo], {stdio: ['ignore', 'ignore', 'pipe']})
    let stderr = ''
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    c.on('exit', (code, signal) => resolve({code, signal, stderr}))
  })
}

/** Polls `cond` (a read that races a rollover counts as "not yet") until it holds; generous for a loaded machine. */
async function until(cond: () => boolean, what: string, ms = 60000): Promise<void> {
  const end = Date.now() + ms
  const holds = () => {
    try {
      return cond()
    } catch {
      return false
    }
  }
  while (!holds()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

const readAll = (p: string, backups: number) =>
  [...Array.from({length: backups}, (_, i) => `${p}.${backups - 1 - i}`), p]
    .filter((f) => existsSync(f))
    .map((f) => readFileSync(f, 'utf8'))
    .join('')

test('open returns a FIFO; what a writer puts in it lands in the log', async (t) => {
  const h = await startHost()
  t.teardown(h.stop)
  const path = join(h.logDir, 'web01.log')
  const fifo = await openGuestLog(h.sock, {driver: 'qemu', uuid: UUID, name: 'web01', path})
  t.true(lstatSync(fifo).isFIFO())
  t.is(fifo.startsWith(join(h.root, 'run/libvirt/virtlogd/qemu-web01-')), true, fifo)
  t.is(lstatSync(fifo).mode & 0o777, 0o600)
  t.is(await openGuestLog(h.sock, {driver: 'qemu', uuid: UUID, name: 'web01', path}), fifo, 'same log, same FIFO')
  // Writers come and go; the daemon keeps reading (it never sees EOF).
  t.is((await sh('echo first > "$1"', fifo)).code, 0)
  t.is((await sh('echo second > "$1"; echo third > "$1"', fifo)).code, 0)
  await until(() => existsSync(path) && readFileSync(path, 'utf8').includes('third'), 'the log')
  t.is(readFileSync(path, 'utf8'), 'first\nsecond\nthird\n')
  t.is(statSync(path).mode & 0o777, 0o600)
  const reg: unknown = JSON.parse(readFileSync(join(h.root, 'run/libvirt/virtlogd/logs.json'), 'utf8'))
  t.deepEqual(reg, [{driver: 'qemu', uuid: UUID, name: 'web01', path, fifo}])
})

test('rollover through the FIFO: NAME.log.0 appears, at most max_backups are kept, lines stay whole', async (t) => {
  const h = await startHost(undefined, {max_size: 4096, max_backups: 3})
  t.teardown(h.stop)
  const path = join(h.logDir, 'big.log')
  const fifo = await openGuestLog(h.sock, {driver: 'qemu', uuid: UUID, name: 'big', path})
  // 3000 lines of 20 bytes = 60 000 bytes, about 15 files' worth.
  const r = await sh('i=0; while [ $i -lt 3000 ]; do printf "line%05d-xxxxxxxxx\\n" $i; i=$((i+1)); done > "$1"', fifo)
  t.is(r.code, 0, r.stderr)
  await until(() => existsSync(path) && readFileSync(path, 'utf8').endsWith('line02999-xxxxxxxxx\n'), 'the last line')
  t.true(existsSync(`${path}.0`))
  t.true(existsSync(`${path}.2`))
  t.false(existsSync(`${path}.3`), 'no more than max_backups backups')
  const names = readdirSync(h.logDir).filter((f) => f.startsWith('big.log'))
  t.is(names.length, 4)
  for (const f of names) {
    const s = readFileSync(join(h.logDir, f), 'utf8')
    t.true(statSync(join(h.logDir, f)).size <= 4096, f)
    t.true(s.endsWith('\n'), `${f} ends with a whole line`)
  }
  // What is kept is a contiguous run of lines ending with the last one.
  const kept = readAll(path, 3).split('\n').filter(Boolean)
  const first = Number(kept[0].slice(4, 9))
  t.deepEqual(
    kept,
    Array.from({length: 3000 - first}, (_, i) => `line${String(first + i).padStart(5, '0')}-xxxxxxxxx`),
  )
  t.true(first > 0)
})

test('append, position and read; read across a rollover', async (t) => {
  const h = await startHost(undefined, {max_size: 120, max_backups: 2})
  t.teardown(h.stop)
  const path = join(h.logDir, 'db.log')
  const id = {driver: 'qemu', uuid: UUID, name: 'db', path}
  t.is(await appendGuestLog(h.sock, id, 'not open yet\n'), 13)
  t.is(readFileSync(path, 'utf8'), 'not open yet\n')
  const fifo = await openGuestLog(h.sock, id)
  const pos = await guestLogPosition(h.sock, path)
  t.is(pos.offset, 13n)
  t.is(pos.inode, statSync(path, {bigint: true}).ino)
  await appendGuestLog(h.sock, id, 'LC_ALL=C /usr/bin/qemu-system-x86_64 -name db\n')
  const fd = openFifoForWriting(fifo)
  writeSync(fd, 'x'.repeat(99) + '\n' + 'qemu: started\n')
  closeSync(fd)
  await until(() => readAll(path, 2).includes('qemu: started'), 'the guest output')
  t.true(existsSync(`${path}.0`), 'rolled over')
  const after = await readGuestLog(h.sock, path, pos)
  t.is(after, 'LC_ALL=C /usr/bin/qemu-system-x86_64 -name db\n' + 'x'.repeat(99) + '\nqemu: started\n')
  t.is(await readGuestLog(h.sock, path, pos, 6), 'LC_ALL')
})

test('close copies what is left, removes the FIFO and forgets the log', async (t) => {
  const h = await startHost()
  t.teardown(h.stop)
  const path = join(h.logDir, 'gone.log')
  const fifo = await openGuestLog(h.sock, {driver: 'qemu', uuid: UUID, name: 'gone', path})
  const fd = openFifoForWriting(fifo)
  writeSync(fd, 'last words\n')
  closeSync(fd)
  await closeGuestLog(h.sock, path) // may run before the event loop read the pipe: close drains it
  t.is(readFileSync(path, 'utf8'), 'last words\n')
  t.false(existsSync(fifo))
  t.deepEqual(h.svc.manager.entries(), [])
  await closeGuestLog(h.sock, path) // idempotent
  t.throws(() => openFifoForWriting(fifo), {message: /cannot open log FIFO/})
})

test('truncate flag, bad paths and flags are refused with libvirt-style errors', async (t) => {
  const h = await startHost()
  t.teardown(h.stop)
  const path = join(h.logDir, 't.log')
  const id = {driver: 'qemu', uuid: UUID, name: 't', path}
  await appendGuestLog(h.sock, id, 'old boot\n')
  await openGuestLog(h.sock, {...id, truncate: true})
  t.is(readFileSync(path, 'utf8'), '')
  const err = await t.throwsAsync<VirError>(openGuestLog(h.sock, {...id, path: 'relative.log'}), {instanceOf: VirError})
  t.is(err.code, ErrorCode.INVALID_ARG)
  t.is(err.domain, ErrorDomain.LOGGING)
  const e2 = await t.throwsAsync(
    withDaemon(h.sock, [logProgram], (c) => c.call(logProgram, logProgram.procs.DOMAIN_CLOSE_LOG_FILE, {path, flags: 8})),
  )
  t.regex(e2.message, /unsupported flags \(0x8\)/)
})

test('a restarted daemon follows the recorded FIFOs again; stray FIFOs are removed', async (t) => {
  const root = join(base, `r${n++}`)
  const h1 = await startHost(root)
  const path = join(h1.logDir, 'again.log')
  const fifo = await openGuestLog(h1.sock, {driver: 'qemu', uuid: UUID, name: 'again', path})
  t.is((await sh('echo before > "$1"', fifo)).code, 0)
  await until(() => existsSync(path) && readFileSync(path, 'utf8') === 'before\n', 'the first line')
  await h1.stop()
  const stray = join(root, 'run/libvirt/virtlogd/qemu-stray-000000000000.fifo')
  await sh('mkfifo "$1"', stray)
  const h2 = await startHost(root)
  t.teardown(h2.stop)
  t.false(existsSync(stray))
  t.deepEqual(
    h2.svc.manager.entries().map((e) => e.fifo),
    [fifo],
  )
  t.is((await sh('echo after > "$1"', fifo)).code, 0)
  await until(() => readFileSync(path, 'utf8') === 'before\nafter\n', 'the line written after the restart')
  t.pass()
})

test('the client retries while the daemon is not there yet', async (t) => {
  const root = join(base, `r${n++}`)
  const sock = join(root, 'run/libvirt/virtlogd-sock')
  const path = join(root, 'late.log')
  const pending = openGuestLog(sock, {driver: 'qemu', uuid: UUID, name: 'late', path}, {connectTimeoutMs: 60000})
  await new Promise((r) => setTimeout(r, 300)) // the client is retrying by now (or soon: either way it must wait for the daemon)
  const h = await startHost(root)
  t.teardown(h.stop)
  t.true(lstatSync(await pending).isFIFO())
  const gone = join(base, 'nothing-here', 'sock')
  const started = Date.now()
  await t.throwsAsync(openGuestLog(gone, {driver: 'qemu', uuid: UUID, name: 'x', path}, {connectTimeoutMs: 200}), {message: /No such file/})
  // It gives up at its timeout (200 ms), not at the 60 s above; the margin is for a loaded machine.
  t.true(Date.now() - started < 10000)
})
