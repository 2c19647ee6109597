import {Args, Flags} from '@oclif/core'
import {ClientCommand} from '../../lib/cli/base-command.js'

export default class VolumeDumpxml extends ClientCommand {
  static override summary = "Print a volume's XML"
  static override examples = [
    '<%= config.bin %> volume dumpxml disk1.qcow2 --pool default',
    '<%= config.bin %> volume dumpxml /var/lib/libvirt/images/disk1.qcow2 --json',
  ]
  static override args = {volume: Args.string({description: 'volume name (with --pool), key or path', required: true})}
  static override flags = {pool: Flags.string({description: 'pool of the volume'})}

  async run(): Promise<{xml: string}> {
    const {args, flags} = await this.parse(VolumeDumpxml)
    const {volXml} = await import('../../lib/client/storage-actions.js')
    const xml = await volXml(await this.connection(), args.volume, flags.pool)
    if (!this.jsonEnabled()) process.stdout.write(xml)
    return {xml}
  }
}
