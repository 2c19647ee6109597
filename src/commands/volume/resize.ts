import {Args, Flags} from '@oclif/core'
import {ClientCommand} from '../../lib/cli/base-command.js'
import type {VolSummary} from '../../lib/client/storage.js'

export default class VolumeResize extends ClientCommand {
  static override summary = "Change a volume's capacity (grow; shrink with --shrink where the format allows it)"
  static override examples = [
    '<%= config.bin %> volume resize disk1.qcow2 20G --pool default',
    '<%= config.bin %> volume resize disk1 +1G --pool default --allocate --json',
  ]
  static override args = {
    volume: Args.string({description: 'volume name (with --pool), key or path', required: true}),
    capacity: Args.string({description: 'new capacity (+N / -N: by that much)', required: true}),
  }
  static override flags = {
    pool: Flags.string({description: 'pool of the volume'}),
    allocate: Flags.boolean({description: 'allocate the new space now'}),
    shrink: Flags.boolean({description: 'allow making the volume smaller'}),
  }

  async run(): Promise<VolSummary> {
    const {args, flags} = await this.parse(VolumeResize)
    const {parseSize} = await import('../../lib/client/storage.js')
    const {resizeVol, ResizeFlags} = await import('../../lib/client/storage-actions.js')
    const delta = /^[+-]/.test(args.capacity)
    const shrinkBy = args.capacity.startsWith('-')
    let f = delta ? ResizeFlags.DELTA : 0
    if (flags.allocate) f |= ResizeFlags.ALLOCATE
    if (flags.shrink || shrinkBy) f |= ResizeFlags.SHRINK
    const v = await resizeVol(await this.connection(), args.volume, flags.pool, parseSize(args.capacity.replace(/^[+-]/, '')), f)
    this.log(`Size of volume '${v.name}' successfully changed to ${args.capacity}`)
    return v
  }
}
