import {Args, Command, Flags} from '@oclif/core'
import {resolve} from 'node:path'

export default class SaslPasswd extends Command {
  static override summary = "Set a SASL user's password in vctl's user database (SCRAM and DIGEST-MD5 keys; the password is not stored)"
  static override description =
    'The password is asked for on a terminal, else read from the first line of stdin. The database is etc/libvirt/sasl-users.json under the daemon root (0600), read by the daemons at each login. DIGEST-MD5 (plain TCP) keys depend on the realm: the host name unless --realm is given.'
  static override examples = ['<%= config.bin %> sasl passwd fred', '<%= config.bin %> sasl passwd fred --root /tmp/vroot']
  static override args = {user: Args.string({required: true, description: 'user name'})}
  static override flags = {
    root: Flags.string({description: 'system-mode path prefix of the daemons'}),
    session: Flags.boolean({description: 'the session-mode daemons'}),
    realm: Flags.string({description: 'DIGEST-MD5 realm to keep a key for (repeatable; default: the host name)', multiple: true}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(SaslPasswd)
    const {userDbFor, setPassword} = await import('../../lib/daemon/auth-config.js')
    const path = await userDbFor({root: flags.root && resolve(flags.root), session: flags.session})
    let password: string
    if (process.stdin.isTTY) {
      const {password: ask} = await import('@inquirer/prompts')
      password = await ask({message: `Password for ${args.user}:`, mask: '*'})
      const again = await ask({message: 'Again:', mask: '*'})
      if (again !== password) this.error('the passwords differ', {exit: 1})
    } else {
      const chunks: Buffer[] = []
      for await (const c of process.stdin) chunks.push(c as Buffer)
      password = Buffer.concat(chunks).toString('utf8').split('\n')[0]
    }
    try {
      await setPassword(path, args.user, password, flags.realm)
    } catch (err) {
      this.error((err as Error).message, {exit: 1})
    }
    this.log(`password of '${args.user}' set in ${path}`)
  }
}
