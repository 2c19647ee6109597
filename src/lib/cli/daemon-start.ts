/**
 * What `vctl daemon start` does once its flags are parsed, shared by the oclif command and the lean
 * entry bin/run.js takes for it (daemon-main.ts): resolve the options, then run the daemon in the
 * foreground or detached (-d).
 */
import {resolve} from 'node:path'
import type {DaemonOptions} from '../daemon/server.js'

/** The flags of `vctl daemon start`, as both parsers produce them. */
export interface DaemonStartFlags {
  daemon?: boolean
  config?: string
  listen?: boolean
  'pid-file'?: string
  timeout?: number
  verbose?: boolean
  driver?: string
  root?: string
  session?: boolean
  system?: boolean
}

/** Exit status for a daemon that cannot start (oclif's for a bad flag value is 2). */
export const EXIT_START_FAILED = 1
export const EXIT_USAGE = 2

export class DaemonStartFailure extends Error {
  readonly exit: number
  constructor(message: string, exit: number) {
    super(message)
    this.exit = exit
  }
}

/** The daemon's name for the flags (libvirtd, virtqemud, ...); a bad --driver is a usage error. */
export async function daemonName(flags: DaemonStartFlags): Promise<string> {
  const {daemonNameForDriver} = await import('../daemon/paths.js')
  try {
    return daemonNameForDriver(flags.driver)
  } catch (err) {
    throw new DaemonStartFailure((err as Error).message, EXIT_USAGE)
  }
}

export async function daemonOptions(flags: DaemonStartFlags): Promise<DaemonOptions> {
  const {defaultMode} = await import('../daemon/paths.js')
  return {
    driver: flags.driver,
    mode: flags.session ? 'session' : flags.system || flags.root ? 'system' : defaultMode(),
    root: flags.root ? resolve(flags.root) : undefined,
    configFile: flags.config ? resolve(flags.config) : undefined,
    listen: flags.listen,
    timeout: flags.timeout,
    verbose: flags.verbose,
    pidFile: flags['pid-file'] ? resolve(flags['pid-file']) : undefined,
  }
}

/**
 * Runs the daemon: in the foreground until it stops, or (-d) detached, returning once its sockets
 * accept connections. `argv` is the command line after `daemon start`, re-run by the detached child.
 */
export async function startDaemon(flags: DaemonStartFlags, argv: string[], log: (msg: string) => void): Promise<void> {
  const name = await daemonName(flags)
  const opts = await daemonOptions(flags)
  const launch = await import('../daemon/launch.js')
  try {
    if (flags.daemon) {
      const childArgv = [process.argv[1], 'daemon', 'start', ...argv.filter((a) => a !== '-d' && a !== '--daemon')]
      const pid = await launch.runDetached(opts, childArgv)
      log(`${name} started (pid ${pid})`)
      return
    }
    const d = await launch.runForeground(opts)
    await d.stopped
  } catch (err) {
    throw new DaemonStartFailure((err as Error).message, EXIT_START_FAILED)
  }
}
