import {Command, Flags} from '@oclif/core'
import {resolve} from 'node:path'

export default class GuestsStart extends Command {
  static override summary = 'Start the guests `guests stop` shut down (what libvirt-guests.service does on boot)'
  static override description = `With ON_BOOT=start (the default), starts the guests remembered in
/var/lib/libvirt/libvirt-guests, START_DELAY seconds apart, and forgets them; ON_BOOT=ignore only
forgets them. Settings come from libvirt's /etc/default/libvirt-guests (/etc/sysconfig/libvirt-guests
outside Debian) and the environment.`

  static override enableJsonFlag = true
  static override examples = ['<%= config.bin %> guests start', '<%= config.bin %> guests start --json']
  static override flags = {root: Flags.string({description: 'read the configuration and state under this directory'})}

  async run(): Promise<{started: string[]; failed: string[]}> {
    const {flags} = await this.parse(GuestsStart)
    const {loadGuestsConfig, startGuests} = await import('../../lib/systemd/guests.js')
    const root = flags.root ? resolve(flags.root) : ''
    try {
      const r = await startGuests(loadGuestsConfig(root), (l) => this.jsonEnabled() || this.log(l), root)
      if (r.failed.length) this.error(`could not start: ${r.failed.join(', ')}`, {exit: 1})
      return r
    } catch (err) {
      this.error((err as Error).message, {exit: 1})
    }
  }
}
