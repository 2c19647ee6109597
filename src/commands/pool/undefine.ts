import {Args} from '@oclif/core'
import {ClientCommand} from '../../lib/cli/base-command.js'

export default class PoolUndefine extends ClientCommand {
  static override summary = "Remove an inactive storage pool's definition"
  static override examples = ['<%= config.bin %> pool undefine images', '<%= config.bin %> pool undefine images -c qemu:///system --json']
  static override args = {pool: Args.string({description: 'pool name or UUID', required: true})}

  async run(): Promise<{name: string}> {
    const {args} = await this.parse(PoolUndefine)
    const {poolOp} = await import('../../lib/client/storage-actions.js')
    const name = await poolOp(await this.connection(), args.pool, 'undefine', 0)
    this.log(`Pool ${name} has been undefined`)
    return {name}
  }
}
