import {Args} from '@oclif/core'
import {ClientCommand} from '../../lib/cli/base-command.js'

export default class NwFilterUndefine extends ClientCommand {
  static override summary = 'Remove a network filter (refused while a running guest uses it)'
  static override examples = [
    '<%= config.bin %> nwfilter undefine my-filter',
    '<%= config.bin %> nwfilter undefine my-filter -c nwfilter:///system --json',
  ]
  static override args = {filter: Args.string({description: 'filter name or UUID', required: true})}

  async run(): Promise<{name: string}> {
    const {args} = await this.parse(NwFilterUndefine)
    const {undefineNwFilter} = await import('../../lib/client/nwfilters.js')
    await undefineNwFilter(await this.connection(), args.filter)
    this.log(`Network filter ${args.filter} undefined`)
    return {name: args.filter}
  }
}
