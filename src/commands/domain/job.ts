import {Args, Flags} from '@oclif/core'
import {ClientCommand} from '../../lib/cli/base-command.js'

export default class DomainJob extends ClientCommand {
  static override summary = 'Show (or abort) the job a domain runs, such as a migration'
  static override examples = [
    '<%= config.bin %> domain job web01',
    '<%= config.bin %> domain job web01 --completed',
    '<%= config.bin %> domain job web01 --abort',
  ]
  static override args = {domain: Args.string({description: 'domain name or UUID', required: true})}
  static override flags = {
    completed: Flags.boolean({description: 'the last completed job instead of the running one'}),
    abort: Flags.boolean({description: 'abort the running job'}),
  }

  async run(): Promise<Record<string, string | number | boolean>> {
    const {args, flags} = await this.parse(DomainJob)
    const dom = await this.domain(args.domain)
    const conn = await this.connection()
    const {abortJob, getJobStats, jobRecord, JOB_TYPE_NAMES} = await import('../../lib/client/migration.js')
    if (flags.abort) {
      await abortJob(conn, dom)
      this.log(`Job of domain '${dom.name}' aborted`)
      return {aborted: true}
    }
    const stats = await getJobStats(conn, dom, flags.completed ? 1 : 0)
    const rec = jobRecord(stats)
    this.log(`${'Job type:'.padEnd(20)}${JOB_TYPE_NAMES[stats.type] ?? stats.type}`)
    for (const [k, v] of Object.entries(rec)) if (k !== 'type') this.log(`${`${k}:`.padEnd(20)}${String(v)}`)
    return rec
  }
}
