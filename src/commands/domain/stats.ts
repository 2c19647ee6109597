import {Args} from '@oclif/core'
import {ClientCommand} from '../../lib/cli/base-command.js'
import type {DomainStatsRecord} from '../../lib/client/domains.js'

export default class DomainStats extends ClientCommand {
  static override summary = 'Show statistics of domains (state, CPU time, balloon, vCPUs), like virsh domstats'
  static override examples = [
    '<%= config.bin %> domain stats',
    '<%= config.bin %> domain stats web01 db01 -c qemu:///system',
    '<%= config.bin %> domain stats web01 --json',
  ]
  static override args = {domain: Args.string({description: 'domain name, ID or UUID (default: all domains)'})}
  static override strict = false

  async run(): Promise<DomainStatsRecord[]> {
    const {argv} = await this.parse(DomainStats)
    const conn = await this.connection()
    const doms = await Promise.all(argv.map((a) => this.domain(String(a))))
    const {domainStats} = await import('../../lib/client/domains.js')
    const out = await domainStats(conn, doms)
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
