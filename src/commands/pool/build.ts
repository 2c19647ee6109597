import {Args, Flags} from '@oclif/core'
import {ClientCommand} from '../../lib/cli/base-command.js'

export default class PoolBuild extends ClientCommand {
  static override summary = 'Build a storage pool (make its directory; for fs and disk pools also the filesystem or label)'
  static override examples = ['<%= config.bin %> pool build images', '<%= config.bin %> pool build fspool --overwrite -c qemu:///system']
  static override args = {pool: Args.string({description: 'pool name or UUID', required: true})}
  static override flags = {
    overwrite: Flags.boolean({description: 'format the device even if it holds data', exclusive: ['no-overwrite']}),
    'no-overwrite': Flags.boolean({description: 'refuse a device that already holds a filesystem or label'}),
  }

  async run(): Promise<{name: string}> {
    const {args, flags} = await this.parse(PoolBuild)
    const {poolOp, BuildFlags} = await import('../../lib/client/storage-actions.js')
    const name = await poolOp(
      await this.connection(),
      args.pool,
      'build',
      flags.overwrite ? BuildFlags.OVERWRITE : flags['no-overwrite'] ? BuildFlags.NO_OVERWRITE : 0,
    )
    this.log(`Pool ${name} built`)
    return {name}
  }
}
