import {Args, Flags} from '@oclif/core'
import {ClientCommand} from '../../lib/cli/base-command.js'

export default class VolumeUpload extends ClientCommand {
  static override summary = 'Send a local file into a volume (its holes kept with --sparse), with progress'
  static override examples = [
    '<%= config.bin %> volume upload disk1.qcow2 ./disk1.qcow2 --pool default',
    '<%= config.bin %> volume upload big.img ./big.img --pool default --sparse -c qemu:///system',
  ]
  static override args = {
    volume: Args.string({description: 'volume name (with --pool), key or path', required: true}),
    file: Args.string({description: 'local file to send', required: true}),
  }
  static override flags = {
    pool: Flags.string({description: 'pool of the volume'}),
    offset: Flags.string({description: 'byte offset in the volume to start at', default: '0'}),
    length: Flags.string({description: 'bytes to send at most (0: the whole file)', default: '0'}),
    sparse: Flags.boolean({description: 'send runs of zeros as holes'}),
  }

  async run(): Promise<{name: string; bytes: number}> {
    const {args, flags} = await this.parse(VolumeUpload)
    const {findVol, uploadVol} = await import('../../lib/client/storage.js')
    const {withTransferProgress} = await import('../../lib/cli/transfer-progress.js')
    const conn = await this.connection()
    const vol = await findVol(conn, args.volume, flags.pool)
    const bytes = await withTransferProgress(`Uploading ${args.file} to ${vol.name}`, this.jsonEnabled(), (progress) =>
      uploadVol(conn, vol, args.file, {offset: BigInt(flags.offset), length: BigInt(flags.length), sparse: flags.sparse, progress}),
    )
    return {name: vol.name, bytes}
  }
}
