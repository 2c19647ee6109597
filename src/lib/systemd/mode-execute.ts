/**
 * Executing a switch plan (see mode-plan.ts): the steps run in order; offline steps
 * (enable/disable/mask/unmask) always run, through `systemctl --root` with a root; online steps
 * (start/stop) are skipped, with the reason, when there is no running systemd to ask. When a step
 * fails, the steps already done are undone in reverse order, the units' enablement is compared with
 * the snapshot the plan was built from, and the error names the step that broke.
 */
import type {ModularDriver} from './units.js'
import type {Systemctl, Verb} from './systemctl.js'
import type {Action, Layout, SwitchPlan} from './mode-plan.js'

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

type RendererName = 'default' | 'simple' | 'silent'

export interface ExecuteOptions {
  /** listr2 renderer: 'default' (TTY), 'simple' (plain lines) or 'silent' (--json). */
  renderer?: RendererName
}

/** One listr2 task: `skip` marks it skipped with the reason shown. */
interface Job {
  title: string
  run: (skip: (reason: string) => void) => Promise<void>
}

/** Runs the jobs one after the other with listr2 progress; rejects with the first job's error when `exitOnError`. */
async function runJobs(jobs: Job[], renderer: RendererName, exitOnError: boolean): Promise<void> {
  const {Listr} = await import('listr2')
  const list = new Listr<unknown, RendererName, 'simple' | 'silent'>(
    jobs.map((j) => ({title: j.title, task: (_ctx, task) => j.run((reason) => task.skip(reason))})),
    {
      concurrent: false,
      exitOnError,
      renderer,
      fallbackRenderer: renderer === 'silent' ? 'silent' : 'simple',
      rendererOptions: {collapseSkips: false, collapseErrors: false},
      registerSignalListeners: false,
    },
  )
  await list.run()
}

type RollbackAction = NonNullable<SwitchResult['rollback']>['actions'][number]

/** Runs the undo actions in order (all of them, even after one fails) and reports each. */
async function rollBack(undo: Action[], sc: Systemctl, renderer: RendererName): Promise<RollbackAction[]> {
  const actions: RollbackAction[] = []
  const jobs = undo.map((a): Job => ({
    title: `Undo: ${describeStep(a)}`,
    run: async (skip) => {
      try {
        const r = await sc.run(a.verb, a.units)
        if (r.skipped) {
          actions.push({...a, status: 'skipped', reason: r.reason})
          skip(r.reason)
        } else actions.push({...a, status: 'done'})
      } catch (err) {
        actions.push({...a, status: 'failed', reason: (err as Error).message})
        throw err
      }
    },
  }))
  try {
    await runJobs(jobs, renderer, false)
  } catch {
    // recorded in actions
  }
  return actions
}

/** The units an offline step touched whose enablement differs from the plan's snapshot. */
async function enablementMismatches(plan: SwitchPlan, lastStep: number, sc: Systemctl): Promise<string[]> {
  const touched = [
    ...new Set(
      plan.steps
        .slice(0, lastStep + 1)
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
  return mismatches
}

/** Runs the plan with listr2 progress; on failure undoes the steps done and throws ModeSwitchError. */
export async function executePlan(plan: SwitchPlan, sc: Systemctl, opts: ExecuteOptions = {}): Promise<SwitchResult> {
  const offlineReason = sc.onlineUnavailable()
  const results: StepResult[] = plan.steps.map((s) => ({title: s.title, verb: s.verb, units: s.units, offline: s.offline, status: 'not-run'}))
  const result: SwitchResult = {target: plan.target, root: plan.root, dryRun: false, drivers: plan.drivers, steps: results}
  const renderer = opts.renderer ?? 'default'
  let failed: {index: number; error: Error} | undefined
  const jobs = plan.steps.map((s, i): Job => ({
    title: `${s.title} (systemctl ${s.verb}, ${s.units.length} unit${s.units.length === 1 ? '' : 's'})`,
    run: async (skip) => {
      if (!s.offline && offlineReason) {
        results[i].status = 'skipped'
        results[i].reason = offlineReason
        skip(offlineReason)
        return
      }
      try {
        const r = await sc.run(s.verb, s.units)
        if (r.skipped) {
          results[i].status = 'skipped'
          results[i].reason = r.reason
          skip(r.reason)
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
  }))
  try {
    await runJobs(jobs, renderer, true)
  } catch (err) {
    failed ??= {index: results.findIndex((r) => r.status === 'not-run'), error: err as Error}
  }
  if (!failed) return result

  // Roll back: undo every step that ran, newest first, the failed one included: systemctl may have
  // done part of it (started some sockets of the list before one failed). Each undo only restores
  // what the snapshot had, so undoing what did not happen is harmless.
  const undo: Action[] = []
  for (let i = failed.index; i >= 0; i--) {
    if (results[i].status === 'done' || i === failed.index) undo.push(...(plan.steps[i]?.undo ?? []))
  }
  const actions = await rollBack(undo, sc, renderer)
  for (let i = 0; i < failed.index; i++) if (results[i].status === 'done') results[i].status = 'rolled-back'

  // Check that the unit files are back to what they were.
  const mismatches = await enablementMismatches(plan, failed.index, sc)
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
