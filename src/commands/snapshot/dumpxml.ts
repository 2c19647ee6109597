import {Args, Flags} from '@oclif/core'
import {ClientCommand} from '../../lib/cli/base-command.js'

export default class SnapshotDumpxml extends ClientCommand {
  static override summary = "Print a snapshot's XML"
  static override examples = [
    '<%= config.bin %> snapshot dumpxml web01 nightly',
    '<%= config.bin %> snapshot dumpxml web01 nightly --security-info -c qemu:///system',
  ]
  static override args = {
    domain: Args.string({description: 'domain name, ID or UUID', required: true}),
    name: Args.string({description: 'snapshot name', required: true}),
  }
  static override flags = {'security-info': Flags.boolean({description: 'include passwords of the embedded definition'})}

  async run(): Promise<{domain: string; snapshot: string; xml: string}> {
    const {args, flags} = await this.parse(SnapshotDumpxml)
    const dom = await this.domain(args.domain)
    const {snapshotXml} = await import('../../lib/client/snapshots.js')
    const xml = await snapshotXml(await this.connection(), dom, args.name, flags['security-info'])
    if (!this.jsonEnabled()) this.log(xml.trimEnd())
    return {domain: dom.name, snapshot: args.name, xml}
  }
}
