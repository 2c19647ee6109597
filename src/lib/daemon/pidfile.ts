/**
 * PID file claim. The file is created exclusively; an existing file whose process is alive means
 * another daemon owns these paths. A file left by a dead daemon (gone, or a zombie its parent has
 * not reaped yet) is replaced.
 */
import {closeSync, fchmodSync, fsyncSync, openSync, readFileSync, unlinkSync, writeSync} from 'node:fs'
import {dirname} from 'node:path'
import {createMissing} from './dirs.js'

export class PidFileBusyError extends Error {
  constructor(
    readonly pidFile: string,
    readonly pid: number,
  ) {
    super(`another daemon (pid ${pid}) is already running with PID file ${pidFile}`)
  }
}

export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false
  }
  return !isZombie(pid)
}

/** A killed process stays a zombie until its parent reaps it: it answers kill(pid, 0) but is dead. */
function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)
    return state === 'Z' || state === 'X'
  } catch {
    return false
  }
}

function readPid(file: string): number | undefined {
  try {
    const n = Number.parseInt(readFileSync(file, 'utf8').trim(), 10)
    return Number.isFinite(n) ? n : undefined
  } catch {
    return undefined
  }
}

/** Claims the PID file for this process; throws PidFileBusyError when a live daemon holds it. */
export function claimPidFile(file: string): () => void {
  createMissing(dirname(file))
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o644)
      fchmodSync(fd, 0o644) // readable by all, as libvirt's, whatever the umask
      writeSync(fd, `${process.pid}\n`)
      fsyncSync(fd)
      closeSync(fd)
      return () => {
        if (readPid(file) === process.pid) {
          try {
            unlinkSync(file)
          } catch {
            // already gone
          }
        }
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      const pid = readPid(file)
      if (pid !== undefined && pid !== process.pid && processAlive(pid)) throw new PidFileBusyError(file, pid)
      try {
        unlinkSync(file)
      } catch {
        // raced with another remover; retry
      }
    }
  }
  throw new Error(`could not claim PID file ${file}`)
}
