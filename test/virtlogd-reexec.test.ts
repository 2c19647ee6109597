// virtlogd's SIGUSR1 re-exec, with real processes: a standalone virtlogd host (this very file, run
// with VCTL_TEST_HARNESS=virtlogd) re-executes while a shell keeps writing numbered lines into
// its FIFO. Every line must arrive exactly once and in order, and the writer must never get EPIPE.
import {existsSync, mkdtempSync, readFileSync, readdirSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {spawn} from 'node:child_process'
import {fileURLToPath} from 'node:url'
import {startServiceDaemon} from './helpers/service-daemon.js'
import {waitCount} from './helpers/wait-stable.js'
import {killStarted, sleep, started, startHarness as startBase, until, type Harness as BaseHarness} from './helpers/reexec-harness.js'
import {closeGuestLog, openGuestLog} from '../src/lib/services/log/client.js'
import {processRunning} from '../src/lib/services/reexec.js'
import {socketAccepts} from '../src/lib/daemon/listeners.js'

const env = process.env

if (env.VCTL_TEST_HARNESS === 'virtlogd') {
  if (env.VCTL_TEST_FAIL_TAKEOVER && env.VCTL_REEXEC_STATE) {
    process.stderr.write('harness: failing this start on purpose\n')
    process.exit(3)
  }
  const config = {max_size: Number(env.VCTL_TEST_MAX_SIZE ?? 2097152), max_backups: Number(env.VCTL_TEST_MAX_BACKUPS ?? 3)}
  await startServiceDaemon('log', env.VCTL_TEST_ROOT!, {config, verbose: true, handleSignals: true})
} else {
  const {default: test} = await import('ava')
  const SELF = fileURLToPath(import.meta.url)
  const base = mkdtempSync(join(tmpdir(), 'vctl-virtlogd-reexec-'))
  test.after.always(() => {
    // Harness processes still running (a failed test): stop them by PID.
    killStarted()
    rmSync(base, {recursive: true, force: true})
  })
  let n = 0
  const UUID = '11111111-2222-4333-8444-555555555555'

  interface Harness extends BaseHarness {
    logDir: string
  }

  async function startHarness(extraEnv: NodeJS.ProcessEnv = {}): Promise<Harness> {
    const root = join(base, `r${n++}`)
    const h = await startBase(SELF, 'virtlogd', root, {VCTL_TEST_MAX_SIZE: '512', VCTL_TEST_MAX_BACKUPS: '200', ...extraEnv})
    return {...h, logDir: join(root, 'var/log/libvirt/qemu')}
  }

  function writer(fifo: string) {
    const w = spawn('sh', ['-c', 'i=0; while :; do echo line$i; i=$((i+1)); sleep 0.005; done > "$1"', 'sh', fifo], {
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    let stderr = ''
    w.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const exited = new Promise<{code: number | null; signal: NodeJS.Signals | null}>((r) => w.on('exit', (code, signal) => r({code, signal})))
    return {w, exited, stderr: () => stderr}
  }

  /** Every file of a log, oldest first, concatenated. */
  function whole(path: string): string {
    const dir = join(path, '..')
    const name = path.slice(dir.length + 1)
    const backups = readdirSync(dir)
      .filter((f) => f.startsWith(`${name}.`) && /^\d+$/.test(f.slice(name.length + 1)))
      .map((f) => Number(f.slice(name.length + 1)))
      .sort((a, b) => b - a)
    return [...backups.map((i) => `${path}.${i}`), path].map((f) => readFileSync(f, 'utf8')).join('')
  }

  /** Waits until the log (all its files) holds `more` lines beyond what it held when called: the writer got through. */
  async function linesGrow(path: string, more: number): Promise<void> {
    const lines = () => (existsSync(path) ? whole(path).split('\n').length - 1 : 0)
    let now = 0
    try {
      now = lines()
    } catch {
      // being rotated: count from 0
    }
    await waitCount(`${more} more lines in ${path}`, lines, now + more, 60000)
  }

  async function reexec(h: Harness, from: number): Promise<number> {
    process.kill(from, 'SIGUSR1')
    const next = await until(() => {
      const p = h.pid()
      return p !== undefined && p !== from && !processRunning(from) ? p : undefined
    }, `a new PID in the PID file and the old process gone:\n${h.stderr()}`)
    started.push(next)
    return next
  }

  test('re-exec: a writer keeps writing through two hand-overs; no line lost, duplicated or reordered', async (t) => {
    const h = await startHarness()
    const path = join(h.logDir, 'web01.log')
    const fifo = await openGuestLog(h.sock, {driver: 'qemu', uuid: UUID, name: 'web01', path})
    const wr = writer(fifo)
    await linesGrow(path, 40)
    const pid1 = h.child.pid!
    // A client asking during the hand-over is served, by one daemon or the other.
    const during = (async () => {
      await sleep(5)
      // The new process is node + tsx starting anew (slow on a loaded machine): retry for longer than the default 15 s.
      return openGuestLog(h.sock, {driver: 'qemu', uuid: UUID, name: 'db01', path: join(h.logDir, 'db01.log')}, {timeoutMs: 90000})
    })()
    const pid2 = await reexec(h, pid1)
    t.true(existsSync(await during))
    await linesGrow(path, 40)
    // The second time the sockets are inherited ones (no path bound in this process).
    const pid3 = await reexec(h, pid2)
    await linesGrow(path, 40)
    t.true(processRunning(pid3))
    t.true(existsSync(h.sock), 'the socket file survives the hand-overs')
    t.true(await socketAccepts(h.sock))
    t.true(processRunning(wr.w.pid!), `the writer is alive: ${wr.stderr()}`)
    wr.w.kill('SIGTERM')
    const ex = await wr.exited
    t.is(ex.signal, 'SIGTERM', `the writer ended by our SIGTERM, not SIGPIPE/EPIPE: ${wr.stderr()}`)
    t.is(wr.stderr(), '')
    await closeGuestLog(h.sock, path)
    const got = whole(path).split('\n')
    t.is(got.pop(), '', 'ends with a whole line')
    t.true(got.length > 100, `enough lines written (${got.length})`)
    const bad = got.findIndex((l, i) => l !== `line${i}`)
    t.is(bad, -1, `line ${bad} is ${JSON.stringify(got[bad])}\n${h.stderr()}`)
    t.true(existsSync(`${path}.0`), 'rolled over along the way')
    const logged = h.stderr()
    // db01's open may be served by the first daemon just before it hands over (then 2 logs move) or by
    // the second one after (then 1); either way the third one gets both.
    t.regex(logged, new RegExp(`${pid2}: info : re-exec: took over [12] log\\(s\\) from pid ${pid1}`))
    t.regex(logged, new RegExp(`${pid3}: info : re-exec: took over 2 log\\(s\\) from pid ${pid2}`))
    // Stopping the last one cleans up as the first would have.
    process.kill(pid3, 'SIGTERM')
    await until(() => !processRunning(pid3), 'the daemon to stop')
    t.false(existsSync(h.sock))
    t.false(existsSync(h.pidFile))
    t.deepEqual(
      readdirSync(join(h.root, 'run/libvirt/virtlogd')).filter((f) => f.startsWith('reexec-')),
      [],
    )
  })

  test('re-exec: when the new process fails, the old one carries on with its PID and its logs', async (t) => {
    const h = await startHarness({VCTL_TEST_FAIL_TAKEOVER: '1'})
    const path = join(h.logDir, 'web02.log')
    const fifo = await openGuestLog(h.sock, {driver: 'qemu', uuid: UUID, name: 'web02', path})
    const wr = writer(fifo)
    await linesGrow(path, 20)
    const pid1 = h.child.pid!
    process.kill(pid1, 'SIGUSR1')
    await until(() => /re-exec failed, carrying on/.test(h.stderr()), `the failure to be reported:\n${h.stderr()}`)
    t.regex(h.stderr(), /exited \(status 3\) before it was ready/)
    t.is(h.pid(), pid1)
    t.true(processRunning(pid1))
    // Still serving, and the logs are still followed.
    const other = await openGuestLog(h.sock, {driver: 'qemu', uuid: UUID, name: 'x', path: join(h.logDir, 'x.log')})
    t.true(existsSync(other))
    await linesGrow(path, 20) // the log is still followed after the failed hand-over
    wr.w.kill('SIGTERM')
    t.is((await wr.exited).signal, 'SIGTERM')
    await closeGuestLog(h.sock, path)
    const got = whole(path).split('\n')
    got.pop()
    t.is(
      got.findIndex((l, i) => l !== `line${i}`),
      -1,
    )
    process.kill(pid1, 'SIGTERM')
    await until(() => !processRunning(pid1), 'the daemon to stop')
  })
}
