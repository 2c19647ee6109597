/** A background process whose output a test waits on, however fast the machine is. */
import {spawn, type ChildProcess} from 'node:child_process'
import {waitFor} from './daemon.js'

/** A process started in the background whose output is collected as it comes. */
export interface Background {
  child: ChildProcess
  /** Everything written to stdout so far. */
  stdout: () => string
  /** Everything written to stderr so far. */
  stderr: () => string
  /** Resolves with the exit code (null when killed by a signal) once the process has exited. */
  exited: Promise<number | null>
  /** Waits (up to `timeoutMs`) until stdout contains `needle`; rejects with the output so far. */
  waitOutput: (needle: string, timeoutMs?: number) => Promise<void>
}

/** Starts `cmd args` in the background (stdin ignored); the caller ends it (child.kill, or it exits on its own). */
export function background(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Background {
  const child = spawn(cmd, args, {stdio: ['ignore', 'pipe', 'pipe'], env: {...process.env, ...env}})
  let out = ''
  let err = ''
  child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s))
  child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s))
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)))
  let code: number | null | undefined
  void exited.then((c) => (code = c))
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitOutput: async (needle, timeoutMs = 60000) => {
      try {
        await waitFor(
          `'${needle}' from ${cmd}`,
          () => {
            if (out.includes(needle)) return true
            if (code !== undefined) throw new Error(`${cmd} exited (${String(code)}) before printing '${needle}'`)
            return false
          },
          timeoutMs,
        )
      } catch (e) {
        throw new Error(`${String(e)}\nstdout: ${out.slice(-2000)}\nstderr: ${err.slice(-2000)}`, {cause: e})
      }
    },
  }
}
