/**
 * The flags of `vctl daemon start` as the lean entries parse them (bin/run.js's fast path through
 * daemon-main.ts, and bin/vctl-daemon.cjs through the daemon's bundle): node:util's parseArgs, no
 * oclif. Anything unusual gives undefined, and oclif parses (and reports) it instead.
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
