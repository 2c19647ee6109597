import {Args} from '@oclif/core'
import {ClientCommand} from '../../lib/cli/base-command.js'

export default class PoolDestroy extends ClientCommand {
  static override summary = 'Stop (deactivate) a storage pool; its data stays'
  static override examples = ['<%= config.bin %> pool destroy images', '<%= config.bin %> pool destroy images -c qemu:///system --json']
  static override args = {pool: Args.string({description: 'pool name or UUID', required: true})}

  async run(): Promise<{name: string}> {
    const {args} = await this.parse(PoolDestroy)
    const {poolOp} = await import('../../lib/client/storage-actions.js')
    const name = await poolOp(await this.connection(), args.pool, 'destroy', 0)
    this.log(`Pool ${name} destroyed`)
    return {name}
  }
}
