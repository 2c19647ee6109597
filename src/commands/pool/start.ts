import {Args} from '@oclif/core'
import {ClientCommand} from '../../lib/cli/base-command.js'

export default class PoolStart extends ClientCommand {
  static override summary = 'Start (activate) a storage pool'
  static override examples = ['<%= config.bin %> pool start images', '<%= config.bin %> pool start images -c qemu:///system --json']
  static override args = {pool: Args.string({description: 'pool name or UUID', required: true})}

  async run(): Promise<{name: string}> {
    const {args} = await this.parse(PoolStart)
    const {poolOp} = await import('../../lib/client/storage-actions.js')
    const name = await poolOp(await this.connection(), args.pool, 'start', 0)
    this.log(`Pool ${name} started`)
    return {name}
  }
}
