import {Flags} from '@oclif/core'
import {ClientCommand} from '../lib/cli/base-command.js'
import type {Versions} from '../lib/client/host.js'

export default class Version extends ClientCommand {
  static override summary = "Show the versions of vctl, the daemon's library and the hypervisor"
  static override examples = ['<%= config.bin %> version', '<%= config.bin %> version --daemon -c qemu:///system', '<%= config.bin %> version --json']
  static override flags = {daemon: Flags.boolean({description: "also show the daemon's library version"})}

  async run(): Promise<Versions & {client: string}> {
    const {flags} = await this.parse(Version)
    const {versions} = await import('../lib/client/host.js')
    const v = await versions(await this.connection(), {daemon: flags.daemon})
    const out = {client: this.config.version, ...v}
    this.log(`vctl ${out.client} (libvirt protocol ${out.library})`)
    this.log(`Using API: ${out.type} ${out.library}`)
    this.log(`Running hypervisor: ${out.type} ${out.hypervisor}`)
    if (out.daemon) this.log(`Running against daemon: ${out.daemon}`)
    return out
  }
}
