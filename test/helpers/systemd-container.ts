/**
 * A real systemd for integration tests: a Debian 12 root file system (scripts/build-systemd-root.sh,
 * cached in .cache/systemd-root/) booted with `systemd-nspawn --boot --volatile=overlay
 * --private-network`, systemd 252 as its PID 1. The repository (and the real directories its
 * node_modules/.cache symlinks point to) and the host's Node binary are bind-mounted read-only.
 * Commands run inside with nsenter in a clean environment; the host reaches the container's files
 * (sockets included) under /proc/PID1/root. Each container gets private cgroups, removed on stop.
 * See /work/shared/systemd-nspawn.md for the recipe's pitfalls.
 */
import {spawn, execFileSync, type ChildProcess} from 'node:child_process'
import {existsSync, readFileSync, readdirSync, realpathSync, rmdirSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {ROOT_DIR, waitFor} from './daemon.js'

export type RootVariant = 'base' | 'qemu'

const CGROUP_HIERARCHIES = ['/sys/fs/cgroup/systemd', '/sys/fs/cgroup/unified']
const PATH = '/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

function which(cmd: string): boolean {
  return ['/usr/bin', '/usr/sbin', '/bin', '/sbin'].some((d) => existsSync(join(d, cmd)))
}

/** Why containers cannot boot here, or undefined when they can. */
export function containerUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root'
  for (const c of ['systemd-nspawn', 'nsenter', 'mmdebstrap']) if (!which(c)) return `${c} is not installed (scripts/install-system-deps.sh)`
  if (!CGROUP_HIERARCHIES.every((h) => existsSync(h))) return `no ${CGROUP_HIERARCHIES.join(' / ')} cgroup hierarchies`
  return undefined
}

/** The cached root file system of a variant, built (or brought up to date) first. */
export function rootFs(variant: RootVariant): string {
  execFileSync('bash', [join(ROOT_DIR, 'scripts/build-systemd-root.sh'), variant], {stdio: ['ignore', 'ignore', 'inherit'], timeout: 900_000})
  return join(ROOT_DIR, '.cache/systemd-root', variant)
}

export interface ExecResult {
  code: number
  stdout: string
  stderr: string
}

export interface ExecOptions {
  input?: string
  timeout?: number
  env?: Record<string, string>
}

export interface SystemdContainer {
  name: string
  /** The container's PID 1 (systemd), as the host sees it. */
  pid1: number
  /** A path inside the container, as the host reaches it (/proc/PID1/root/...). */
  path(inside: string): string
  /** Runs argv inside the container (all namespaces, clean environment). */
  exec(argv: string[], opts?: ExecOptions): Promise<ExecResult>
  /** Runs a shell script inside the container. */
  sh(script: string, opts?: ExecOptions): Promise<ExecResult>
  /** Runs a shell script and throws (with its output) unless it exits 0; returns stdout. */
  ok(script: string, opts?: ExecOptions): Promise<string>
  /** The journal of a unit, for failure messages. */
  journal(unit?: string): Promise<string>
  stop(): Promise<void>
}

export interface BootOptions {
  variant?: RootVariant
  /** Part of the machine and cgroup names (defaults to a unique one). */
  name?: string
  /** Extra read-only binds, `HOST[:INSIDE]`. */
  bindRo?: string[]
  /** Extra read-write binds. */
  bind?: string[]
}

/** The real directories the repository's symlinks (node_modules, .cache) point outside it. */
function symlinkTargets(): string[] {
  const out: string[] = []
  for (const entry of readdirSync(ROOT_DIR)) {
    const p = join(ROOT_DIR, entry)
    let real: string
    try {
      real = realpathSync(p)
    } catch {
      continue
    }
    if (!real.startsWith(ROOT_DIR + '/') && real !== p && statSync(real).isDirectory()) out.push(real)
  }
  return out
}

function removeCgroup(dir: string): void {
  if (!existsSync(dir)) return
  for (const e of readdirSync(dir, {withFileTypes: true})) if (e.isDirectory()) removeCgroup(join(dir, e.name))
  try {
    rmdirSync(dir)
  } catch {
    // still has processes: left for the next run's clean-up
  }
}

let counter = 0

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

function cgroupPids(dir: string): number[] {
  const out: number[] = []
  try {
    for (const e of readdirSync(dir, {withFileTypes: true})) if (e.isDirectory()) out.push(...cgroupPids(join(dir, e.name)))
    out.push(...readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number))
  } catch {
    // gone meanwhile
  }
  return out
}

/**
 * Containers of earlier runs whose test process is gone (killed before its clean-up ran): their
 * private cgroups are named vctl-VARIANT-PID-N; every process in them is killed and the cgroups
 * removed. Containers of live test processes are left alone.
 */
function sweepOrphans(): void {
  for (const h of CGROUP_HIERARCHIES) {
    let names: string[]
    try {
      names = readdirSync(h)
    } catch {
      continue
    }
    for (const name of names) {
      const owner = /^vctl-(?:base|qemu)-(\d+)-\d+$/.exec(name)?.[1]
      if (!owner || isAlive(Number(owner))) continue
      for (const pid of cgroupPids(join(h, name))) {
        try {
          process.kill(pid, 'SIGKILL')
        } catch {
          // already gone
        }
      }
      removeCgroup(join(h, name))
    }
  }
}

/** Live containers of this process: killed (their PID 1, hence all of the container) if it exits without stopping them. */
const live = new Map<string, {pid1: number; nspawn: number}>()
let exitHookInstalled = false
function killOnExit(): void {
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.once('exit', () => {
    for (const {pid1, nspawn} of live.values()) {
      for (const p of [pid1, nspawn]) {
        try {
          if (p > 0) process.kill(p, 'SIGKILL')
        } catch {
          // gone
        }
      }
    }
  })
}

/** Boots a container and waits until its systemd reports the system running. */
export async function bootContainer(opts: BootOptions = {}): Promise<SystemdContainer> {
  const variant = opts.variant ?? 'base'
  const root = rootFs(variant)
  sweepOrphans()
  killOnExit()
  const name = opts.name ?? `vctl-${variant}-${process.pid}-${++counter}`
  const cgroups = CGROUP_HIERARCHIES.map((h) => join(h, name))
  const binds = [`/usr/bin/node:/usr/local/bin/node`, `${ROOT_DIR}:${ROOT_DIR}`, ...symlinkTargets().map((d) => `${d}:${d}`), ...(opts.bindRo ?? [])]
  const nspawn = [
    'systemd-nspawn',
    '--quiet',
    '-D',
    root,
    '--volatile=overlay',
    '--boot',
    '-M',
    name,
    '--register=no',
    '--keep-unit',
    '--private-network',
    '--console=pipe',
    ...binds.map((b) => `--bind-ro=${b}`),
    ...(opts.bind ?? []).map((b) => `--bind=${b}`),
  ]
  // The subshell moves itself into private cgroups, then becomes systemd-nspawn.
  const script = [...cgroups.map((c) => `mkdir -p ${c} && echo $BASHPID > ${c}/cgroup.procs`), `exec ${nspawn.map((a) => `'${a}'`).join(' ')}`].join(
    ' && ',
  )
  const child: ChildProcess = spawn('bash', ['-c', script], {stdio: ['ignore', 'pipe', 'pipe']})
  let output = ''
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()))
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()))
  const nspawnPid = child.pid
  if (nspawnPid === undefined) throw new Error('could not spawn systemd-nspawn')
  let exited = false
  const exitedP = new Promise<void>((r) => child.once('exit', () => ((exited = true), r())))

  const stop = async (): Promise<void> => {
    live.delete(name)
    if (!exited) {
      child.kill('SIGTERM')
      const t = setTimeout(() => child.kill('SIGKILL'), 30_000)
      await exitedP
      clearTimeout(t)
    }
    for (const c of cgroups) removeCgroup(c)
  }

  let pid1 = 0
  try {
    await waitFor(
      'the container PID 1',
      () => {
        if (exited) throw new Error(`systemd-nspawn exited: ${output}`)
        const kids = readChildren(nspawnPid)
        pid1 = kids.find((p) => comm(p) === 'systemd') ?? 0
        return pid1 > 0
      },
      60_000,
    )
    live.set(name, {pid1, nspawn: nspawnPid})
    await waitFor('systemd in the container', () => existsSync(`/proc/${pid1}/root/run/systemd/private`), 60_000)
  } catch (err) {
    await stop()
    throw err
  }
  const exec = (argv: string[], o: ExecOptions = {}): Promise<ExecResult> =>
    new Promise((resolve) => {
      const env = Object.entries({PATH, LANG: 'C.UTF-8', ...o.env}).map(([k, v]) => `${k}=${v}`)
      const p = spawn('nsenter', ['-t', String(pid1), '-a', 'env', '-i', ...env, ...argv], {stdio: ['pipe', 'pipe', 'pipe']})
      let stdout = ''
      let stderr = ''
      p.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
      p.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
      const timer = setTimeout(() => p.kill('SIGKILL'), o.timeout ?? 120_000)
      p.on('close', (code) => {
        clearTimeout(timer)
        resolve({code: code ?? 1, stdout, stderr})
      })
      // A command that exits without reading its input closes the pipe first: not an error.
      p.stdin.on('error', () => {})
      if (o.input) p.stdin.end(o.input)
      else p.stdin.end()
    })
  const sh = (s: string, o?: ExecOptions) => exec(['sh', '-c', s], o)
  const c: SystemdContainer = {
    name,
    pid1,
    path: (inside) => `/proc/${pid1}/root${inside}`,
    exec,
    sh,
    async ok(s, o) {
      const r = await sh(s, o)
      if (r.code !== 0) throw new Error(`\`${s}\` exited ${r.code}: ${r.stderr}${r.stdout}`)
      return r.stdout
    },
    async journal(unit) {
      return (await exec(['journalctl', '--no-pager', '-q', ...(unit ? ['-u', unit] : []), '-n', '60'])).stdout
    },
    stop,
  }
  const up = await exec(['systemctl', 'is-system-running', '--wait'], {timeout: 120_000})
  if (up.stdout.trim() !== 'running') {
    const failed = await exec(['systemctl', '--failed', '--no-pager'])
    await stop()
    throw new Error(`the container's systemd is ${up.stdout.trim() || up.stderr.trim()}: ${failed.stdout}`)
  }
  return c
}

function readChildren(pid: number): number[] {
  try {
    const tasks = readdirSync(`/proc/${pid}/task`)
    return tasks.flatMap((t) => readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number))
  } catch {
    return []
  }
}

function comm(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim()
  } catch {
    return ''
  }
}

/**
 * The state of a unit once it has had the time to say it is ready: a socket-activated vctl daemon
 * sends READY=1 once its first client is served (at most 250 ms after it started), so just after
 * that client it may still be "activating" (longer on a loaded machine). Polls for up to 30 s while it is.
 */
export async function settledState(c: SystemdContainer, unit: string): Promise<string> {
  let state = ''
  for (const start = Date.now(); Date.now() - start < 30000; await new Promise((r) => setTimeout(r, 100))) {
    state = (await c.sh(`systemctl is-active ${unit}`)).stdout.trim()
    if (state !== 'activating') break
  }
  return state
}
