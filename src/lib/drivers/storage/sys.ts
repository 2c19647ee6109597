/**
 * Host commands the fs and disk pools run (mount, umount, mkfs, blkid, parted), with libvirt's
 * error for a failed child process, and a look at /proc/self/mounts.
 */
import {execFile} from 'node:child_process'
import * as fsp from 'node:fs/promises'
import {promisify} from 'node:util'

import {ErrorCode, ErrorDomain, VirError, errors} from '../../errors.js'

const run = promisify(execFile)
const S = ErrorDomain.STORAGE

/** Runs a command; its stdout, or libvirt's "Child process (...) unexpected exit status N: stderr" error. */
export async function runCmd(bin: string, args: string[], okCodes: number[] = [0]): Promise<{stdout: string; code: number}> {
  try {
    const {stdout} = await run(bin, args, {maxBuffer: 4 << 20})
    return {stdout, code: 0}
  } catch (err) {
    const e = err as {stdout?: string; stderr?: string; code?: number | string}
    if (e.code === 'ENOENT') throw errors.systemError(S, `Cannot find '${bin}' in path: No such file or directory`)
    if (typeof e.code === 'number' && okCodes.includes(e.code)) return {stdout: e.stdout ?? '', code: e.code}
    throw errors.internal(S, `Child process (${[bin, ...args].join(' ')}) unexpected exit status ${String(e.code)}: ${(e.stderr ?? '').trim()}`)
  }
}

/** Whether something is mounted on `target`. */
export async function isMounted(target: string): Promise<boolean> {
  const mounts = await fsp.readFile('/proc/self/mounts', 'utf8')
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)))
  return mounts.split('\n').some((l) => unescape(l.split(' ')[1] ?? '') === target)
}

/** The filesystem type (or partition-table type) blkid finds on a device, undefined when none. */
export async function probeDevice(device: string, tag: 'TYPE' | 'PTTYPE'): Promise<string | undefined> {
  const {stdout, code} = await runCmd('blkid', ['-p', '-o', 'value', '-s', tag, device], [2])
  return code === 0 && stdout.trim() ? stdout.trim() : undefined
}

/** VIR_ERR_STORAGE_POOL_BUILT (76). */
export function poolBuilt(detail: string): VirError {
  return new VirError(76, S, `Storage pool already built: ${detail}`, {str1: 'Storage pool already built: %s', str2: detail})
}

/** VIR_ERR_OPERATION_UNSUPPORTED with libvirt's text. */
export function unsupported(detail: string): VirError {
  return new VirError(ErrorCode.OPERATION_UNSUPPORTED, S, `Operation not supported: ${detail}`, {str1: 'Operation not supported: %s', str2: detail})
}

export async function requireDevice(device: string | undefined, block: boolean): Promise<string> {
  if (device === undefined) throw errors.invalidArg(S, 'missing source device')
  try {
    const st = await fsp.stat(device)
    if (block && !st.isBlockDevice()) throw errors.invalidArg(S, `source device '${device}' is not a block device`)
  } catch (err) {
    if (err instanceof VirError) throw err
    throw errors.invalidArg(S, `Source device does not exist when mounting '${device}'`)
  }
  return device
}
