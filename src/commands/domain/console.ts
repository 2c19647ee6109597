import {Args, Flags} from '@oclif/core'
import {ClientCommand} from '../../lib/cli/base-command.js'

const MS_PER_SECOND = 1000

export default class DomainConsole extends ClientCommand {
  static override summary = "Follow a domain's serial console (its log file or pty) on the daemon's host"
  static override examples = [
    '<%= config.bin %> domain console web01',
    '<%= config.bin %> domain console web01 --no-follow -c qemu:///system',
    '<%= config.bin %> domain console web01 --timeout 30',
  ]
  static override args = {domain: Args.string({description: 'domain name, ID or UUID', required: true})}
  static override flags = {
    'no-follow': Flags.boolean({description: 'print what is there and exit'}),
    timeout: Flags.integer({description: 'stop following after SECS', min: 1}),
  }

  async run(): Promise<{name: string; source: string}> {
    const {args, flags} = await this.parse(DomainConsole)
    const dom = await this.domain(args.domain)
    const {consoleSource, followConsole} = await import('../../lib/client/console.js')
    const src = await consoleSource(await this.connection(), dom)
    if (!this.jsonEnabled()) {
      const ac = new AbortController()
      process.once('SIGINT', () => ac.abort())
      if (flags.timeout) setTimeout(() => ac.abort(), flags.timeout * MS_PER_SECOND).unref()
      await followConsole(src, process.stdout, !flags['no-follow'], ac.signal)
    }
    return {name: dom.name, source: src.path}
  }
}
