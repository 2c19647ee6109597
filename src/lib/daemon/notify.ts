/**
 * Readiness for systemd (Type=notify). Node cannot send on a datagram UNIX socket, so the daemon
 * asks systemd-notify to send READY=1 with our PID as the main PID (the units set NotifyAccess=all).
 */
import {execFile} from 'node:child_process'

export function notifyReady(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  if (!env.NOTIFY_SOCKET) return Promise.resolve()
  return new Promise((resolve) => {
    execFile('systemd-notify', ['--ready', `--pid=${process.pid}`, `--status=serving`], {env}, () => resolve())
  })
}
