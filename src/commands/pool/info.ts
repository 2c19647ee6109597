import {Args} from '@oclif/core'
import {ClientCommand} from '../../lib/cli/base-command.js'
import type {PoolSummary} from '../../lib/client/storage.js'

export default class PoolInfo extends ClientCommand {
  static override summary = "Show a storage pool's state, autostart and sizes"
  static override examples = ['<%= config.bin %> pool info default', '<%= config.bin %> pool info default --json -c qemu:///system']
  static override args = {pool: Args.string({description: 'pool name or UUID', required: true})}

  async run(): Promise<PoolSummary> {
    const {args} = await this.parse(PoolInfo)
    const {findPool, poolSummary, humanSize} = await import('../../lib/client/storage.js')
    const conn = await this.connection()
    const p = await poolSummary(conn, await findPool(conn, args.pool))
    if (!this.jsonEnabled()) {
      const {keyValues} = await import('../../lib/cli/table.js')
      this.log(
        keyValues([
          ['Name', p.name],
          ['UUID', p.uuid],
          ['State', p.state],
          ['Persistent', p.persistent],
          ['Autostart', p.autostart],
          ['Capacity', humanSize(p.capacity)],
          ['Allocation', humanSize(p.allocation)],
          ['Available', humanSize(p.available)],
        ]),
      )
    }
    return p
  }
}
