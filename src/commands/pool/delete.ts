import {Args} from '@oclif/core'
import {ClientCommand} from '../../lib/cli/base-command.js'

export default class PoolDelete extends ClientCommand {
  static override summary = "Delete a storage pool's resources (its directory, filesystem or label)"
  static override examples = ['<%= config.bin %> pool delete images', '<%= config.bin %> pool delete images -c qemu:///system --json']
  static override args = {pool: Args.string({description: 'pool name or UUID', required: true})}

  async run(): Promise<{name: string}> {
    const {args} = await this.parse(PoolDelete)
    const {poolOp} = await import('../../lib/client/storage-actions.js')
    const name = await poolOp(await this.connection(), args.pool, 'delete', 0)
    this.log(`Pool ${name} deleted`)
    return {name}
  }
}
