/**
 * Switching between the monolithic layout (libvirtd serves every driver) and the modular one (one
 * daemon per driver, virtproxyd on the monolithic sockets), the way libvirt's documentation has
 * administrators do it by hand: stop and disable one set of units, enable and start the other.
 *
 * The switch is a plan: a list of steps (systemctl verb + units), each with the inverse actions that
 * restore the state the units had before (computed from a snapshot taken when planning). Executing
 * runs the steps in order; offline steps (enable/disable/mask/unmask) always run, through
 * `systemctl --root` with a root; online steps (start/stop) are skipped, with the reason, when there
 * is no running systemd to ask. When a step fails, the steps already done are undone in reverse
 * order and the error names the step that broke.
 */
import {existsSync, lstatSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import type {DaemonName} from '../daemon/paths.js'
import type {Connection} from '../client/connection.js'
import {DAEMON_UNITS, MODULAR_DRIVERS, allUnitNames, daemonOfUnit, serviceUnit, socketUnit, unitsOf, type ModularDriver} from './units.js'
import {Systemctl, systemdRunning, type EnablementState, type Verb} from './systemctl.js'

export type Layout = 'monolithic' | 'modular'

export interface Action {
  verb: Verb
  units: string[]
}

export interface PlanStep {
  title: string
  verb: Verb
  units: string[]
  /** True for verbs that only edit unit files (work with --root and without a running systemd). */
  offline: boolean
  /** What restores the units' previous state if a later step fails. */
  undo: Action[]
}

export interface Snapshot {
  /** is-enabled of every vctl unit. */
  enabled: Record<string, EnablementState>
  /** is-active of every vctl unit, when a running systemd could be asked. */
  active?: Record<string, string>
}

export interface SwitchPlan {
  target: Layout
  root: string
  drivers: ModularDriver[]
  mask: boolean
  steps: PlanStep[]
  before: Snapshot
}

export class PlanError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'PlanError'
  }
}

const OFFLINE = new Set<Verb>(['enable', 'disable', 'mask', 'unmask'])

export function isOn(state: EnablementState | undefined): boolean {
  return state !== undefined && /^(enabled|linked|alias)/.test(state)
}

function isMasked(state: EnablementState | undefined): boolean {
  return state === 'masked' || state === 'masked-runtime'
}

/** Parses `--drivers qemu,network,...` (daemon names such as virtqemud are accepted too). */
export function parseDrivers(list: string | undefined): ModularDriver[] {
  if (list === undefined || list.trim() === '') return [...MODULAR_DRIVERS]
  const out: ModularDriver[] = []
  for (const raw of list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const name = /^virt(.+)d$/.exec(raw)?.[1] ?? raw
    if (!(MODULAR_DRIVERS as readonly string[]).includes(name)) {
      throw new PlanError(`unknown driver '${raw}': valid drivers are ${MODULAR_DRIVERS.join(', ')}`)
    }
    if (!out.includes(name as ModularDriver)) out.push(name as ModularDriver)
  }
  // Keep libvirt's order whatever order they were given in.
  return MODULAR_DRIVERS.filter((d) => out.includes(d))
}

/** Asks systemctl for the state of every vctl unit (and is-active when systemd runs). */
export async function takeSnapshot(sc: Systemctl): Promise<Snapshot> {
  const names = allUnitNames()
  const enabled = Object.fromEntries(await sc.isEnabledMany(names))
  const active = await sc.isActiveMany(names)
  return active.skipped ? {enabled} : {enabled, active: Object.fromEntries(active.states)}
}

/**
 * Inverse actions restoring the enablement the units had. Services go first: enabling or disabling
 * a service also enables/disables the sockets its [Install] Also= names, so the sockets are set
 * afterwards to exactly what they were.
 */
function restoreEnablement(units: string[], before: Snapshot): Action[] {
  const services = units.filter((u) => u.endsWith('.service'))
  const sockets = units.filter((u) => !u.endsWith('.service'))
  const off = (list: string[]) =>
    list.filter((u) => !isOn(before.enabled[u]) && !['static', 'indirect', 'generated', 'transient', 'bad', 'not-found'].includes(before.enabled[u]))
  const on = (list: string[]) => list.filter((u) => isOn(before.enabled[u]))
  const actions: Action[] = [
    {verb: 'disable', units: off(services)},
    {verb: 'enable', units: on(services)},
    {verb: 'disable', units: off(sockets)},
    {verb: 'enable', units: on(sockets)},
  ]
  return actions.filter((a) => a.units.length > 0)
}

function step(title: string, verb: Verb, units: string[], undo: Action[]): PlanStep {
  return {title, verb, units, offline: OFFLINE.has(verb), undo: undo.filter((a) => a.units.length > 0)}
}

function monolithicUnits(network: boolean): string[] {
  return unitsOf('libvirtd', {network})
}

/** Every unit of the modular layout: each driver daemon's, and all of virtproxyd's. */
function allModularUnits(): string[] {
  return [...MODULAR_DRIVERS.flatMap((d) => unitsOf(`virt${d}d` as DaemonName)), ...unitsOf('virtproxyd')]
}

/** Which of libvirtd's / virtproxyd's network sockets (tcp, tls) are enabled. */
function enabledNetworkKinds(daemon: 'libvirtd' | 'virtproxyd', snap: Snapshot): Array<'tcp' | 'tls'> {
  return (['tcp', 'tls'] as const).filter((k) => isOn(snap.enabled[socketUnit(daemon, k)]))
}

/** A unit file placed by the administrator (ROOT/etc/systemd/system/UNIT, not a symlink): mask cannot replace it. */
function adminUnitFile(root: string, unit: string): string | undefined {
  const p = join(root || '/', 'etc/systemd/system', unit)
  try {
    return lstatSync(p).isFile() ? p : undefined
  } catch {
    return undefined
  }
}

export interface PlanOptions {
  root?: string
  drivers?: ModularDriver[]
  mask?: boolean
  snapshot: Snapshot
}

/** Builds the switch to `target` from the units' current state. Throws PlanError when it cannot work. */
export function buildPlan(target: Layout, opts: PlanOptions): SwitchPlan {
  const root = opts.root ?? ''
  const before = opts.snapshot
  const drivers = opts.drivers ?? [...MODULAR_DRIVERS]
  const mask = opts.mask ?? false
  const installed = (u: string) => before.enabled[u] !== undefined && before.enabled[u] !== 'not-found'

  let from: string[]
  let to: string[]
  /** Every unit of the daemons switched to (tcp/tls included): all are unmasked, `to` is enabled. */
  let toAll: string[]
  let fromName: string
  let toName: string
  if (target === 'modular') {
    if (drivers.length === 0) throw new PlanError('no driver selected')
    from = monolithicUnits(true).filter(installed)
    const net = enabledNetworkKinds('libvirtd', before)
    to = [
      ...drivers.flatMap((d) => unitsOf(`virt${d}d` as DaemonName)),
      ...unitsOf('virtproxyd', {network: false}),
      ...net.map((k) => socketUnit('virtproxyd', k)),
    ]
    toAll = [...drivers.flatMap((d) => unitsOf(`virt${d}d` as DaemonName)), ...unitsOf('virtproxyd')]
    fromName = 'the monolithic daemon (libvirtd)'
    toName = `the modular daemons (${drivers.map((d) => `virt${d}d`).join(', ')}, virtproxyd)`
  } else {
    from = allModularUnits().filter(installed)
    const net = enabledNetworkKinds('virtproxyd', before)
    to = [...monolithicUnits(false), ...net.map((k) => socketUnit('libvirtd', k))]
    toAll = monolithicUnits(true)
    fromName = 'the modular daemons'
    toName = 'the monolithic daemon (libvirtd)'
  }

  const missing = to.filter((u) => !installed(u))
  if (missing.length) {
    throw new PlanError(
      `${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not installed${root ? ` under ${root}` : ''}: run \`vctl units install${root ? ` --root ${root}` : ''}\` first`,
    )
  }
  if (mask) {
    const blocking = from.map((u) => adminUnitFile(root, u)).filter((p): p is string => p !== undefined)
    if (blocking.length) {
      throw new PlanError(
        `cannot mask units installed in /etc/systemd/system (${blocking.join(', ')}): masking puts a link to /dev/null there. ` +
          'Reinstall them into /usr/lib/systemd/system (`vctl units install` without --admin) or switch without --mask',
      )
    }
  }

  const wasActive = (u: string) => before.active?.[u] === 'active' || before.active?.[u] === 'reloading'
  const toSockets = to.filter((u) => u.endsWith('.socket'))
  const steps: PlanStep[] = []
  if (from.length) {
    // Sockets and service are stopped in one call: stopping the sockets first could let a client
    // re-activate the service meanwhile, stopping the service first could let a socket restart it.
    steps.push(step(`Stop ${fromName}`, 'stop', from, [{verb: 'start', units: from.filter(wasActive)}]))
    steps.push(step(`Disable ${fromName}`, 'disable', from, restoreEnablement(from, before)))
    if (mask) steps.push(step(`Mask ${fromName}`, 'mask', from, [{verb: 'unmask', units: from.filter((u) => !isMasked(before.enabled[u]))}]))
  }
  const masked = toAll.filter((u) => isMasked(before.enabled[u]))
  if (masked.length) steps.push(step(`Unmask ${toName}`, 'unmask', masked, [{verb: 'mask', units: masked}]))
  steps.push(step(`Enable ${toName}`, 'enable', to, restoreEnablement(to, before)))
  steps.push(step(`Start the sockets of ${toName}`, 'start', toSockets, [{verb: 'stop', units: toSockets.filter((u) => !wasActive(u))}]))
  return {target, root, drivers: target === 'modular' ? drivers : [], mask, steps, before}
}

export type StepStatus = 'done' | 'skipped' | 'failed' | 'not-run' | 'rolled-back'

export interface StepResult {
  title: string
  verb: Verb
  units: string[]
  offline: boolean
  status: StepStatus
  reason?: string
}

export interface SwitchResult {
  target: Layout
  root: string
  dryRun: boolean
  drivers: ModularDriver[]
  steps: StepResult[]
  /** Set when a step failed: what was undone, and what could not be. */
  rollback?: {actions: Array<Action & {status: 'done' | 'skipped' | 'failed'; reason?: string}>; mismatches: string[]}
}

export class ModeSwitchError extends Error {
  readonly result: SwitchResult
  readonly failedStep: string
  constructor(message: string, failedStep: string, result: SwitchResult) {
    super(message)
    this.name = 'ModeSwitchError'
    this.failedStep = failedStep
    this.result = result
  }
}

export function describeStep(s: {verb: string; units: string[]}): string {
  return `systemctl ${s.verb} ${s.units.join(' ')}`
}

/** The result a dry run reports: every step, nothing executed. */
export function dryRunResult(plan: SwitchPlan, sc: Systemctl): SwitchResult {
  const reason = sc.onlineUnavailable()
  return {
    target: plan.target,
    root: plan.root,
    dryRun: true,
    drivers: plan.drivers,
    steps: plan.steps.map((s) => ({
      title: s.title,
      verb: s.verb,
      units: s.units,
      offline: s.offline,
      status: 'not-run',
      ...(!s.offline && reason ? {reason: `would be skipped: ${reason}`} : {}),
    })),
  }
}

export interface ExecuteOptions {
  /** listr2 renderer: 'default' (TTY), 'simple' (plain lines) or 'silent' (--json). */
  renderer?: 'default' | 'simple' | 'silent'
}

/** Runs the plan with listr2 progress; on failure undoes the steps done and throws ModeSwitchError. */
export async function executePlan(plan: SwitchPlan, sc: Systemctl, opts: ExecuteOptions = {}): Promise<SwitchResult> {
  const {Listr} = await import('listr2')
  const offlineReason = sc.onlineUnavailable()
  const results: StepResult[] = plan.steps.map((s) => ({title: s.title, verb: s.verb, units: s.units, offline: s.offline, status: 'not-run'}))
  const result: SwitchResult = {target: plan.target, root: plan.root, dryRun: false, drivers: plan.drivers, steps: results}
  const renderer = opts.renderer ?? 'default'
  const listrOpts = {
    concurrent: false,
    exitOnError: true,
    renderer,
    fallbackRenderer: renderer === 'silent' ? ('silent' as const) : ('simple' as const),
    rendererOptions: {collapseSkips: false, collapseErrors: false},
    registerSignalListeners: false,
  }
  let failed: {index: number; error: Error} | undefined
  const tasks = new Listr(
    plan.steps.map((s, i) => ({
      title: `${s.title} (systemctl ${s.verb}, ${s.units.length} unit${s.units.length === 1 ? '' : 's'})`,
      task: async (_ctx: unknown, task: {skip: (m?: string) => void; title: string}) => {
        if (!s.offline && offlineReason) {
          results[i].status = 'skipped'
          results[i].reason = offlineReason
          task.skip(offlineReason)
          return
        }
        try {
          const r = await sc.run(s.verb, s.units)
          if (r.skipped) {
            results[i].status = 'skipped'
            results[i].reason = r.reason
            task.skip(r.reason)
            return
          }
          results[i].status = 'done'
        } catch (err) {
          results[i].status = 'failed'
          results[i].reason = (err as Error).message
          failed = {index: i, error: err as Error}
          throw err
        }
      },
    })),
    listrOpts as never,
  )
  try {
    await tasks.run()
  } catch (err) {
    if (!failed) failed = {index: results.findIndex((r) => r.status === 'not-run'), error: err as Error}
  }
  if (!failed) return result

  // Roll back: undo every step that ran, newest first.
  const actions: NonNullable<SwitchResult['rollback']>['actions'] = []
  const undo: Action[] = []
  for (let i = failed.index - 1; i >= 0; i--) {
    if (results[i].status === 'done') undo.push(...plan.steps[i].undo)
  }
  const rollbackTasks = new Listr(
    undo.map((a) => ({
      title: `Undo: ${describeStep(a)}`,
      task: async (_ctx: unknown, task: {skip: (m?: string) => void}) => {
        try {
          const r = await sc.run(a.verb, a.units)
          if (r.skipped) {
            actions.push({...a, status: 'skipped', reason: r.reason})
            task.skip(r.reason)
          } else actions.push({...a, status: 'done'})
        } catch (err) {
          actions.push({...a, status: 'failed', reason: (err as Error).message})
          throw err
        }
      },
    })),
    {...listrOpts, exitOnError: false} as never,
  )
  try {
    await rollbackTasks.run()
  } catch {
    // recorded in actions
  }
  for (let i = 0; i < failed.index; i++) if (results[i].status === 'done') results[i].status = 'rolled-back'

  // Check that the unit files are back to what they were.
  const touched = [
    ...new Set(
      plan.steps
        .slice(0, failed.index + 1)
        .filter((s) => s.offline)
        .flatMap((s) => s.units),
    ),
  ]
  const mismatches: string[] = []
  try {
    const now = await sc.isEnabledMany(touched)
    for (const u of touched) {
      if (now.get(u) !== plan.before.enabled[u]) mismatches.push(`${u} is ${now.get(u)}, was ${plan.before.enabled[u]}`)
    }
  } catch (err) {
    mismatches.push(`could not check the units' state: ${(err as Error).message}`)
  }
  result.rollback = {actions, mismatches}
  const undone = actions.filter((a) => a.status === 'done').length
  const failedUndo = actions.filter((a) => a.status === 'failed')
  const s = plan.steps[failed.index]
  let msg = `step '${s?.title ?? '?'}' failed: ${failed.error.message}`
  msg +=
    failedUndo.length || mismatches.length
      ? `; rollback incomplete (${failedUndo
          .map((a) => `${describeStep(a)}: ${a.reason}`)
          .concat(mismatches)
          .join('; ')})`
      : `; rolled back ${undone} action${undone === 1 ? '' : 's'}, the units are as they were`
  throw new ModeSwitchError(msg, s?.title ?? '?', result)
}

// ---- running guests --------------------------------------------------------------------------

export interface GuestCheck {
  socket: string
  /** Whether a daemon answered on it. */
  answered: boolean
  guests: string[]
  /** Why the check could not tell (daemon answered but listing failed). */
  error?: string
}

/**
 * Asks the daemons of both layouts (libvirt-sock: libvirtd or virtproxyd; virtqemud-sock) for their
 * running QEMU guests. A socket nobody answers on has no guests to protect; a daemon without the
 * QEMU driver has none either.
 */
export async function runningGuests(root: string, timeoutMs = 5000): Promise<GuestCheck[]> {
  const {socketAccepts} = await import('../daemon/listeners.js')
  const client = await import('../client/connection.js')
  const {remote} = await import('../rpc/programs/remote.js')
  const {VirError, ErrorCode} = await import('../errors.js')
  const dir = join(root || '/', 'run/libvirt')
  const out: GuestCheck[] = []
  for (const name of ['libvirt-sock', 'virtqemud-sock']) {
    const socket = join(dir, name)
    if (!existsSync(socket) || !(await socketAccepts(socket, 1000))) {
      out.push({socket, answered: false, guests: []})
      continue
    }
    let conn: Connection | undefined
    let timer: NodeJS.Timeout | undefined
    try {
      const work = (async () => {
        conn = await client.Connection.open(`qemu+unix:///system?socket=${socket}`, {readonly: false})
        const {domains} = await conn.call(remote.procs.CONNECT_LIST_ALL_DOMAINS, {need_results: 1, flags: 1})
        return domains.map((d) => d.name)
      })()
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs)
      })
      out.push({socket, answered: true, guests: await Promise.race([work, timeout])})
    } catch (err) {
      if (err instanceof VirError && (err.code === ErrorCode.NO_CONNECT || err.code === ErrorCode.SYSTEM_ERROR)) {
        // No QEMU driver behind this socket (or the daemon went away): no guests of ours there.
        out.push({socket, answered: err.code === ErrorCode.NO_CONNECT, guests: []})
      } else {
        out.push({socket, answered: true, guests: [], error: (err as Error).message})
      }
    } finally {
      clearTimeout(timer)
      await conn?.close().catch(() => {})
    }
  }
  return out
}

// ---- status ----------------------------------------------------------------------------------

export interface RunningDaemon {
  daemon: DaemonName
  pid: number | null
  sockets: string[]
}

export interface ModeStatus {
  root: string
  /** Which layout the unit files select. */
  configured: 'monolithic' | 'modular' | 'mixed' | 'none'
  /** Modular drivers whose daemon is enabled. */
  drivers: ModularDriver[]
  proxy: boolean
  /** Whether this host runs systemd; startStop says why units cannot be started/stopped here. */
  systemd: {running: boolean; startStop?: string}
  units: Array<{unit: string; daemon: DaemonName; state: EnablementState}>
  running: RunningDaemon[]
}

function pidIsProxy(pid: number | null): boolean {
  if (pid === null) return false
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
    const i = argv.indexOf('--driver')
    return (i >= 0 && argv[i + 1] === 'proxy') || argv.includes('--driver=proxy') || argv.some((a) => a.endsWith('virtproxyd'))
  } catch {
    return false
  }
}

/** The configured layout (from is-enabled) and the daemons answering on their sockets. */
export async function modeStatus(opts: {root?: string; systemctl?: Systemctl}): Promise<ModeStatus> {
  const root = opts.root ?? ''
  const sc = opts.systemctl ?? new Systemctl({root: root || undefined})
  const snap = await sc.isEnabledMany(allUnitNames())
  const on = (u: string) => isOn(snap.get(u))
  const daemonOn = (d: DaemonName) => on(serviceUnit(d)) || on(socketUnit(d, 'main'))
  const mono = daemonOn('libvirtd')
  const drivers = MODULAR_DRIVERS.filter((d) => daemonOn(`virt${d}d` as DaemonName))
  const proxy = daemonOn('virtproxyd')
  const modular = drivers.length > 0 || proxy
  const configured = mono && modular ? 'mixed' : mono ? 'monolithic' : modular ? 'modular' : 'none'

  const {socketStatus} = await import('../daemon/socket-status.js')
  const socks = await socketStatus({mode: 'system', root: root || undefined})
  const byDaemon = new Map<DaemonName, RunningDaemon>()
  for (const s of socks) {
    if (!s.accepts) continue
    const daemon: DaemonName = s.daemon === 'libvirtd' && pidIsProxy(s.pid) ? 'virtproxyd' : s.daemon
    const d = byDaemon.get(daemon) ?? {daemon, pid: s.pid, sockets: []}
    d.pid ??= s.pid
    d.sockets.push(s.path)
    byDaemon.set(daemon, d)
  }
  const reason = sc.onlineUnavailable()
  return {
    root,
    configured,
    drivers,
    proxy,
    systemd: {running: systemdRunning(), ...(reason ? {startStop: reason} : {})},
    units: allUnitNames().map((unit) => ({unit, daemon: daemonOfUnit(unit)!, state: snap.get(unit)!})),
    running: DAEMON_UNITS.map((d) => byDaemon.get(d.daemon)).filter((d): d is RunningDaemon => d !== undefined),
  }
}
