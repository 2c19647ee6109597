/**
 * The two start-up modes of libvirt's daemons under systemd (libvirtd(8), "System socket
 * activation" vs "Traditional mode"), for the layout whose units are enabled:
 *  - socket activation: systemd owns the sockets and starts the service on the first connection;
 *    the service may exit when idle (--timeout) and comes back on the next one;
 *  - traditional: every socket unit of the layout is masked, the service starts at boot and creates
 *    its sockets itself (so --listen works), --timeout is removed from its arguments (a daemon that
 *    exits would never come back), and libvirt-guests is ordered After= the service instead of the
 *    socket (a full copy of its unit in /etc/systemd/system).
 * Each switch is a list of steps with their undo; a failing step undoes the ones done, newest first.
 */
import {readFileSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import type {DaemonName} from '../daemon/paths.js'
import {writeFileAtomic} from '../fs-atomic.js'
import {argsFilePath, readArgs, withoutTimeout, writeArgs} from './args-file.js'
import {DAEMON_UNITS, MODULAR_DRIVERS, daemonUnits, findUnitFile, serviceUnit, socketUnit} from './units.js'
import {GUESTS_UNIT, TRADITIONAL_MARKER, guestsUnitFor} from './guests-unit.js'
import {isOn} from './mode-plan.js'
import type {Systemctl, Verb} from './systemctl.js'

export type StartupMode = 'traditional' | 'socket-activation'

export class StartupModeError extends Error {}

interface Step {
  title: string
  run: () => Promise<void>
  undo: () => Promise<void>
}

export interface StartupResult {
  target: StartupMode
  daemons: DaemonName[]
  steps: Array<{title: string; status: 'done' | 'skipped' | 'failed' | 'rolled-back' | 'not-run'; reason?: string}>
}

/** The daemons of the enabled layout (libvirtd, or the modular daemons and virtproxyd): those whose service is enabled. */
export async function activeDaemons(sc: Systemctl): Promise<DaemonName[]> {
  const candidates: DaemonName[] = ['libvirtd', ...MODULAR_DRIVERS.map((d) => `virt${d}d` as DaemonName), 'virtproxyd']
  const states = await sc.isEnabledMany(candidates.flatMap((d) => [serviceUnit(d), socketUnit(d, 'main')]))
  return candidates.filter((d) => isOn(states.get(serviceUnit(d))) || isOn(states.get(socketUnit(d, 'main'))))
}

function socketsOf(daemons: DaemonName[]): string[] {
  return daemons.flatMap((d) => daemonUnits(d).sockets.map((k) => socketUnit(d, k)))
}

/** Restores a file's previous content (undefined: it did not exist). */
async function restoreFile(path: string, before: string | undefined): Promise<void> {
  if (before === undefined) rmSync(path, {force: true})
  else await writeFileAtomic(path, before, 0o644)
}

function readOrUndefined(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return undefined
  }
}

export interface StartupOptions {
  root?: string
  sc: Systemctl
}

/** Builds and runs the switch to `target`; throws StartupModeError (after rolling back) when a step fails. */
export async function switchStartupMode(target: StartupMode, opts: StartupOptions): Promise<StartupResult> {
  const root = opts.root ?? ''
  const {sc} = opts
  const daemons = await activeDaemons(sc)
  if (daemons.length === 0) {
    throw new StartupModeError('no layout is enabled: run `vctl mode switch monolithic` or `vctl mode switch modular` first')
  }
  const sockets = socketsOf(daemons)
  const services = daemons.map(serviceUnit)
  const enabled = await sc.isEnabledMany(sockets)
  const active = await sc.isActiveMany([...services, ...sockets])
  const wasActive = (u: string) => !active.skipped && active.states.get(u) === 'active'
  const verb = (v: Verb, units: string[]) => async () => {
    if (units.length) await sc.run(v, units)
  }
  const steps: Step[] = []

  // The argument files: --timeout out (traditional) or back to the default (socket activation).
  const argsSteps: Step[] = daemons.map((d) => {
    const u = daemonUnits(d)
    const path = argsFilePath(root, d)
    let before: string | undefined
    return {
      title: `${target === 'traditional' ? 'Remove --timeout from' : 'Restore the idle timeout (and drop --listen) in'} ${path}`,
      run: async () => {
        before = readOrUndefined(path)
        const words = readArgs(path, u.argsVar) ?? u.defaultArgs.split(' ').filter(Boolean)
        // Back to sockets: --listen goes (refused under socket activation), the default timeout comes back.
        const rest = words.filter((w) => w !== '--listen' && w !== '-l')
        const hasTimeout = withoutTimeout(rest).length !== rest.length
        const next = target === 'traditional' ? withoutTimeout(words) : hasTimeout ? rest : [...u.defaultArgs.split(' ').filter(Boolean), ...rest]
        await writeArgs(path, u.argsVar, next)
      },
      undo: () => restoreFile(path, before),
    }
  })
  // libvirt-guests ordered after the service (traditional) or the socket again (socket activation).
  const guestsPath = join(root || '/', 'etc/systemd/system', GUESTS_UNIT)
  let guestsBefore: string | undefined
  const guestsStep: Step = {
    title:
      `${target === 'traditional' ? 'Order' : 'Restore'} ${GUESTS_UNIT} ${target === 'traditional' ? `After= ${services.join(' ')}` : ''}`.trim(),
    run: async () => {
      guestsBefore = readOrUndefined(guestsPath)
      if (target === 'traditional') {
        const vendor = findUnitFile(root, GUESTS_UNIT)
        const base = vendor && vendor !== guestsPath ? readFileSync(vendor, 'utf8') : guestsBefore
        if (base === undefined) return
        await writeFileAtomic(guestsPath, guestsUnitFor(base, daemons), 0o644)
      } else if (guestsBefore?.includes(TRADITIONAL_MARKER)) {
        rmSync(guestsPath, {force: true})
      }
    },
    undo: () => restoreFile(guestsPath, guestsBefore),
  }
  const daemonReload = async (): Promise<void> => {
    await sc.daemonReload()
  }
  const reload: Step = {title: 'Reload systemd', run: daemonReload, undo: daemonReload}

  if (target === 'traditional') {
    const on = sockets.filter((s) => isOn(enabled.get(s)))
    const unmasked = sockets.filter((s) => enabled.get(s) !== 'masked')
    steps.push(
      {
        title: `Stop ${[...services, ...sockets].join(' ')}`,
        run: verb('stop', [...services, ...sockets]),
        undo: verb('start', [...sockets, ...services].filter(wasActive)),
      },
      {title: `Disable ${sockets.join(' ')}`, run: verb('disable', sockets), undo: verb('enable', on)},
      {title: `Mask ${sockets.join(' ')}`, run: verb('mask', unmasked), undo: verb('unmask', unmasked)},
      ...argsSteps,
      guestsStep,
      reload,
      {title: `Start ${services.join(' ')}`, run: verb('start', services), undo: verb('stop', services)},
    )
  } else {
    const masked = sockets.filter((s) => enabled.get(s) === 'masked')
    const local = sockets.filter((s) => !/-(tcp|tls)\.socket$/.test(s))
    steps.push(
      {title: `Stop ${services.join(' ')}`, run: verb('stop', services), undo: verb('start', services.filter(wasActive))},
      {title: `Unmask ${masked.join(' ')}`, run: verb('unmask', masked), undo: verb('mask', masked)},
      ...argsSteps,
      guestsStep,
      {
        title: `Enable ${local.join(' ')}`,
        run: verb('enable', local),
        undo: verb(
          'disable',
          local.filter((s) => !isOn(enabled.get(s))),
        ),
      },
      reload,
      {
        title: `Start ${local.join(' ')}`,
        run: verb('start', local),
        undo: verb(
          'stop',
          local.filter((s) => !wasActive(s)),
        ),
      },
    )
  }
  return runSteps(target, daemons, steps, sc)
}

async function runSteps(target: StartupMode, daemons: DaemonName[], steps: Step[], sc: Systemctl): Promise<StartupResult> {
  const result: StartupResult = {target, daemons, steps: steps.map((s) => ({title: s.title, status: 'not-run'}))}
  const offline = sc.onlineUnavailable()
  for (let i = 0; i < steps.length; i++) {
    try {
      await steps[i].run()
      result.steps[i].status = 'done'
    } catch (err) {
      result.steps[i].status = 'failed'
      result.steps[i].reason = (err as Error).message
      const undoErrors: string[] = []
      for (let j = i; j >= 0; j--) {
        try {
          await steps[j].undo()
          if (j < i) result.steps[j].status = 'rolled-back'
        } catch (e) {
          undoErrors.push(`${steps[j].title}: ${(e as Error).message}`)
        }
      }
      throw new StartupModeError(
        `step '${steps[i].title}' failed: ${(err as Error).message}; ` +
          (undoErrors.length ? `rollback incomplete (${undoErrors.join('; ')})` : `rolled back, the units and files are as they were`),
      )
    }
  }
  if (offline) {
    for (const s of result.steps) {
      if (!/^(Stop|Start|Reload)/.test(s.title)) continue
      s.status = 'skipped'
      s.reason = offline
    }
  }
  return result
}

/** Masks the socket units of every daemon whose arguments carry --listen (what libvirt's packaging does on upgrade). */
export async function maskSocketsOfListeningDaemons(root: string, sc: Systemctl): Promise<string[]> {
  const listening = DAEMON_UNITS.filter((d) => {
    const words = readArgs(argsFilePath(root, d.daemon), d.argsVar)
    return words?.some((w) => w === '--listen' || w === '-l') ?? false
  })
  const sockets = socketsOf(listening.map((d) => d.daemon))
  if (sockets.length) await sc.mask(sockets)
  return sockets
}
