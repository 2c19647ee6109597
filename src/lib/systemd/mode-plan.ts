/**
 * The plan of a switch between the monolithic layout (libvirtd serves every driver) and the modular
 * one (one daemon per driver, virtproxyd on the monolithic sockets): a list of steps (systemctl verb
 * + units), each with the inverse actions that restore the state the units had before, computed from
 * a snapshot of the units taken when planning.
 */
import {lstatSync} from 'node:fs'
import {join} from 'node:path'
import type {DaemonName} from '../daemon/paths.js'
import {IMPLEMENTED_MODULAR} from '../daemons.js'
import {MODULAR_DRIVERS, allUnitNames, socketUnit, unitsOf, type ModularDriver} from './units.js'
import type {EnablementState, Systemctl, Verb} from './systemctl.js'

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

/**
 * The modular drivers whose daemon this build can run (the list the daemon itself checks before
 * starting, IMPLEMENTED_MODULAR), and those left out with the reason: the default of a switch.
 */
export function startableDrivers(): {drivers: ModularDriver[]; leftOut: Array<{driver: ModularDriver; reason: string}>} {
  const can = (d: ModularDriver) => IMPLEMENTED_MODULAR.includes(`virt${d}d` as DaemonName)
  return {
    drivers: MODULAR_DRIVERS.filter(can),
    leftOut: MODULAR_DRIVERS.filter((d) => !can(d)).map((driver) => ({
      driver,
      reason: `vctl has no ${driver} driver yet: virt${driver}d would refuse to start`,
    })),
  }
}

/** Parses `--drivers qemu,network,...` (daemon names such as virtqemud are accepted too); none: the startable ones. */
export function parseDrivers(list: string | undefined): ModularDriver[] {
  if (list === undefined || list.trim() === '') return startableDrivers().drivers
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
  const drivers = opts.drivers ?? startableDrivers().drivers
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
