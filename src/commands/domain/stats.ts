import {Args} from '@oclif/core'
import {ClientCommand} from '../../lib/cli/base-command.js'
import {remote} from '../../lib/rpc/programs/remote.js'

export default class DomainStats extends ClientCommand {
  static override summary = 'Show statistics of domains (state, CPU time, balloon, vCPUs), like virsh domstats'
  static override args = {domain: Args.string({description: 'domain name, ID or UUID (default: all domains)'})}
  static override strict = false

  async run(): Promise<Array<{name: string; stats: Record<string, string | number | boolean>}>> {
    const {argv} = await this.parse(DomainStats)
    const conn = await this.connection()
    const doms = await Promise.all((argv as string[]).map((a) => this.domain(a)))
    const {retStats} = await conn.call(remote.procs.CONNECT_GET_ALL_DOMAIN_STATS, {doms, stats: 0, flags: 0})
    const out = retStats.map((r) => ({
      name: r.dom.name,
      stats: Object.fromEntries(r.params.map((p) => [p.field, typeof p.value === 'bigint' ? p.value.toString() : p.value])),
    }))
    if (!this.jsonEnabled()) {
      for (const d of out) {
        this.log(`Domain: '${d.name}'`)
        for (const [k, v] of Object.entries(d.stats)) this.log(`  ${k}=${v}`)
        this.log('')
      }
    }
    return out
  }
}
