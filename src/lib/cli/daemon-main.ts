/**
 * The fast path bin/run.js takes for `vctl daemon start`: the daemon is a long-lived process that
 * needs none of oclif's command machinery, so its flags are parsed here with node:util and the
 * daemon starts without loading oclif (which costs start-up time and resident memory for the
 * daemon's whole life). Anything unusual (--help, --version, a flag it does not know or a value
 * it would have to reject) goes back to oclif, which reports it as for every other command.
 */
import {parseArgs, type ParseArgsConfig} from 'node:util'
import type {DaemonStartFlags} from './daemon-start.js'

/** The same flags as commands/daemon/start.ts declares (a test checks that they agree). */
export const LEAN_DAEMON_FLAGS = {
  daemon: {type: 'boolean', short: 'd'},
  config: {type: 'string', short: 'f'},
  listen: {type: 'boolean', short: 'l'},
  'pid-file': {type: 'string', short: 'p'},
  timeout: {type: 'string', short: 't'},
  verbose: {type: 'boolean', short: 'v'},
  driver: {type: 'string'},
  root: {type: 'string'},
  session: {type: 'boolean'},
  system: {type: 'boolean'},
} as const satisfies ParseArgsConfig['options']

/** The flags for the common cases, or undefined where oclif should parse (and report) instead. */
export function parseLean(argv: string[]): DaemonStartFlags | undefined {
  let values
  try {
    ;({values} = parseArgs({args: argv, options: LEAN_DAEMON_FLAGS, strict: true, allowPositionals: false}))
  } catch {
    return undefined
  }
  if (values.session && values.system) return undefined
  let timeout: number | undefined
  if (values.timeout !== undefined) {
    if (!/^\d+$/.test(values.timeout) || Number(values.timeout) < 1) return undefined
    timeout = Number(values.timeout)
  }
  for (const k of ['config', 'pid-file', 'driver', 'root'] as const) if (values[k] === '') return undefined
  return {...values, timeout}
}

/** Runs `daemon start ARGV` if it can; false means: let oclif run the command. */
export async function leanDaemonStart(argv: string[]): Promise<boolean> {
  const flags = parseLean(argv)
  if (!flags) return false
  const {startDaemon, DaemonStartFailure} = await import('./daemon-start.js')
  try {
    await startDaemon(flags, argv, (m) => process.stdout.write(`${m}\n`))
  } catch (err) {
    // Reported by oclif, as `vctl daemon start` reports its errors on the full path.
    const {Errors} = await import('./oclif.js')
    const exit = err instanceof DaemonStartFailure ? err.exit : 1
    await Errors.handle(new Errors.CLIError((err as Error).message, {exit}))
  }
  return true
}
