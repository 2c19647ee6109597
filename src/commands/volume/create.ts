import {Args, Flags} from '@oclif/core'
import {readFile} from 'node:fs/promises'
import {ClientCommand} from '../../lib/cli/base-command.js'
import type {VolSummary} from '../../lib/client/storage.js'

export default class VolumeCreate extends ClientCommand {
  static override summary = 'Create a volume: from an XML file, or from a name and a size (like virsh vol-create-as)'
  static override examples = [
    '<%= config.bin %> volume create default disk1.qcow2 --size 10G --format qcow2',
    '<%= config.bin %> volume create default overlay.qcow2 --size 10G --format qcow2 --backing /var/lib/libvirt/images/base.qcow2',
    '<%= config.bin %> volume create default --file vol.xml -c qemu:///system',
  ]
  static override args = {
    pool: Args.string({description: 'pool name or UUID', required: true}),
    name: Args.string({description: 'name of the new volume (with --size)'}),
  }
  static override flags = {
    file: Flags.string({description: 'volume XML file'}),
    size: Flags.string({description: 'capacity, e.g. 10G, 512M, 1048576'}),
    allocation: Flags.string({description: 'bytes to allocate now (default: all of it for raw files)'}),
    format: Flags.string({description: 'raw, qcow2, ... (default: the pool\u2019s)'}),
    backing: Flags.string({description: 'backing volume path (qcow2 overlays)'}),
    'backing-format': Flags.string({description: 'format of the backing volume (probed when not given)'}),
  }

  async run(): Promise<VolSummary> {
    const {args, flags} = await this.parse(VolumeCreate)
    const {parseSize, volCreateAsXml} = await import('../../lib/client/storage.js')
    let xml: string
    if (flags.file) xml = await readFile(flags.file, 'utf8')
    else if (args.name && flags.size)
      xml = volCreateAsXml(args.name, parseSize(flags.size), {
        allocation: flags.allocation === undefined ? undefined : parseSize(flags.allocation),
        format: flags.format,
        backing: flags.backing ? {path: flags.backing, format: flags['backing-format']} : undefined,
      })
    else this.error('give --file, or a volume name and --size')
    const {createVol} = await import('../../lib/client/storage-actions.js')
    const v = await createVol(await this.connection(), args.pool, xml)
    this.log(`Vol ${v.name} created`)
    return v
  }
}
