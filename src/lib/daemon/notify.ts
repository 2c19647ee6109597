/**
 * Readiness for systemd (Type=notify): READY=1 with our PID as the main PID, sent from this process
 * (src/lib/os/sd-notify.ts). Should that fail (no koffi for this platform), systemd-notify sends it
 * instead, from a child process (the units set NotifyAccess=all for that case).
 */
import {execFile} from 'node:child_process'

export async function notifyReady(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const socket = env.NOTIFY_SOCKET
  if (!socket) return
  try {
    const {sdNotify} = await import('../os/sd-notify.js')
    sdNotify(socket, `READY=1\nSTATUS=serving\nMAINPID=${process.pid}\n`)
    return
  } catch {
    // below: the same message through systemd-notify
  }
  await new Promise<void>((resolve) => {
    execFile('systemd-notify', ['--ready', `--pid=${process.pid}`, `--status=serving`], {env}, () => resolve())
  })
}
