/** Runs the host tools the network driver drives (ip, nft, dnsmasq), with their output on failure. */
import {execFile, type ExecFileException} from 'node:child_process'
import {accessSync, constants} from 'node:fs'

import {ErrorDomain, errors} from '../../errors.js'

export interface RunResult {
  stdout: string
  stderr: string
}

/** Runs `cmd args`; rejects with a SYSTEM_ERROR naming the command and its stderr. */
export function run(cmd: string, args: string[], input?: string): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, {timeout: 30000, maxBuffer: 16 * 1024 * 1024}, (err: ExecFileException | null, stdout, stderr) => {
      if (err) {
        const missing = err.code === 'ENOENT'
        const why = missing
          ? `${cmd} not found: install it (Debian: ${cmd === 'dnsmasq' ? 'dnsmasq-base' : cmd === 'nft' ? 'nftables' : 'iproute2'})`
          : stderr.trim() || err.message
        reject(errors.systemError(ErrorDomain.NETWORK, `Cannot run ${[cmd, ...args].join(' ')}: ${why}`))
        return
      }
      resolve({stdout, stderr})
    })
    if (input !== undefined) child.stdin?.end(input)
  })
}

/** Like run(), but resolves false instead of failing. */
export async function tryRun(cmd: string, args: string[], input?: string): Promise<boolean> {
  try {
    await run(cmd, args, input)
    return true
  } catch {
    return false
  }
}

/** Where a tool lives, or undefined (checked before a network starts, so nothing is half made). */
export function findTool(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':').concat(['/usr/sbin', '/sbin'])) {
    const p = `${dir}/${name}`
    try {
      accessSync(p, constants.X_OK)
      return p
    } catch {
      /* next */
    }
  }
  return undefined
}
