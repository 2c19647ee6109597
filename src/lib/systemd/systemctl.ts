/**
 * A thin wrapper around systemctl(1). With a root, every call is `systemctl --root=DIR ...`, which
 * only edits unit files and symlinks under DIR: the offline verbs (enable, disable, mask, unmask,
 * is-enabled). The online verbs (start, stop, is-active, daemon-reload) need a running systemd; with
 * a root, or when systemd is not PID 1, they are not run and come back as skipped with the reason.
 */
import {existsSync, readFileSync} from 'node:fs'

export type OfflineVerb = 'enable' | 'disable' | 'mask' | 'unmask'
export type OnlineVerb = 'start' | 'stop'
export type Verb = OfflineVerb | OnlineVerb

export const OFFLINE_VERBS: readonly string[] = ['enable', 'disable', 'mask', 'unmask', 'is-enabled']

/** What `systemctl is-enabled` prints (see systemctl(1)), plus not-found for a unit with no file. */
export type EnablementState =
  | 'enabled'
  | 'enabled-runtime'
  | 'linked'
  | 'linked-runtime'
  | 'alias'
  | 'masked'
  | 'masked-runtime'
  | 'static'
  | 'indirect'
  | 'disabled'
  | 'generated'
  | 'transient'
  | 'bad'
  | 'not-found'

const KNOWN_STATES = new Set<string>([
  'enabled',
  'enabled-runtime',
  'linked',
  'linked-runtime',
  'alias',
  'masked',
  'masked-runtime',
  'static',
  'indirect',
  'disabled',
  'generated',
  'transient',
  'bad',
  'not-found',
])

/** A command line for messages: long unit lists are abbreviated (the full argv stays on the error). */
export function shortCommand(argv: string[]): string {
  const units = argv.filter((a) => /\.(service|socket)$/.test(a))
  if (units.length <= 4) return argv.join(' ')
  const rest = argv.filter((a) => !units.includes(a))
  return `${rest.join(' ')} ${units.slice(0, 3).join(' ')} ... (${units.length} units)`
}

export class SystemctlError extends Error {
  readonly argv: string[]
  readonly exitCode: number | undefined
  readonly stderr: string

  constructor(argv: string[], exitCode: number | undefined, stderr: string, message?: string) {
    const detail = stderr.trim().split('\n').filter(Boolean).join('; ')
    super(message ?? `${shortCommand(argv)} failed${exitCode === undefined ? '' : ` (exit ${exitCode})`}${detail ? `: ${detail}` : ''}`)
    this.name = 'SystemctlError'
    this.argv = argv
    this.exitCode = exitCode
    this.stderr = stderr
  }
}

/** Whether systemd is the running init system (the check sd_booted() makes). */
export function systemdRunning(): boolean {
  return existsSync('/run/systemd/system')
}

function initName(): string {
  try {
    return readFileSync('/proc/1/comm', 'utf8').trim()
  } catch {
    return 'unknown'
  }
}

export interface SystemctlOptions {
  /** Operate on the unit files under this directory (`systemctl --root=DIR`). */
  root?: string
  /** The systemctl executable (default: `systemctl` from PATH). */
  command?: string
  env?: NodeJS.ProcessEnv
  /** Overrides the systemd-running check (tests). */
  systemdRunning?: boolean
}

export type VerbResult =
  {verb: string; units: string[]; skipped: false; output: string} | {verb: string; units: string[]; skipped: true; reason: string}

interface RunOutput {
  exitCode: number
  stdout: string
  stderr: string
}

export class Systemctl {
  readonly root: string | undefined
  readonly command: string
  private readonly env: NodeJS.ProcessEnv | undefined
  private readonly running: boolean

  constructor(opts: SystemctlOptions = {}) {
    this.root = opts.root ? opts.root : undefined
    this.command = opts.command ?? 'systemctl'
    this.env = opts.env
    this.running = opts.systemdRunning ?? systemdRunning()
  }

  /** Why start/stop/is-active cannot run here, or undefined when they can. */
  onlineUnavailable(): string | undefined {
    if (this.root) return `systemctl --root=${this.root} only edits unit files; starting and stopping units needs the system's running systemd`
    if (!this.running) return `systemd is not running as the init system (PID 1 is ${initName()}, no /run/systemd/system)`
    return undefined
  }

  /** The argv for a verb, with --root when set. */
  argv(verb: string, args: string[]): string[] {
    return [this.command, ...(this.root ? [`--root=${this.root}`] : []), verb, ...args]
  }

  private async exec(verb: string, args: string[]): Promise<RunOutput> {
    const argv = this.argv(verb, args)
    const {execa} = await import('execa')
    const r = await execa(argv[0], argv.slice(1), {reject: false, env: this.env, extendEnv: true, stdin: 'ignore', timeout: 120_000})
    if (r.failed && r.exitCode === undefined) {
      if (r.code === 'ENOENT') throw new SystemctlError(argv, undefined, '', `cannot run ${this.command}: not found in PATH (is systemd installed?)`)
      throw new SystemctlError(argv, undefined, r.stderr ?? '', `\`${argv.join(' ')}\` could not run: ${r.shortMessage ?? r.message}`)
    }
    return {exitCode: r.exitCode ?? 1, stdout: r.stdout ?? '', stderr: r.stderr ?? ''}
  }

  private async offline(verb: OfflineVerb | 'daemon-reload', units: string[], extra: string[] = []): Promise<VerbResult> {
    const r = await this.exec(verb, [...extra, ...units])
    if (r.exitCode !== 0) throw new SystemctlError(this.argv(verb, [...extra, ...units]), r.exitCode, r.stderr || r.stdout)
    return {verb, units, skipped: false, output: (r.stderr + r.stdout).trim()}
  }

  private async online(verb: string, units: string[]): Promise<VerbResult> {
    const reason = this.onlineUnavailable()
    if (reason) return {verb, units, skipped: true, reason}
    const r = await this.exec(verb, units)
    if (r.exitCode !== 0) throw new SystemctlError(this.argv(verb, units), r.exitCode, r.stderr || r.stdout)
    return {verb, units, skipped: false, output: (r.stderr + r.stdout).trim()}
  }

  /** The enablement state of one unit ('not-found' when no unit file exists). */
  async isEnabled(unit: string): Promise<EnablementState> {
    const r = await this.exec('is-enabled', [unit])
    const out = r.stdout.trim().split('\n')[0] ?? ''
    if (KNOWN_STATES.has(out)) return out as EnablementState
    if (/No such file or directory|not found|does not exist/i.test(r.stderr)) return 'not-found'
    throw new SystemctlError(this.argv('is-enabled', [unit]), r.exitCode, r.stderr || r.stdout)
  }

  /**
   * is-enabled for several units: one call for all of them, which answers a line per unit when every
   * unit exists; systemctl stops at the first unknown unit, so then one call per unit.
   */
  async isEnabledMany(units: string[], concurrency = 8): Promise<Map<string, EnablementState>> {
    if (units.length === 0) return new Map()
    const batch = await this.exec('is-enabled', units)
    const lines = batch.stdout.trim().split('\n')
    if (lines.length === units.length && lines.every((l) => KNOWN_STATES.has(l))) {
      return new Map(units.map((u, i) => [u, lines[i] as EnablementState]))
    }
    const out = new Map<string, EnablementState>()
    let next = 0
    const worker = async () => {
      while (next < units.length) {
        const u = units[next++]
        out.set(u, await this.isEnabled(u))
      }
    }
    await Promise.all(Array.from({length: Math.min(concurrency, units.length)}, worker))
    return new Map(units.map((u) => [u, out.get(u)!]))
  }

  enable(units: string[]): Promise<VerbResult> {
    return this.offline('enable', units)
  }

  disable(units: string[]): Promise<VerbResult> {
    return this.offline('disable', units)
  }

  mask(units: string[]): Promise<VerbResult> {
    return this.offline('mask', units)
  }

  unmask(units: string[]): Promise<VerbResult> {
    return this.offline('unmask', units)
  }

  start(units: string[]): Promise<VerbResult> {
    return this.online('start', units)
  }

  stop(units: string[]): Promise<VerbResult> {
    return this.online('stop', units)
  }

  /** Makes the running systemd re-read unit files (skipped with a root or without systemd). */
  daemonReload(): Promise<VerbResult> {
    return this.online('daemon-reload', [])
  }

  /** The active state of a unit (active, inactive, failed, ...), or skipped with the reason. */
  async isActive(unit: string): Promise<{unit: string; skipped: false; state: string} | {unit: string; skipped: true; reason: string}> {
    const reason = this.onlineUnavailable()
    if (reason) return {unit, skipped: true, reason}
    const r = await this.exec('is-active', [unit])
    const state = r.stdout.trim().split('\n')[0]
    if (!state) throw new SystemctlError(this.argv('is-active', [unit]), r.exitCode, r.stderr)
    return {unit, skipped: false, state}
  }

  /** is-active for several units in one call (systemctl prints a line per unit, unknown ones included). */
  async isActiveMany(units: string[]): Promise<{skipped: false; states: Map<string, string>} | {skipped: true; reason: string}> {
    const reason = this.onlineUnavailable()
    if (reason) return {skipped: true, reason}
    if (units.length === 0) return {skipped: false, states: new Map()}
    const r = await this.exec('is-active', units)
    const lines = r.stdout.trim().split('\n')
    if (lines.length !== units.length) throw new SystemctlError(this.argv('is-active', units), r.exitCode, r.stderr || r.stdout)
    return {skipped: false, states: new Map(units.map((u, i) => [u, lines[i]]))}
  }

  /** Runs one of the verbs a mode-switch plan uses. */
  run(verb: Verb, units: string[]): Promise<VerbResult> {
    switch (verb) {
      case 'enable':
        return this.enable(units)
      case 'disable':
        return this.disable(units)
      case 'mask':
        return this.mask(units)
      case 'unmask':
        return this.unmask(units)
      case 'start':
        return this.start(units)
      case 'stop':
        return this.stop(units)
    }
  }
}
