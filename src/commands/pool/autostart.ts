import {Args, Flags} from '@oclif/core'
import {ClientCommand} from '../../lib/cli/base-command.js'

export default class PoolAutostart extends ClientCommand {
  static override summary = 'Mark a storage pool to start with the daemon (or unmark with --disable)'
  static override examples = ['<%= config.bin %> pool autostart images', '<%= config.bin %> pool autostart images --disable -c qemu:///system']
  static override args = {pool: Args.string({description: 'pool name or UUID', required: true})}
  static override flags = {disable: Flags.boolean({description: 'do not start it with the daemon'})}

  async run(): Promise<{name: string; autostart: boolean}> {
    const {args, flags} = await this.parse(PoolAutostart)
    const {setPoolAutostart} = await import('../../lib/client/storage-actions.js')
    const name = await setPoolAutostart(await this.connection(), args.pool, !flags.disable)
    this.log(flags.disable ? `Pool ${name} unmarked as autostarted` : `Pool ${name} marked as autostarted`)
    return {name, autostart: !flags.disable}
  }
}
