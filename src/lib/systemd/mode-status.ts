/** `mode status`: the layout the unit files select, and the daemons answering on their sockets. */
import {readFileSync} from 'node:fs'
import type {DaemonName} from '../daemon/paths.js'
import {DAEMON_UNITS, MODULAR_DRIVERS, allUnitNames, daemonOfUnit, serviceUnit, socketUnit, type ModularDriver} from './units.js'
import {Systemctl, systemdRunning, type EnablementState} from './systemctl.js'
import {isOn} from './mode-plan.js'

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
