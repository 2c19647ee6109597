import {Flags} from '@oclif/core'
import {ClientCommand} from '../../lib/cli/base-command.js'
import type {PoolSummary} from '../../lib/client/storage.js'

export default class PoolList extends ClientCommand {
  static override summary = 'List storage pools (active ones; all with --all)'
  static override examples = ['<%= config.bin %> pool list', '<%= config.bin %> pool list --all --json -c qemu:///system']
  static override flags = {all: Flags.boolean({char: 'a', description: 'include inactive pools'})}

  async run(): Promise<PoolSummary[]> {
    const {flags} = await this.parse(PoolList)
    const {listPools, humanSize} = await import('../../lib/client/storage.js')
    const list = await listPools(await this.connection(), flags.all)
    if (!this.jsonEnabled()) {
      const {table} = await import('../../lib/cli/table.js')
      const yn = (b: boolean) => (b ? 'yes' : 'no')
      this.log(
        table(
          ['Name', 'State', 'Autostart', 'Persistent', 'Capacity', 'Allocation', 'Available'],
          list.map((p) => [
            p.name,
            p.state,
            yn(p.autostart),
            yn(p.persistent),
            humanSize(p.capacity),
            humanSize(p.allocation),
            humanSize(p.available),
          ]),
        ),
      )
    }
    return list
  }
}
