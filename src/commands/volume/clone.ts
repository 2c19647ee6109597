import {Args, Flags} from '@oclif/core'
import {ClientCommand} from '../../lib/cli/base-command.js'
import type {VolSummary} from '../../lib/client/storage.js'

export default class VolumeClone extends ClientCommand {
  static override summary = 'Copy a volume into a new one in the same pool'
  static override examples = [
    '<%= config.bin %> volume clone base.qcow2 copy.qcow2 --pool default',
    '<%= config.bin %> volume clone /var/lib/libvirt/images/a a2 --json',
  ]
  static override args = {
    volume: Args.string({description: 'source volume: name (with --pool), key or path', required: true}),
    name: Args.string({description: 'name of the copy', required: true}),
  }
  static override flags = {pool: Flags.string({description: 'pool of the source volume'})}

  async run(): Promise<VolSummary> {
    const {args, flags} = await this.parse(VolumeClone)
    const {cloneVol} = await import('../../lib/client/storage-actions.js')
    const v = await cloneVol(await this.connection(), args.volume, args.name, flags.pool)
    this.log(`Vol ${v.name} cloned from ${args.volume}`)
    return v
  }
}
