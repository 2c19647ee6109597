/** Finding and stopping a running daemon through its PID file. */
import {readFileSync} from 'node:fs'
import {daemonNameForDriver, daemonPaths, defaultMode} from './paths.js'
import {processAlive} from './pidfile.js'

export interface DaemonLocator {
  driver?: string
  root?: string
  session?: boolean
  pidFile?: string
}

export function locate(opts: DaemonLocator) {
  const name = daemonNameForDriver(opts.driver)
  const mode = opts.session ? 'session' : opts.root ? 'system' : defaultMode()
  const paths = daemonPaths({daemon: name, mode, root: opts.root})
  const pidFile = opts.pidFile ?? paths.pidFile
  let pid: number | null = null
  try {
    const n = Number.parseInt(readFileSync(pidFile, 'utf8'), 10)
    if (processAlive(n)) pid = n
  } catch {
    // no PID file
  }
  return {name, mode, paths, pidFile, pid}
}

/** Sends SIGTERM and waits for the process to go; returns the PID stopped, or null if none ran. */
export async function stopDaemon(opts: DaemonLocator & {timeoutMs?: number}): Promise<{name: string; pid: number | null}> {
  const {name, pid} = locate(opts)
  if (pid === null) return {name, pid: null}
  process.kill(pid, 'SIGTERM')
  const deadline = Date.now() + (opts.timeoutMs ?? 10000)
  while (processAlive(pid)) {
    if (Date.now() > deadline) throw new Error(`${name} (pid ${pid}) did not stop within ${(opts.timeoutMs ?? 10000) / 1000}s`)
    await new Promise((r) => setTimeout(r, 50))
  }
  return {name, pid}
}
