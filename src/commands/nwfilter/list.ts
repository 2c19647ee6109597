import {ClientCommand} from '../../lib/cli/base-command.js'
import type {NwFilterInfo} from '../../lib/client/nwfilters.js'

export default class NwFilterList extends ClientCommand {
  static override summary = 'List network filters (the standard ones and those you defined)'
  static override examples = [
    '<%= config.bin %> nwfilter list',
    '<%= config.bin %> nwfilter list -c nwfilter:///system',
    '<%= config.bin %> nwfilter list --json -c qemu:///system',
  ]

  async run(): Promise<NwFilterInfo[]> {
    await this.parse(NwFilterList)
    const {listNwFilters} = await import('../../lib/client/nwfilters.js')
    const list = await listNwFilters(await this.connection())
    if (!this.jsonEnabled()) {
      const {table} = await import('../../lib/cli/table.js')
      this.log(
        table(
          ['UUID', 'Name'],
          list.map((f) => [f.uuid, f.name]),
        ),
      )
    }
    return list
  }
}
