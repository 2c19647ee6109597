/**
 * Applying bindings to the host: `nft -f` transactions on vctl's `bridge vctl_nwfilter` table
 * (nft.ts writes the scripts). Each tap's chains are remembered so they can be removed or replaced.
 */
import {execFile} from 'node:child_process'
import {existsSync} from 'node:fs'

import {ErrorCode, VirError} from '../../errors.js'
import {NWFILTER_DOMAIN} from '../../conf/nwfilter.js'
import type {ConcreteRule} from './instantiate.js'
import {NFT_TABLE, baseScript, bindingScript, chainBase, tapChains, teardownScript} from './nft.js'

const NFT = ['/usr/sbin/nft', '/sbin/nft', '/usr/bin/nft'].find((p) => existsSync(p)) ?? 'nft'

function nft(args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = execFile(NFT, args, {timeout: 30000, maxBuffer: 16 << 20}, (err, stdout, stderr) => {
      if (!err) return resolve(stdout)
      const detail = `nft ${args.join(' ')}: ${stderr.trim() || err.message}`
      reject(
        new VirError(ErrorCode.BUILD_FIREWALL, NWFILTER_DOMAIN, `Error while building firewall: ${detail}`, {
          str1: 'Error while building firewall: %s',
          str2: detail,
        }),
      )
    })
    if (input !== undefined) c.stdin?.end(input + '\n')
  })
}

export class Firewall {
  private readonly chains = new Map<string, string[]>()
  private ready = false

  /**
   * Takes over the chains a previous daemon made for taps `devs` (found by name in the table), so
   * applying a binding again replaces them and deleting it removes them.
   */
  async adopt(devs: string[]): Promise<void> {
    const text = await nft(['list', 'chains', 'bridge', NFT_TABLE]).catch(() => '')
    const names = [...text.matchAll(/^\s*chain ([^\s{]+) \{/gm)].map((m) => m[1].replace(/^"|"$/g, ''))
    for (const dev of devs) {
      const b = chainBase(dev)
      const mine = names.filter((n) => n === `${b}-out` || n === `${b}-in` || n.startsWith(`${b}-out-`) || n.startsWith(`${b}-in-`))
      if (mine.length) this.chains.set(dev, mine)
    }
  }

  private async base(): Promise<void> {
    if (this.ready) return
    await nft(['-f', '-'], baseScript())
    this.ready = true
  }

  /** Applies (or replaces) the rules of tap `dev`. */
  async apply(dev: string, rules: ConcreteRule[]): Promise<void> {
    await this.base()
    await this.remove(dev)
    const script = bindingScript(dev, rules)
    await nft(['-f', '-'], script)
    this.chains.set(dev, tapChains(dev, rules))
  }

  /** Removes the rules of tap `dev` (nothing when it has none). */
  async remove(dev: string): Promise<void> {
    const chains = this.chains.get(dev)
    if (!chains) return
    this.chains.delete(dev)
    const script = teardownScript(dev, chains)
    try {
      await nft(['-f', '-'], script)
    } catch {
      // part of it was gone already: remove what is left, one step at a time
      for (const line of script.split('\n')) await nft(['-f', '-'], line).catch(() => undefined)
    }
  }

  has(dev: string): boolean {
    return this.chains.has(dev)
  }
}
