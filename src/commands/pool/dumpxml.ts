import {Args, Flags} from '@oclif/core'
import {ClientCommand} from '../../lib/cli/base-command.js'

export default class PoolDumpxml extends ClientCommand {
  static override summary = "Print a storage pool's XML"
  static override examples = ['<%= config.bin %> pool dumpxml default', '<%= config.bin %> pool dumpxml default --inactive -c qemu:///system']
  static override args = {pool: Args.string({description: 'pool name or UUID', required: true})}
  static override flags = {inactive: Flags.boolean({description: 'the definition the pool gets at its next start'})}

  async run(): Promise<{xml: string}> {
    const {args, flags} = await this.parse(PoolDumpxml)
    const {poolXml} = await import('../../lib/client/storage-actions.js')
    const xml = await poolXml(await this.connection(), args.pool, flags.inactive)
    if (!this.jsonEnabled()) process.stdout.write(xml)
    return {xml}
  }
}
