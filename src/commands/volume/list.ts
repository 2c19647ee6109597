import {Args} from '@oclif/core'
import {ClientCommand} from '../../lib/cli/base-command.js'
import type {VolSummary} from '../../lib/client/storage.js'

export default class VolumeList extends ClientCommand {
  static override summary = "List a storage pool's volumes with their paths, types and sizes"
  static override examples = ['<%= config.bin %> volume list default', '<%= config.bin %> volume list default --json -c qemu:///system']
  static override args = {pool: Args.string({description: 'pool name or UUID', required: true})}

  async run(): Promise<VolSummary[]> {
    const {args} = await this.parse(VolumeList)
    const {listVols, humanSize} = await import('../../lib/client/storage.js')
    const list = await listVols(await this.connection(), args.pool)
    if (!this.jsonEnabled()) {
      const {table} = await import('../../lib/cli/table.js')
      this.log(
        table(
          ['Name', 'Path', 'Type', 'Capacity', 'Allocation'],
          list.map((v) => [v.name, v.path, v.type, humanSize(v.capacity), humanSize(v.allocation)]),
        ),
      )
    }
    return list
  }
}
