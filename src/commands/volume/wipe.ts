import {Args, Flags} from '@oclif/core'
import {ClientCommand} from '../../lib/cli/base-command.js'
import {WIPE_ALGORITHMS} from '../../lib/client/storage-actions.js'

export default class VolumeWipe extends ClientCommand {
  static override summary = "Overwrite a volume's data (zeros, or another algorithm through scrub)"
  static override examples = [
    '<%= config.bin %> volume wipe disk1 --pool default',
    '<%= config.bin %> volume wipe disk1 --pool default --algorithm zero --json',
  ]
  static override args = {volume: Args.string({description: 'volume name (with --pool), key or path', required: true})}
  static override flags = {
    pool: Flags.string({description: 'pool of the volume'}),
    algorithm: Flags.string({description: 'wiping algorithm', options: [...WIPE_ALGORITHMS], default: 'zero'}),
  }

  async run(): Promise<{name: string; algorithm: string}> {
    const {args, flags} = await this.parse(VolumeWipe)
    const {wipeVol} = await import('../../lib/client/storage-actions.js')
    const name = await wipeVol(await this.connection(), args.volume, flags.pool, (WIPE_ALGORITHMS as readonly string[]).indexOf(flags.algorithm))
    this.log(`Vol ${name} wiped`)
    return {name, algorithm: flags.algorithm}
  }
}
