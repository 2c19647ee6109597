import {Args, Flags} from '@oclif/core'
import {ClientCommand} from '../../lib/cli/base-command.js'
import type {SnapshotDetails} from '../../lib/client/snapshots.js'

export default class SnapshotInfo extends ClientCommand {
  static override summary = 'Show what is known about a snapshot'
  static override examples = [
    '<%= config.bin %> snapshot info web01 nightly',
    '<%= config.bin %> snapshot info web01 --current -c qemu:///system --json',
  ]
  static override args = {
    domain: Args.string({description: 'domain name, ID or UUID', required: true}),
    name: Args.string({description: 'snapshot name (or --current)'}),
  }
  static override flags = {current: Flags.boolean({description: 'the current snapshot'})}

  async run(): Promise<SnapshotDetails> {
    const {args, flags} = await this.parse(SnapshotInfo)
    const dom = await this.domain(args.domain)
    const lib = await import('../../lib/client/snapshots.js')
    const conn = await this.connection()
    const name = flags.current || args.name === undefined ? await lib.currentSnapshotName(conn, dom) : args.name
    if (name === null) this.error(`domain '${dom.name}' has no current snapshot`)
    const info = await lib.snapshotInfo(conn, dom, name)
    if (!this.jsonEnabled()) {
      const {keyValues} = await import('../../lib/cli/table.js')
      this.log(
        keyValues([
          ['Name', info.name],
          ['Domain', info.domain],
          ['Current', info.current ? 'yes' : 'no'],
          ['State', info.state],
          ['Location', info.location],
          ['Parent', info.parent ?? '-'],
          ['Children', info.children],
          ['Descendants', info.descendants],
          ['Metadata', info.metadata ? 'yes' : 'no'],
          ['Description', info.description ?? ''],
        ]),
      )
    }
    return info
  }
}
