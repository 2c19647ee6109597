/** Starts a real `vctl daemon start --root T -d` for a test and stops it afterwards; waiting helpers. */
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {connect, createServer, type Socket} from 'node:net'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'
import {execFile, type ExecFileException} from 'node:child_process'
import {promisify} from 'node:util'

export const ROOT_DIR = resolve(import.meta.dirname, '../..')
export const BIN = join(ROOT_DIR, 'bin/run.js')
const pexec = promisify(execFile)

export interface RunResult {
  code: number
  stdout: string
  stderr: string
}

export async function run(cmd: string, args: string[], opts: {env?: NodeJS.ProcessEnv; timeout?: number; input?: string} = {}): Promise<RunResult> {
  try {
    const r = await pexec(cmd, args, {env: {...process.env, ...opts.env}, timeout: opts.timeout ?? 60000, maxBuffer: 64 * 1024 * 1024})
    return {code: 0, stdout: r.stdout, stderr: r.stderr}
  } catch (err) {
    const e = err as ExecFileException & {stdout?: string; stderr?: string}
    return {code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? String(err)}
  }
}

export function vctl(args: string[], opts: {env?: NodeJS.ProcessEnv; timeout?: number} = {}): Promise<RunResult> {
  return run(process.execPath, [BIN, ...args], opts)
}

export interface TestDaemon {
  root: string
  sock: string
  sockRo: string
  sockAdmin: string
  pid: number
  uri: (driver?: string, ro?: boolean) => string
  stop: () => Promise<void>
}

export function tempRoot(prefix = 'vctl-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix))
}

const scratch: string[] = []

/**
 * A temp directory removed when the test file's worker exits: for files a test writes, and for the
 * roots of daemons the file stops itself. Never for one that may hold a mount.
 */
export function scratchDir(prefix: string): string {
  const dir = tempRoot(prefix)
  if (scratch.push(dir) === 1) {
    process.once('exit', () => {
      for (const d of scratch) rmSync(d, {recursive: true, force: true})
    })
  }
  return dir
}

/**
 * Polls `cond` every 50 ms until it holds; throws after `timeoutMs` naming `what`. The bound is
 * generous on purpose: it only matters when something is broken, and this machine may be loaded.
 */
export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 30000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** Whether the process exists and has not exited (a zombie nobody reaped yet has exited). */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  try {
    return !/^\d+ \(.*\) Z/s.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return false
  }
}

/** Resolves true once the process is gone, false if it still runs after `timeoutMs`. */
export async function waitExit(pid: number, timeoutMs = 30000): Promise<boolean> {
  try {
    await waitFor(`pid ${pid} to exit`, () => !isRunning(pid), timeoutMs)
    return true
  } catch {
    return false
  }
}

/**
 * Connects to a UNIX socket, retrying while it does not exist or refuses (a daemon between bind and
 * listen); rejects after `timeoutMs`. The caller owns the returned socket (destroy() it).
 */
export async function connectUnix(path: string, timeoutMs = 30000): Promise<Socket> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      return await new Promise<Socket>((resolve, reject) => {
        const s = connect(path)
        s.once('connect', () => {
          s.off('error', reject)
          resolve(s)
        })
        s.once('error', reject)
      })
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if ((code !== 'ENOENT' && code !== 'ECONNREFUSED') || Date.now() > deadline) throw err
      await new Promise((r) => setTimeout(r, 50))
    }
  }
}

/** A TCP port on 127.0.0.1 that was free a moment ago (the kernel picks it, so concurrent tests get different ones). */
export async function freePort(): Promise<number> {
  const srv = createServer()
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', resolve)
  })
  const addr = srv.address()
  await new Promise<void>((resolve) => srv.close(() => resolve()))
  if (addr === null || typeof addr === 'string') throw new Error('no TCP address')
  return addr.port
}

/** Starts a detached daemon under a fresh root; extra args are passed to `daemon start`. */
export async function startDaemon(extra: string[] = [], opts: {root?: string; keepRoot?: boolean} = {}): Promise<TestDaemon> {
  const root = opts.root ?? tempRoot()
  const r = await vctl(['daemon', 'start', '--root', root, '-d', ...extra])
  if (r.code !== 0) throw new Error(`daemon start failed (${r.code}): ${r.stderr}${r.stdout}`)
  const runDir = join(root, 'run/libvirt')
  const driver = extra.includes('--driver') ? extra[extra.indexOf('--driver') + 1] : undefined
  const base = driver ? `virt${driver}d` : 'libvirt'
  const pidFile = join(root, 'run', driver ? `virt${driver}d.pid` : 'libvirtd.pid')
  const pid = Number(readFileSync(pidFile, 'utf8').trim())
  const sock = join(runDir, `${base}-sock`)
  const sockRo = join(runDir, `${base}-sock-ro`)
  const sockAdmin = join(runDir, `${base}-admin-sock`)
  return {
    root,
    sock,
    sockRo,
    sockAdmin,
    pid,
    uri: (drv = 'test', ro = false) => `${drv}+unix:///${drv === 'test' ? 'default' : 'system'}?socket=${ro ? sockRo : sock}`,
    stop: async () => {
      try {
        process.kill(pid, 'SIGTERM')
      } catch {
        // already gone
      }
      await waitExit(pid)
      if (!opts.keepRoot) rmSync(root, {recursive: true, force: true})
    },
  }
}

/** Runs the real virsh against a URI. */
export function virsh(uri: string, args: string[], opts: {readonly?: boolean; timeout?: number} = {}): Promise<RunResult> {
  return run('virsh', ['-c', uri, ...(opts.readonly ? ['-r'] : []), ...args], {timeout: opts.timeout, env: {LC_ALL: 'C'}})
}

/** Runs a libvirt-python snippet with Debian's python (which has the libvirt module). */
export function python(code: string, env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  return run('/usr/bin/python3', ['-c', code], {env})
}
