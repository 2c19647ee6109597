/** What the daemon hands the SASL handlers (auth-sasl.ts): the user database, allowed users, timeout. */
import {userDbPath} from '../rpc/sasl/userdb.js'
import type {DaemonPaths} from './paths.js'

/** How long a client may take to authenticate once it started SASL (VCTL_SASL_TIMEOUT_MS overrides). */
export const DEFAULT_SASL_TIMEOUT_MS = 30000

export interface SaslSettings {
  userDb: string
  allowedUsers: () => string[] | undefined
  timeoutMs: number
  log?: (msg: string) => void
}

export function saslOptions(paths: DaemonPaths, allowedUsers: () => string[] | undefined, log?: (msg: string) => void): SaslSettings {
  const env = Number(process.env.VCTL_SASL_TIMEOUT_MS)
  return {
    userDb: userDbPath(paths.configDir),
    allowedUsers,
    timeoutMs: Number.isFinite(env) && env > 0 ? env : DEFAULT_SASL_TIMEOUT_MS,
    log,
  }
}

/** The user database of the daemons under `root` (system mode) or of the session daemons. */
export async function userDbFor(opts: {root?: string; session?: boolean}): Promise<string> {
  const {daemonPaths} = await import('./paths.js')
  const mode = opts.session ? 'session' : 'system'
  return userDbPath(daemonPaths({daemon: 'libvirtd', mode, root: opts.root}).configDir)
}

export {setPassword, deleteUser, readUserDb} from '../rpc/sasl/userdb.js'
