import {Args, Flags} from '@oclif/core'
import {ClientCommand} from '../../lib/cli/base-command.js'

export default class DomainChangeMedia extends ClientCommand {
  static override summary = 'Change, eject or insert the medium of a cdrom or floppy drive'
  static override examples = [
    '<%= config.bin %> domain change-media web01 hdc /srv/debian.iso',
    '<%= config.bin %> domain change-media web01 hdc --eject',
    '<%= config.bin %> domain change-media web01 hdc /srv/tools.iso --insert --config',
  ]
  static override args = {
    domain: Args.string({description: 'domain name, ID or UUID', required: true}),
    path: Args.string({description: 'target (hdc) or current source path of the drive', required: true}),
    source: Args.string({description: 'the new medium (not with --eject)'}),
  }
  static override flags = {
    eject: Flags.boolean({description: 'eject the medium', exclusive: ['insert']}),
    insert: Flags.boolean({description: 'insert a medium into an empty drive'}),
    live: Flags.boolean({description: 'affect the running guest'}),
    config: Flags.boolean({description: 'affect the persistent definition'}),
    persistent: Flags.boolean({description: 'affect the definition, and the running guest when it runs'}),
  }

  async run(): Promise<{name: string; target: string; source: string | null}> {
    const {args, flags} = await this.parse(DomainChangeMedia)
    if (flags.eject === (args.source !== undefined))
      this.error(flags.eject ? '--eject takes no source' : 'a source is needed (or --eject)', {exit: 2})
    const dom = await this.domain(args.domain)
    const dev = await import('../../lib/client/devices.js')
    await dev.changeMedia(await this.connection(), dom, args.path, args.source, dev.affectFlags(dom, flags), {insert: flags.insert})
    this.log(flags.eject ? 'Successfully ejected media.' : flags.insert ? 'Successfully inserted media.' : 'Successfully updated media.')
    return {name: dom.name, target: args.path, source: args.source ?? null}
  }
}
