import {Command, Flags} from '@oclif/core'
import {resolve} from 'node:path'

export default class SaslList extends Command {
  static override summary = "List the users of vctl's SASL user database"
  static override enableJsonFlag = true
  static override examples = ['<%= config.bin %> sasl list', '<%= config.bin %> sasl list --root /tmp/vroot --json']
  static override flags = {
    root: Flags.string({description: 'system-mode path prefix of the daemons'}),
    session: Flags.boolean({description: 'the session-mode daemons'}),
  }

  async run(): Promise<Array<{user: string; mechanisms: string[]}>> {
    const {flags} = await this.parse(SaslList)
    const {userDbFor, readUserDb} = await import('../../lib/daemon/auth-config.js')
    const db = readUserDb(await userDbFor({root: flags.root && resolve(flags.root), session: flags.session}))
    const users = Object.entries(db.users).map(([user, m]) => ({user, mechanisms: Object.keys(m)}))
    for (const u of users)
      this.log(u.mechanisms.includes('DIGEST-MD5') ? u.user : `${u.user} (no DIGEST-MD5 key, so no plain TCP: set the password again)`)
    return users
  }
}
