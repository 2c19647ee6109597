import {Args, Flags} from '@oclif/core'
import {ClientCommand} from '../../lib/cli/base-command.js'

export default class VolumeDelete extends ClientCommand {
  static override summary = 'Delete a volume'
  static override examples = [
    '<%= config.bin %> volume delete disk1.qcow2 --pool default',
    '<%= config.bin %> volume delete /var/lib/libvirt/images/disk1.qcow2 --json',
  ]
  static override args = {volume: Args.string({description: 'volume name (with --pool), key or path', required: true})}
  static override flags = {pool: Flags.string({description: 'pool of the volume'})}

  async run(): Promise<{name: string}> {
    const {args, flags} = await this.parse(VolumeDelete)
    const {deleteVol} = await import('../../lib/client/storage-actions.js')
    const name = await deleteVol(await this.connection(), args.volume, flags.pool)
    this.log(`Vol ${name} deleted`)
    return {name}
  }
}
