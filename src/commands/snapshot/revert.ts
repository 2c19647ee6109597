import {Args, Flags} from '@oclif/core'
import {ClientCommand} from '../../lib/cli/base-command.js'

export default class SnapshotRevert extends ClientCommand {
  static override summary = 'Bring a domain back to a snapshot (its state: running, paused or shut off)'
  static override examples = [
    '<%= config.bin %> snapshot revert web01 before-upgrade',
    '<%= config.bin %> snapshot revert web01 before-upgrade --paused -c qemu:///system --json',
  ]
  static override args = {
    domain: Args.string({description: 'domain name, ID or UUID', required: true}),
    name: Args.string({description: 'snapshot name', required: true}),
  }
  static override flags = {
    running: Flags.boolean({description: 'leave the domain running afterwards', exclusive: ['paused']}),
    paused: Flags.boolean({description: 'leave the domain paused afterwards'}),
    force: Flags.boolean({description: 'revert even where it is risky'}),
  }

  async run(): Promise<{domain: string; snapshot: string; result: string}> {
    const {args, flags} = await this.parse(SnapshotRevert)
    const dom = await this.domain(args.domain)
    const lib = await import('../../lib/client/snapshots.js')
    const F = lib.SnapshotRevert
    const bits = (flags.running ? F.RUNNING : 0) | (flags.paused ? F.PAUSED : 0) | (flags.force ? F.FORCE : 0)
    await lib.revertSnapshot(await this.connection(), dom, args.name, bits)
    this.log(`Domain snapshot ${args.name} reverted`)
    return {domain: dom.name, snapshot: args.name, result: 'reverted'}
  }
}
