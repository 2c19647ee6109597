/**
 * Running a daemon from the CLI: in the foreground until a signal, or detached (-d), where the
 * parent returns only once the child's sockets accept connections.
 */
import {spawn} from 'node:child_process'
import {fchmodSync, openSync} from 'node:fs'
import {sep} from 'node:path'
import type {Daemon, DaemonOptions} from './server.js'
import {daemonNameForDriver, daemonPaths} from './paths.js'
import {daemonDirs, ensureDir} from './dirs.js'

/**
 * The daemon's umask: whatever it creates without an explicit mode is private to root, as libvirt's
 * files are. Shared directories and sockets get their modes explicitly (dirs.ts, the unix_sock_*_perms).
 */
export const DAEMON_UMASK = 0o077

export interface LaunchOptions extends DaemonOptions {
  detach?: boolean
  /** argv to re-run for the detached child (without -d). */
  childArgv?: string[]
}

type ChildMsg = {ready: true; pid: number} | {error: string}

/** Foreground run: starts, reports readiness to a waiting parent (if any), resolves when stopped. */
export async function runForeground(opts: DaemonOptions): Promise<Daemon> {
  process.umask(DAEMON_UMASK)
  const {Daemon} = await import('./server.js')
  // systemd's readiness: once the sockets accept, drivers maybe still starting; socket-activated, once
  // the first client is served (Daemon.whenServing).
  const onListening = () => {
    if (!process.env.NOTIFY_SOCKET) return
    void import('./notify.js').then(({notifyReady}) => notifyReady())
  }
  let d: Daemon
  try {
    d = await Daemon.start({...opts, handleSignals: true, onListening})
  } catch (err) {
    if (process.send) {
      process.send({error: (err as Error).message} satisfies ChildMsg)
      process.disconnect?.()
    }
    throw err
  }
  if (process.send) {
    process.send({ready: true, pid: process.pid} satisfies ChildMsg)
    process.disconnect?.()
  }
  return d
}

/**
 * Detached run: spawns the daemon in its own session and waits until its sockets are ready. The
 * parent loads none of the daemon's modules: it only names the log file and waits.
 */
export async function runDetached(opts: LaunchOptions, argv: string[]): Promise<number> {
  const name = daemonNameForDriver(opts.driver)
  const paths = daemonPaths({daemon: name, mode: opts.mode, root: opts.root, env: opts.env ?? process.env})
  // The log directory (and its parents) with their modes; the log file private, as libvirt's (0600).
  for (const d of daemonDirs(paths, name)) if ((paths.logDir + sep).startsWith(d.path + sep)) ensureDir(d)
  const logFile = `${paths.logDir}/${name}.log`
  const out = openSync(logFile, 'a', 0o600)
  fchmodSync(out, 0o600)
  const env = {...(opts.env ?? process.env)}
  // Node reads this CA bundle at start (tens of ms, ~1 MB); the daemon never uses Node's default CAs.
  delete env.NODE_EXTRA_CA_CERTS
  const child = spawn(process.execPath, argv, {detached: true, stdio: ['ignore', out, out, 'ipc'], env})
  return new Promise<number>((resolve, reject) => {
    let settled = false
    child.once('message', (m: ChildMsg) => {
      settled = true
      if ('ready' in m) {
        child.unref()
        child.disconnect?.()
        resolve(m.pid)
      } else reject(new Error(m.error))
    })
    child.once('exit', (code) => {
      if (!settled) reject(new Error(`daemon exited with status ${code} before it was ready; see ${logFile}`))
    })
    child.once('error', (err) => {
      if (!settled) reject(new Error(`cannot start daemon: ${err.message}`))
    })
  })
}
