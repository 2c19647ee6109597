/**
 * Which daemon serves which driver: the one place that knows the names. The client (choosing a
 * socket for a URI), the daemon (its paths and what it hosts), virtproxyd (where to forward) and
 * the driver registry (which URIs name a secondary driver) all read it from here.
 */

export type DaemonName =
  | 'libvirtd'
  | 'virtqemud'
  | 'virtnetworkd'
  | 'virtstoraged'
  | 'virtsecretd'
  | 'virtnodedevd'
  | 'virtnwfilterd'
  | 'virtinterfaced'
  | 'virtproxyd'
  | 'virtlogd'
  | 'virtlockd'

export const DAEMON_NAMES: readonly DaemonName[] = Object.freeze([
  'libvirtd',
  'virtqemud',
  'virtnetworkd',
  'virtstoraged',
  'virtsecretd',
  'virtnodedevd',
  'virtnwfilterd',
  'virtinterfaced',
  'virtproxyd',
  'virtlogd',
  'virtlockd',
] as const)

/** Drivers that are not hypervisors: a URI naming one opens that driver alone (`secret:///system`). */
export const SECONDARY_DRIVERS = Object.freeze(['network', 'storage', 'secret', 'nodedev', 'nwfilter', 'interface'] as const)
export type SecondaryDriver = (typeof SECONDARY_DRIVERS)[number]

/** Drivers a connection URI names (`qemu:///system`, `network:///system`, ...) and the modular daemon of each. */
export const URI_DRIVER_DAEMONS: Readonly<Record<string, DaemonName>> = Object.freeze({
  qemu: 'virtqemud',
  network: 'virtnetworkd',
  storage: 'virtstoraged',
  secret: 'virtsecretd',
  nodedev: 'virtnodedevd',
  nwfilter: 'virtnwfilterd',
  interface: 'virtinterfaced',
})

/** Every name `vctl daemon start --driver` accepts, and the daemon each one starts. */
export const DRIVER_DAEMONS: Readonly<Record<string, DaemonName>> = Object.freeze({
  ...URI_DRIVER_DAEMONS,
  proxy: 'virtproxyd',
  log: 'virtlogd',
  lock: 'virtlockd',
})

/** Modular daemons vctl can run besides libvirtd and virtproxyd. */
export const IMPLEMENTED_MODULAR: readonly DaemonName[] = Object.freeze([
  'virtqemud',
  'virtstoraged',
  'virtnetworkd',
  'virtsecretd',
  'virtinterfaced',
  'virtnodedevd',
  'virtnwfilterd',
  'virtlogd',
  'virtlockd',
] as const)

export function isDaemonName(name: string): name is DaemonName {
  return (DAEMON_NAMES as readonly string[]).includes(name)
}

export function isSecondaryDriver(driver: string): driver is SecondaryDriver {
  return (SECONDARY_DRIVERS as readonly string[]).includes(driver)
}

/** The modular daemon that owns a URI's driver (undefined for test:// and unknown drivers). */
export function daemonForUriDriver(driver: string): DaemonName | undefined {
  return Object.hasOwn(URI_DRIVER_DAEMONS, driver) ? URI_DRIVER_DAEMONS[driver] : undefined
}
