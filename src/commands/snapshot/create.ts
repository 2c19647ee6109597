import {Args, Flags} from '@oclif/core'
import {readFile} from 'node:fs/promises'
import {ClientCommand} from '../../lib/cli/base-command.js'

export default class SnapshotCreate extends ClientCommand {
  static override summary = 'Take a snapshot of a domain (internal: memory and qcow2 disks of a running guest, disks of a shut-off one)'
  static override examples = [
    '<%= config.bin %> snapshot create web01 before-upgrade --description "kernel 6.1"',
    '<%= config.bin %> snapshot create web01 --xml snap.xml -c qemu:///system',
    '<%= config.bin %> snapshot create web01 nightly --halt --json',
  ]
  static override args = {
    domain: Args.string({description: 'domain name, ID or UUID', required: true}),
    name: Args.string({description: 'snapshot name (default: the creation time)'}),
  }
  static override flags = {
    description: Flags.string({description: 'free text kept with the snapshot', exclusive: ['xml']}),
    xml: Flags.string({description: 'take the snapshot from this <domainsnapshot> XML file'}),
    halt: Flags.boolean({description: 'stop the domain once the snapshot is taken'}),
    atomic: Flags.boolean({description: 'all disks or none'}),
    'disk-only': Flags.boolean({description: 'disks only (external; refused by drivers without it)'}),
    'no-metadata': Flags.boolean({description: 'take the snapshot but keep no metadata for it'}),
  }

  async run(): Promise<{domain: string; snapshot: string}> {
    const {args, flags} = await this.parse(SnapshotCreate)
    const dom = await this.domain(args.domain)
    const lib = await import('../../lib/client/snapshots.js')
    const F = lib.SnapshotCreate
    const xml = flags.xml ? await readFile(flags.xml, 'utf8') : lib.snapshotXmlFor(args.name, flags.description)
    const bits =
      (flags.halt ? F.HALT : 0) | (flags.atomic ? F.ATOMIC : 0) | (flags['disk-only'] ? F.DISK_ONLY : 0) | (flags['no-metadata'] ? F.NO_METADATA : 0)
    const name = await lib.createSnapshot(await this.connection(), dom, xml, bits)
    this.log(`Domain snapshot ${name} created`)
    return {domain: dom.name, snapshot: name}
  }
}
