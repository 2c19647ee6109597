import {Args, Flags} from '@oclif/core'
import {ClientCommand} from '../../lib/cli/base-command.js'
import type {VolSummary} from '../../lib/client/storage.js'

export default class VolumeInfo extends ClientCommand {
  static override summary = "Show a volume's type, capacity, allocation and path"
  static override examples = [
    '<%= config.bin %> volume info disk1.qcow2 --pool default',
    '<%= config.bin %> volume info /var/lib/libvirt/images/disk1.qcow2 --json',
  ]
  static override args = {volume: Args.string({description: 'volume name (with --pool), key or path', required: true})}
  static override flags = {pool: Flags.string({description: 'pool of the volume'})}

  async run(): Promise<VolSummary> {
    const {args, flags} = await this.parse(VolumeInfo)
    const {findVol, volSummary, humanSize} = await import('../../lib/client/storage.js')
    const conn = await this.connection()
    const v = await volSummary(conn, await findVol(conn, args.volume, flags.pool))
    if (!this.jsonEnabled()) {
      const {keyValues} = await import('../../lib/cli/table.js')
      this.log(
        keyValues([
          ['Name', v.name],
          ['Type', v.type],
          ['Capacity', humanSize(v.capacity)],
          ['Allocation', humanSize(v.allocation)],
          ['Path', v.path],
        ]),
      )
    }
    return v
  }
}
