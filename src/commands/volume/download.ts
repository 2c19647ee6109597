import {Args, Flags} from '@oclif/core'
import {ClientCommand} from '../../lib/cli/base-command.js'

export default class VolumeDownload extends ClientCommand {
  static override summary = 'Copy a volume into a local file (its holes kept with --sparse), with progress'
  static override examples = [
    '<%= config.bin %> volume download disk1.qcow2 ./backup.qcow2 --pool default',
    '<%= config.bin %> volume download big.img ./big.img --pool default --sparse --json',
  ]
  static override args = {
    volume: Args.string({description: 'volume name (with --pool), key or path', required: true}),
    file: Args.string({description: 'local file to write', required: true}),
  }
  static override flags = {
    pool: Flags.string({description: 'pool of the volume'}),
    offset: Flags.string({description: 'byte offset in the volume to start at', default: '0'}),
    length: Flags.string({description: 'bytes to copy at most (0: to the end)', default: '0'}),
    sparse: Flags.boolean({description: 'keep the volume\u2019s holes as holes of the file'}),
  }

  async run(): Promise<{name: string; bytes: number}> {
    const {args, flags} = await this.parse(VolumeDownload)
    const {findVol, downloadVol} = await import('../../lib/client/storage.js')
    const {withTransferProgress} = await import('../../lib/cli/transfer-progress.js')
    const conn = await this.connection()
    const vol = await findVol(conn, args.volume, flags.pool)
    const bytes = await withTransferProgress(`Downloading ${vol.name} to ${args.file}`, this.jsonEnabled(), (progress) =>
      downloadVol(conn, vol, args.file, {offset: BigInt(flags.offset), length: BigInt(flags.length), sparse: flags.sparse, progress}),
    )
    return {name: vol.name, bytes}
  }
}
