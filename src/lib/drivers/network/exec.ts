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
  const bin = findTool(cmd) ?? cmd
  return new Promise((resolve, reject) => {
    const child = execFile(bin, args, {timeout: 30000, maxBuffer: 16 * 1024 * 1024}, (err: ExecFileException | null, stdout, stderr) => {
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

const found = new Map<string, string>()

/**
 * Where a system tool lives, or undefined (checked before a network starts, so nothing is half
 * made). The system directories come first, as libvirt uses the paths it was built with: a PATH
 * with node_modules/.bin in front has other programs called `nft`.
 */
export function findTool(name: string): string | undefined {
  if (name.includes('/')) return name
  const hit = found.get(name)
  if (hit) return hit
  for (const dir of ['/usr/sbin', '/sbin', '/usr/bin', '/bin', ...(process.env.PATH ?? '').split(':').filter(Boolean)]) {
    const p = `${dir}/${name}`
    try {
      accessSync(p, constants.X_OK)
      found.set(name, p)
      return p
    } catch {
      /* next */
    }
  }
  return undefined
}
