/**
 * One probe QEMU (`EMULATOR -machine none,accel=ACCEL -nodefaults -no-user-config -display none -qmp stdio`)
 * and its QMP session for the capability probe: `session` gets an `exec` for QMP commands (a QMP error
 * rejects with libvirt's probing error) and the greeting; QEMU is told to quit afterwards and killed if
 * it does not go, and an early exit rejects with what QEMU printed.
 */
import {spawn} from 'node:child_process'
import {ErrorCode, ErrorDomain, VirError} from '../../errors.js'

export type QmpExec = (execute: string, args?: Record<string, unknown>) => Promise<unknown>

export interface QmpGreeting {
  version?: {qemu: {major: number; minor: number; micro: number}; package?: string}
}

export async function withProbeQemu<T>(
  emulator: string,
  accel: string,
  timeoutMs: number,
  session: (exec: QmpExec, greeting: QmpGreeting) => Promise<T>,
): Promise<T> {
  const args = ['-machine', `none,accel=${accel}`, '-nodefaults', '-no-user-config', '-display', 'none', '-qmp', 'stdio']
  const child = spawn(emulator, args, {stdio: ['pipe', 'pipe', 'pipe'], env: {LC_ALL: 'C', PATH: process.env.PATH ?? '/usr/bin:/bin'}})
  let stderr = ''
  // QEMU may be gone before a write lands (EPIPE): its exit is what reports that.
  child.stdin.on('error', () => {})
  child.stderr.setEncoding('utf8')
  child.stderr.on('data', (d: string) => {
    if (stderr.length < 8192) stderr += d
  })
  const replies = new Map<string, (msg: Record<string, unknown>) => void>()
  let greeting: QmpGreeting | undefined
  let greetingWaiter: ((g: QmpGreeting) => void) | undefined
  let buf = ''
  child.stdout.setEncoding('utf8')
  child.stdout.on('data', (d: string) => {
    buf += d
    let nl: number
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).trim()
      buf = buf.slice(nl + 1)
      if (!line) continue
      let msg: Record<string, unknown>
      try {
        msg = JSON.parse(line) as Record<string, unknown>
      } catch {
        continue
      }
      if ('QMP' in msg) {
        greeting = msg.QMP as QmpGreeting
        greetingWaiter?.(greeting)
      } else if (typeof msg.id === 'string') replies.get(msg.id)?.(msg)
    }
  })
  const exited = new Promise<never>((_, reject) => {
    child.on('error', (err) => reject(new VirError(ErrorCode.SYSTEM_ERROR, ErrorDomain.QEMU, `Cannot check QEMU binary ${emulator}: ${err.message}`)))
    child.on('exit', (code, sig) =>
      reject(
        new VirError(
          ErrorCode.INTERNAL_ERROR,
          ErrorDomain.QEMU,
          `internal error: Failed to probe capabilities for ${emulator}: exited with ${sig ?? code}: ${stderr.trim()}`,
        ),
      ),
    )
  })
  exited.catch(() => {})
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
  let n = 0
  const exec: QmpExec = async (execute, cmdArgs) => {
    const id = `probe-${n++}`
    const reply = new Promise<Record<string, unknown>>((resolve) => replies.set(id, resolve))
    child.stdin.write(JSON.stringify({execute, arguments: cmdArgs, id}) + '\n')
    const msg = await Promise.race([reply, exited])
    replies.delete(id)
    if ('error' in msg) {
      const e = msg.error as {desc?: string}
      throw new VirError(ErrorCode.INTERNAL_ERROR, ErrorDomain.QEMU, `internal error: probing ${emulator}: ${execute}: ${e.desc ?? 'error'}`)
    }
    return msg.return
  }
  try {
    const g = await Promise.race([greeting ? Promise.resolve(greeting) : new Promise<QmpGreeting>((r) => (greetingWaiter = r)), exited])
    await exec('qmp_capabilities')
    const result = await session(exec, g)
    child.stdin.write(JSON.stringify({execute: 'quit'}) + '\n')
    return result
  } finally {
    clearTimeout(timer)
    // The probe QEMU quits on its own; make sure it is gone even on errors.
    if (child.exitCode === null && child.signalCode === null) {
      const t = setTimeout(() => child.kill('SIGKILL'), 2000)
      await new Promise<void>((r) => child.once('exit', () => r()))
      clearTimeout(t)
    }
  }
}
