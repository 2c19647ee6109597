// What the virtlogd and virtlockd re-exec tests share: the test file runs itself as a standalone
// service daemon (VCTL_TEST_HARNESS names which), and the test side starts it on a root of its own,
// follows its PID file and socket, and kills by PID whatever is left at the end.
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {spawn, type ChildProcess} from 'node:child_process'
import {socketAccepts} from '../../src/lib/daemon/listeners.js'
import {processRunning} from '../../src/lib/services/reexec.js'

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Polls `get` every 20 ms until it gives a value; throws naming `what` after `ms` (generous: a re-exec starts node + tsx anew). */
export async function until<T>(get: () => T | undefined | false, what: string, ms = 60000): Promise<T> {
  const end = Date.now() + ms
  for (;;) {
    const v = get()
    if (v) return v
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await sleep(20)
  }
}

export interface Harness {
  root: string
  sock: string
  pidFile: string
  child: ChildProcess
  stderr: () => string
  /** The PID in the PID file, if any. */
  pid: () => number | undefined
}

/** Every PID a test started (the harness and the processes it re-executed into). */
export const started: number[] = []

/** Kills, by PID, what is still running. */
export function killStarted(): void {
  for (const pid of started) if (processRunning(pid)) process.kill(pid, 'SIGKILL')
}

/** Starts `self` (a test file) as the standalone `daemon` on `root`; resolves once its socket accepts. */
export async function startHarness(self: string, daemon: 'virtlogd' | 'virtlockd', root: string, env: NodeJS.ProcessEnv = {}): Promise<Harness> {
  const child = spawn(process.execPath, ['--import', 'tsx', self], {
    env: {...process.env, VCTL_TEST_HARNESS: daemon, VCTL_TEST_ROOT: root, ...env},
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  started.push(child.pid!)
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  const pidFile = join(root, `run/${daemon}.pid`)
  const sock = join(root, `run/libvirt/${daemon}-sock`)
  const pid = () => {
    try {
      return Number(readFileSync(pidFile, 'utf8').trim()) || undefined
    } catch {
      return undefined
    }
  }
  await until(() => pid() === child.pid && existsSync(sock), `the harness to start: ${stderr}`)
  for (let i = 0; i < 1200 && !(await socketAccepts(sock)); i++) await sleep(50)
  return {root, sock, pidFile, child, stderr: () => stderr, pid}
}
