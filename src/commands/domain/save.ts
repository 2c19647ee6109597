import {Args, Flags} from '@oclif/core'
import {readFile} from 'node:fs/promises'
import {ClientCommand} from '../../lib/cli/base-command.js'

export default class DomainSave extends ClientCommand {
  static override summary = "Save a running domain's state to a file and stop it (virsh save)"
  static override examples = [
    '<%= config.bin %> domain save web01 /var/tmp/web01.save',
    '<%= config.bin %> domain save web01 /var/tmp/web01.save --paused --json',
  ]
  static override args = {
    domain: Args.string({description: 'domain name, ID or UUID', required: true}),
    file: Args.string({description: "where to save it (a path on the daemon's host)", required: true}),
  }
  static override flags = {
    running: Flags.boolean({description: 'restore it running', exclusive: ['paused']}),
    paused: Flags.boolean({description: 'restore it paused', exclusive: ['running']}),
    xml: Flags.string({description: 'file with a replacement domain XML (same guest) to store'}),
  }

  async run(): Promise<{name: string; file: string; result: string}> {
    const {args, flags} = await this.parse(DomainSave)
    const dom = await this.domain(args.domain)
    const xml = flags.xml === undefined ? undefined : await readFile(flags.xml, 'utf8')
    const {saveDomain} = await import('../../lib/client/domain-save.js')
    await saveDomain(await this.connection(), dom, args.file, {as: flags.running ? 'running' : flags.paused ? 'paused' : undefined, xml})
    this.log(`Domain '${dom.name}' saved to ${args.file}`)
    return {name: dom.name, file: args.file, result: 'saved'}
  }
}
