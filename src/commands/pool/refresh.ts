import {Args} from '@oclif/core'
import {ClientCommand} from '../../lib/cli/base-command.js'

export default class PoolRefresh extends ClientCommand {
  static override summary = "Re-read a storage pool's volumes and sizes"
  static override examples = ['<%= config.bin %> pool refresh images', '<%= config.bin %> pool refresh images -c qemu:///system --json']
  static override args = {pool: Args.string({description: 'pool name or UUID', required: true})}

  async run(): Promise<{name: string}> {
    const {args} = await this.parse(PoolRefresh)
    const {poolOp} = await import('../../lib/client/storage-actions.js')
    const name = await poolOp(await this.connection(), args.pool, 'refresh', 0)
    this.log(`Pool ${name} refreshed`)
    return {name}
  }
}
