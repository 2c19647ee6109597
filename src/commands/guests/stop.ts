import {Command, Flags} from '@oclif/core'
import {resolve} from 'node:path'

export default class GuestsStop extends Command {
  static override summary = 'Shut down the running guests (what libvirt-guests.service does on host shutdown)'
  static override description = `For each URI of URIS (default qemu:///system), remembers the running guests in
/var/lib/libvirt/libvirt-guests and shuts them down (ON_SHUTDOWN=shutdown: ACPI power button),
PARALLEL_SHUTDOWN at once, waiting up to SHUTDOWN_TIMEOUT seconds (0: no limit). Settings come from
libvirt's /etc/default/libvirt-guests (/etc/sysconfig/libvirt-guests outside Debian) and the
environment. ON_SHUTDOWN=suspend (managed save) is refused: vctl has no managed save yet.`

  static override enableJsonFlag = true
  static override examples = ['<%= config.bin %> guests stop', '<%= config.bin %> guests stop --json']
  static override flags = {root: Flags.string({description: 'read the configuration and state under this directory'})}

  async run(): Promise<{stopped: string[]; timedOut: string[]}> {
    const {flags} = await this.parse(GuestsStop)
    const {loadGuestsConfig, stopGuests} = await import('../../lib/systemd/guests.js')
    const root = flags.root ? resolve(flags.root) : ''
    try {
      const r = await stopGuests(loadGuestsConfig(root), (l) => this.jsonEnabled() || this.log(l), root)
      if (r.timedOut.length) this.error(`guests still running after SHUTDOWN_TIMEOUT: ${r.timedOut.join(', ')}`, {exit: 1})
      return r
    } catch (err) {
      this.error((err as Error).message, {exit: 1})
    }
  }
}
