import {Flags} from '@oclif/core'
import {ClientCommand} from '../../lib/cli/base-command.js'
import type {NetworkSummary} from '../../lib/client/networks.js'

export default class NetworkList extends ClientCommand {
  static override summary = 'List virtual networks (active ones; all with --all)'
  static override examples = [
    '<%= config.bin %> network list',
    '<%= config.bin %> network list --all -c qemu:///system',
    '<%= config.bin %> network list --all --json -c network:///system',
  ]
  static override flags = {
    all: Flags.boolean({char: 'a', description: 'include inactive networks'}),
  }

  async run(): Promise<NetworkSummary[]> {
    const {flags} = await this.parse(NetworkList)
    const {listNetworks} = await import('../../lib/client/networks.js')
    const list = await listNetworks(await this.connection(), flags.all)
    if (!this.jsonEnabled()) {
      const {table} = await import('../../lib/cli/table.js')
      const yn = (b: boolean) => (b ? 'yes' : 'no')
      this.log(
        table(
          ['Name', 'State', 'Autostart', 'Persistent'],
          list.map((n) => [n.name, n.active ? 'active' : 'inactive', yn(n.autostart), yn(n.persistent)]),
        ),
      )
    }
    return list
  }
}
