import {Args, Flags} from '@oclif/core'
import {ClientCommand} from '../../lib/cli/base-command.js'

export default class SnapshotDelete extends ClientCommand {
  static override summary = 'Delete a snapshot (its children move to its parent unless deleted too)'
  static override examples = [
    '<%= config.bin %> snapshot delete web01 nightly',
    '<%= config.bin %> snapshot delete web01 before-upgrade --children -c qemu:///system --json',
  ]
  static override args = {
    domain: Args.string({description: 'domain name, ID or UUID', required: true}),
    name: Args.string({description: 'snapshot name', required: true}),
  }
  static override flags = {
    children: Flags.boolean({description: 'delete its descendants too', exclusive: ['children-only']}),
    'children-only': Flags.boolean({description: 'delete only its descendants'}),
    metadata: Flags.boolean({description: 'drop only the metadata, leave the images alone'}),
  }

  async run(): Promise<{domain: string; snapshot: string; result: string}> {
    const {args, flags} = await this.parse(SnapshotDelete)
    const dom = await this.domain(args.domain)
    const lib = await import('../../lib/client/snapshots.js')
    const F = lib.SnapshotDelete
    const bits = (flags.children ? F.CHILDREN : 0) | (flags['children-only'] ? F.CHILDREN_ONLY : 0) | (flags.metadata ? F.METADATA_ONLY : 0)
    await lib.deleteSnapshot(await this.connection(), dom, args.name, bits)
    this.log(flags['children-only'] ? `Domain snapshot ${args.name} children deleted` : `Domain snapshot ${args.name} deleted`)
    return {domain: dom.name, snapshot: args.name, result: 'deleted'}
  }
}
