/**
 * Every filesystem path a daemon uses, computed by pure functions (no filesystem access), so that
 * tests and `--root` runs never touch the host's /etc, /run or /var.
 *
 * System mode (root R, default ''):
 *   config      R/etc/libvirt/<daemon>.conf
 *   configDir   R/etc/libvirt
 *   runDir      R/run/libvirt                    (base of the drivers' run dirs)
 *   sockDir     R/run/libvirt, or R/<unix_sock_dir>
 *   sockets     libvirtd, virtproxyd:   libvirt-sock, libvirt-sock-ro, libvirt-admin-sock
 *               other modular daemons:  <daemon>-sock, <daemon>-sock-ro, <daemon>-admin-sock
 *               virtlogd, virtlockd:    <daemon>-sock, <daemon>-admin-sock (no read-only socket)
 *   pidFile     R/run/<daemon>.pid
 *   stateDir    R/var/lib/libvirt
 *   logDir      R/var/log/libvirt
 *   cacheDir    R/var/cache/libvirt
 *
 * Session mode (per-user, following libvirt's XDG layout; R is prepended to everything as well):
 *   CONFIG  = $XDG_CONFIG_HOME/libvirt        ($XDG_CONFIG_HOME defaults to $HOME/.config)
 *   CACHE   = $XDG_CACHE_HOME/libvirt         ($XDG_CACHE_HOME defaults to $HOME/.cache)
 *   RUNTIME = $XDG_RUNTIME_DIR/libvirt, or CACHE when XDG_RUNTIME_DIR is unset
 *   config      CONFIG/<daemon>.conf
 *   configDir   CONFIG
 *   runDir      RUNTIME
 *   sockDir     RUNTIME, or R/<unix_sock_dir>
 *   sockets     read-write and admin only (same names as in system mode)
 *   pidFile     RUNTIME/<daemon>.pid
 *   stateDir    CONFIG  (persistent per-user state lives next to the definitions, as in libvirt)
 *   logDir      CACHE/log
 *   cacheDir    CACHE
 *
 * XDG variables that are empty or not absolute are ignored, as the XDG spec requires.
 */

import {homedir} from 'node:os'
import {isAbsolute, join} from 'node:path'
import {DRIVER_DAEMONS, isDaemonName, type DaemonName} from '../daemons.js'
import type {DriverDirs} from '../drivers/types.js'

export {DAEMON_NAMES, DRIVER_DAEMONS, isDaemonName, type DaemonName} from '../daemons.js'

/**
 * Maps a driver name to its daemon: undefined → libvirtd (the monolithic daemon), 'qemu' → virtqemud,
 * 'proxy' → virtproxyd, 'log' → virtlogd, 'lock' → virtlockd, 'network' → virtnetworkd, ...
 * A daemon name itself ('virtqemud') is accepted too. Anything else throws.
 */
export function daemonNameForDriver(driver?: string): DaemonName {
  if (driver === undefined) return 'libvirtd'
  if (Object.hasOwn(DRIVER_DAEMONS, driver)) return DRIVER_DAEMONS[driver]
  if (isDaemonName(driver)) return driver
  throw new Error(
    `unknown driver '${driver}': valid drivers are ${Object.keys(DRIVER_DAEMONS).join(', ')} ` + `(or omit the driver for the monolithic libvirtd)`,
  )
}

export interface DaemonPaths {
  mode: 'system' | 'session'
  /** The root every path is under ('' for the real filesystem). */
  root: string
  configFile: string
  /** …/etc/libvirt (system) or $XDG_CONFIG_HOME/libvirt (session). */
  configDir: string
  /** …/run/libvirt (system) or $XDG_RUNTIME_DIR/libvirt (session): base of the drivers' run dirs. */
  runDir: string
  /** Directory holding the sockets: runDir unless unix_sock_dir overrides it. */
  sockDir: string
  sockRw: string
  /** Read-only socket; undefined in session mode and for virtlogd/virtlockd. */
  sockRo: string | undefined
  sockAdmin: string
  pidFile: string
  /** …/var/lib/libvirt (system) or $XDG_CONFIG_HOME/libvirt (session). */
  stateDir: string
  /** …/var/log/libvirt (system) or $XDG_CACHE_HOME/libvirt/log (session). */
  logDir: string
  /** …/var/cache/libvirt (system) or $XDG_CACHE_HOME/libvirt (session). */
  cacheDir: string
}

export interface DaemonPathsOptions {
  daemon: DaemonName
  mode: 'system' | 'session'
  root?: string
  /** Environment for session mode (HOME, XDG_*). Defaults to process.env. */
  env?: NodeJS.ProcessEnv
  /** The config's unix_sock_dir: overrides the socket directory (prefixed by root). */
  unixSockDir?: string
}

/** Prefixes an absolute path with root (no-op for an empty root). */
function underRoot(root: string, p: string): string {
  return root === '' ? p : join(root, p)
}

/** An XDG base directory variable, ignored when empty or relative (per the XDG spec). */
function xdgVar(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const v = env[name]
  return v && isAbsolute(v) ? v : undefined
}

function sockBaseName(daemon: DaemonName): string {
  // libvirtd and virtproxyd serve the traditional libvirt-* sockets (virtproxyd stands in for libvirtd).
  return daemon === 'libvirtd' || daemon === 'virtproxyd' ? 'libvirt' : daemon
}

function hasReadOnlySocket(daemon: DaemonName): boolean {
  return daemon !== 'virtlogd' && daemon !== 'virtlockd'
}

/** Computes every path of `daemon` in `mode`. Pure apart from falling back to os.homedir() without $HOME. */
export function daemonPaths(opts: DaemonPathsOptions): DaemonPaths {
  const {daemon, mode} = opts
  const root = opts.root ?? ''
  const env = opts.env ?? process.env

  let configDir: string
  let runDir: string
  let stateDir: string
  let logDir: string
  let cacheDir: string
  let pidFile: string

  if (mode === 'system') {
    configDir = underRoot(root, '/etc/libvirt')
    runDir = underRoot(root, '/run/libvirt')
    stateDir = underRoot(root, '/var/lib/libvirt')
    logDir = underRoot(root, '/var/log/libvirt')
    cacheDir = underRoot(root, '/var/cache/libvirt')
    pidFile = underRoot(root, `/run/${daemon}.pid`)
  } else {
    const home = env.HOME || homedir()
    const configHome = xdgVar(env, 'XDG_CONFIG_HOME') ?? join(home, '.config')
    const cacheHome = xdgVar(env, 'XDG_CACHE_HOME') ?? join(home, '.cache')
    const runtimeHome = xdgVar(env, 'XDG_RUNTIME_DIR')
    const userConfig = join(configHome, 'libvirt')
    const userCache = join(cacheHome, 'libvirt')
    const userRuntime = runtimeHome ? join(runtimeHome, 'libvirt') : userCache

    configDir = underRoot(root, userConfig)
    runDir = underRoot(root, userRuntime)
    stateDir = configDir
    cacheDir = underRoot(root, userCache)
    logDir = join(cacheDir, 'log')
    pidFile = join(runDir, `${daemon}.pid`)
  }

  const sockDir = opts.unixSockDir ? underRoot(root, opts.unixSockDir) : runDir
  const base = sockBaseName(daemon)

  return {
    mode,
    root,
    configFile: join(configDir, `${daemon}.conf`),
    configDir,
    runDir,
    sockDir,
    sockRw: join(sockDir, `${base}-sock`),
    sockRo: mode === 'system' && hasReadOnlySocket(daemon) ? join(sockDir, `${base}-sock-ro`) : undefined,
    sockAdmin: join(sockDir, `${base}-admin-sock`),
    pidFile,
    stateDir,
    logDir,
    cacheDir,
  }
}

/**
 * A driver's directories.
 *
 * System: configDir R/etc/libvirt/<driver>, autostartDir …/autostart, runDir R/run/libvirt/<driver>,
 *         stateDir R/var/lib/libvirt/<driver>, logDir R/var/log/libvirt/<driver>.
 * Session (as libvirt's per-user drivers): configDir CONFIG/<driver>, autostartDir …/autostart,
 *         runDir RUNTIME/<driver>/run, stateDir CONFIG/<driver>/lib, logDir CACHE/<driver>/log —
 *         the extra level keeps state apart from definitions, since both live under CONFIG.
 */
export function driverStateDirs(paths: DaemonPaths, driver: string): DriverDirs {
  if (!/^[a-z][a-z0-9_-]*$/.test(driver)) throw new Error(`invalid driver name '${driver}'`)
  const configDir = join(paths.configDir, driver)
  const autostartDir = join(configDir, 'autostart')
  if (paths.mode === 'system') {
    return {
      configDir,
      autostartDir,
      runDir: join(paths.runDir, driver),
      stateDir: join(paths.stateDir, driver),
      logDir: join(paths.logDir, driver),
    }
  }
  return {
    configDir,
    autostartDir,
    runDir: join(paths.runDir, driver, 'run'),
    stateDir: join(paths.stateDir, driver, 'lib'),
    logDir: join(paths.cacheDir, driver, 'log'),
  }
}

/** system when running as root, session otherwise (and on platforms without uids). */
export function defaultMode(): 'system' | 'session' {
  return typeof process.getuid === 'function' && process.getuid() === 0 ? 'system' : 'session'
}
