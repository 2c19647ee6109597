import {ClientCommand} from '../../lib/cli/base-command.js'
import type {NwFilterBindingInfo} from '../../lib/client/nwfilters.js'

export default class NwFilterBindingList extends ClientCommand {
  static override summary = 'List filter bindings: each running guest tap with a <filterref> and its filter'
  static override examples = ['<%= config.bin %> nwfilter binding-list', '<%= config.bin %> nwfilter binding-list --json -c nwfilter:///system']

  async run(): Promise<NwFilterBindingInfo[]> {
    await this.parse(NwFilterBindingList)
    const {listNwFilterBindings} = await import('../../lib/client/nwfilters.js')
    const list = await listNwFilterBindings(await this.connection())
    if (!this.jsonEnabled()) {
      const {table} = await import('../../lib/cli/table.js')
      this.log(
        table(
          ['Port Dev', 'Filter'],
          list.map((b) => [b.portdev, b.filtername]),
        ),
      )
    }
    return list
  }
}
