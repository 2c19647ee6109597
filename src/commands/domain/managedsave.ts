import {Args, Flags} from '@oclif/core'
import {ClientCommand} from '../../lib/cli/base-command.js'

export default class DomainManagedsave extends ClientCommand {
  static override summary = 'Save a running domain where its next start resumes it, or remove that image (virsh managedsave)'
  static override examples = [
    '<%= config.bin %> domain managedsave web01',
    '<%= config.bin %> domain managedsave web01 --paused',
    '<%= config.bin %> domain managedsave web01 --remove --json',
  ]
  static override args = {domain: Args.string({description: 'domain name, ID or UUID', required: true})}
  static override flags = {
    running: Flags.boolean({description: 'resume it running on the next start', exclusive: ['paused', 'remove']}),
    paused: Flags.boolean({description: 'resume it paused on the next start', exclusive: ['running', 'remove']}),
    remove: Flags.boolean({description: 'remove the managed save image instead (the next start boots)'}),
  }

  async run(): Promise<{name: string; result: string}> {
    const {args, flags} = await this.parse(DomainManagedsave)
    const dom = await this.domain(args.domain)
    const conn = await this.connection()
    const {managedSave, managedSaveRemove} = await import('../../lib/client/domain-save.js')
    if (flags.remove) {
      const removed = await managedSaveRemove(conn, dom)
      this.log(removed ? `Removed managedsave image for domain '${dom.name}'` : `Domain '${dom.name}' has no manage save image; removal skipped`)
      return {name: dom.name, result: removed ? 'removed' : 'none'}
    }
    await managedSave(conn, dom, flags.running ? 'running' : flags.paused ? 'paused' : undefined)
    this.log(`Domain '${dom.name}' state saved by libvirt`)
    return {name: dom.name, result: 'saved'}
  }
}
