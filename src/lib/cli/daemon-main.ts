/**
 * The fast path bin/run.js takes for `vctl daemon start`: the daemon is a long-lived process that
 * needs none of oclif's command machinery, so its flags are parsed here with node:util and the
 * daemon starts without loading oclif (which costs start-up time and resident memory for the
 * daemon's whole life). Anything unusual (--help, --version, a flag it does not know or a value
 * it would have to reject) goes back to oclif, which reports it as for every other command.
 */
import {parseLean} from './daemon-flags.js'

export {LEAN_DAEMON_FLAGS, parseLean} from './daemon-flags.js'

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
