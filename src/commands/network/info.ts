import {Args} from '@oclif/core'
import {ClientCommand} from '../../lib/cli/base-command.js'
import type {NetworkInfo} from '../../lib/client/networks.js'

export default class NetworkInfoCommand extends ClientCommand {
  static override summary = 'Show a virtual network: UUID, state, persistence, autostart, bridge'
  static override examples = ['<%= config.bin %> network info default', '<%= config.bin %> network info default --json -c network:///system']
  static override args = {network: Args.string({description: 'network name or UUID', required: true})}

  async run(): Promise<NetworkInfo> {
    const {args} = await this.parse(NetworkInfoCommand)
    const {findNetwork, networkInfo} = await import('../../lib/client/networks.js')
    const conn = await this.connection()
    const info = await networkInfo(conn, await findNetwork(conn, args.network))
    const yn = (b: boolean) => (b ? 'yes' : 'no')
    const rows: Array<[string, string]> = [
      ['Name', info.name],
      ['UUID', info.uuid],
      ['Active', yn(info.active)],
      ['Persistent', yn(info.persistent)],
      ['Autostart', yn(info.autostart)],
      ['Bridge', info.bridge ?? ''],
    ]
    for (const [k, v] of rows) this.log(`${`${k}:`.padEnd(16)}${v}`)
    return info
  }
}
