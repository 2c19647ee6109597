import {Args, Flags} from '@oclif/core'
import {readFile} from 'node:fs/promises'
import {ClientCommand} from '../../lib/cli/base-command.js'

export default class DomainRestore extends ClientCommand {
  static override summary = 'Start a domain from a save file where it left off (virsh restore)'
  static override examples = [
    '<%= config.bin %> domain restore /var/tmp/web01.save',
    '<%= config.bin %> domain restore /var/tmp/web01.save --paused --json',
  ]
  static override args = {file: Args.string({description: "the save file (a path on the daemon's host)", required: true})}
  static override flags = {
    running: Flags.boolean({description: 'leave it running, whatever it was when saved', exclusive: ['paused']}),
    paused: Flags.boolean({description: 'leave it paused', exclusive: ['running']}),
    xml: Flags.string({description: 'file with a replacement domain XML (same guest)'}),
    'dump-xml': Flags.boolean({description: 'only print the domain XML stored in the file'}),
  }

  async run(): Promise<{file: string; result: string; xml?: string}> {
    const {args, flags} = await this.parse(DomainRestore)
    const conn = await this.connection()
    const {restoreDomain, saveImageXml} = await import('../../lib/client/domain-save.js')
    if (flags['dump-xml']) {
      const xml = await saveImageXml(conn, args.file)
      this.log(xml.trimEnd())
      return {file: args.file, result: 'xml', xml}
    }
    const xml = flags.xml === undefined ? undefined : await readFile(flags.xml, 'utf8')
    await restoreDomain(conn, args.file, {as: flags.running ? 'running' : flags.paused ? 'paused' : undefined, xml})
    this.log(`Domain restored from ${args.file}`)
    return {file: args.file, result: 'restored'}
  }
}
