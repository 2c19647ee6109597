import {resolve} from 'node:path'
import {Args, Flags} from '@oclif/core'
import {ClientCommand} from '../../lib/cli/base-command.js'

const FORMATS = ['raw', 'kdump-zlib', 'kdump-lzo', 'kdump-snappy', 'win-dmp'] as const

export default class DomainDump extends ClientCommand {
  static override summary = "Dump a running guest's memory to a file on the daemon's host, like virsh dump"
  static override examples = [
    '<%= config.bin %> domain dump web01 /var/tmp/web01.core',
    '<%= config.bin %> domain dump web01 /var/tmp/web01.elf --memory-only',
    '<%= config.bin %> domain dump web01 /var/tmp/web01.kdump --memory-only --format kdump-zlib --json',
  ]
  static override args = {
    domain: Args.string({description: 'domain name, ID or UUID', required: true}),
    file: Args.string({description: 'where to write the dump', required: true}),
  }
  static override flags = {
    'memory-only': Flags.boolean({description: 'an ELF (or --format) core of the memory only, as crash/gdb read'}),
    format: Flags.option({description: 'format of a memory-only dump', options: FORMATS, default: 'raw'})(),
    live: Flags.boolean({description: 'do not pause the guest while dumping'}),
    crash: Flags.boolean({description: 'stop the guest (as crashed) afterwards', exclusive: ['reset']}),
    reset: Flags.boolean({description: 'reset the guest afterwards'}),
  }

  async run(): Promise<{name: string; file: string}> {
    const {args, flags} = await this.parse(DomainDump)
    const dom = await this.domain(args.domain)
    const file = resolve(args.file)
    const {dumpDomain} = await import('../../lib/client/guest-stats.js')
    await dumpDomain(await this.connection(), dom, file, {
      memoryOnly: flags['memory-only'],
      format: flags.format,
      live: flags.live,
      crash: flags.crash,
      reset: flags.reset,
    })
    this.log(`Domain '${dom.name}' dumped to ${file}`)
    return {name: dom.name, file}
  }
}
