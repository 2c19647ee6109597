import {Args, Command, Flags} from '@oclif/core'
import {resolve} from 'node:path'

export default class SaslDelete extends Command {
  static override summary = "Remove a user from vctl's SASL user database"
  static override examples = ['<%= config.bin %> sasl delete fred']
  static override args = {user: Args.string({required: true, description: 'user name'})}
  static override flags = {
    root: Flags.string({description: 'system-mode path prefix of the daemons'}),
    session: Flags.boolean({description: 'the session-mode daemons'}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(SaslDelete)
    const {userDbFor, deleteUser} = await import('../../lib/daemon/auth-config.js')
    const path = await userDbFor({root: flags.root && resolve(flags.root), session: flags.session})
    if (!(await deleteUser(path, args.user))) this.error(`no user '${args.user}' in ${path}`, {exit: 1})
    this.log(`user '${args.user}' deleted`)
  }
}
