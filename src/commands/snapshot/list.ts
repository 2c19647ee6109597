import {Args, Flags} from '@oclif/core'
import {ClientCommand} from '../../lib/cli/base-command.js'
import type {SnapshotSummary} from '../../lib/client/snapshots.js'

export default class SnapshotList extends ClientCommand {
  static override summary = "List a domain's snapshots"
  static override examples = [
    '<%= config.bin %> snapshot list web01',
    '<%= config.bin %> snapshot list web01 --tree -c qemu:///system',
    '<%= config.bin %> snapshot list web01 --from before-upgrade --descendants --json',
  ]
  static override args = {domain: Args.string({description: 'domain name, ID or UUID', required: true})}
  static override flags = {
    tree: Flags.boolean({description: 'show the snapshots as a tree (parents above their children)'}),
    roots: Flags.boolean({description: 'only snapshots without a parent', exclusive: ['from']}),
    leaves: Flags.boolean({description: 'only snapshots without children'}),
    from: Flags.string({description: 'only the children of this snapshot'}),
    descendants: Flags.boolean({description: 'with --from: all descendants, not only children', dependsOn: ['from']}),
    current: Flags.boolean({description: 'only the current snapshot'}),
  }

  async run(): Promise<SnapshotSummary[]> {
    const {args, flags} = await this.parse(SnapshotList)
    const dom = await this.domain(args.domain)
    const lib = await import('../../lib/client/snapshots.js')
    const F = lib.SnapshotListFlag
    let listFlags = 0
    if (flags.roots) listFlags |= F.ROOTS
    if (flags.descendants) listFlags |= F.DESCENDANTS
    if (flags.leaves) listFlags |= F.LEAVES
    let list = await lib.listSnapshots(await this.connection(), dom, listFlags, flags.from)
    if (flags.current) list = list.filter((s) => s.current)
    if (!this.jsonEnabled()) {
      if (flags.tree) this.log(lib.snapshotTree(list))
      else {
        const {table} = await import('../../lib/cli/table.js')
        const when = (t: number): string =>
          new Date(t * 1000)
            .toISOString()
            .replace('T', ' ')
            .replace(/\.\d+Z$/, ' +0000')
        this.log(
          table(
            ['Name', 'Creation Time', 'State', 'Parent', 'Current'],
            list.map((s) => [s.name, when(s.creationTime), s.state, s.parent ?? '', s.current ? 'yes' : '']),
          ),
        )
      }
    }
    return list
  }
}
