import {Args, Flags} from '@oclif/core'
import {ClientCommand} from '../../lib/cli/base-command.js'
import type {DomainStatsRecord} from '../../lib/client/domains.js'

const GROUPS = ['state', 'cpu-total', 'balloon', 'vcpu', 'interface', 'block', 'perf', 'iothread', 'memory', 'dirtyrate', 'vm'] as const

export default class DomainStats extends ClientCommand {
  static override summary = 'Show statistics of domains (state, CPU, balloon, vCPUs, interfaces, disks), like virsh domstats'
  static override examples = [
    '<%= config.bin %> domain stats',
    '<%= config.bin %> domain stats web01 db01 -c qemu:///system',
    '<%= config.bin %> domain stats web01 --group block --group interface',
    '<%= config.bin %> domain stats web01 --group state --json',
  ]
  static override args = {domain: Args.string({description: 'domain name, ID or UUID (default: all domains)'})}
  static override flags = {
    group: Flags.option({description: 'only this group of statistics (repeatable; default: all)', options: GROUPS, multiple: true})(),
  }
  static override strict = false

  async run(): Promise<DomainStatsRecord[]> {
    const {argv, flags} = await this.parse(DomainStats)
    const conn = await this.connection()
    const doms = await Promise.all(argv.map((a) => this.domain(String(a))))
    const {domainStatsByGroup} = await import('../../lib/client/guest-stats.js')
    const out = await domainStatsByGroup(conn, doms, flags.group ?? [])
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
