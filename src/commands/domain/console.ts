import {spawnSync} from 'node:child_process'
import {Args, Flags} from '@oclif/core'
import {ClientCommand} from '../../lib/cli/base-command.js'

const MS_PER_SECOND = 1000

export default class DomainConsole extends ClientCommand {
  static override summary = "Connect to a domain's console (a pty over the connection, like virsh console; a file-backed serial port is followed)"
  static override description =
    'On a terminal the session is interactive and ends with Ctrl+]. Otherwise standard input is sent to the guest and its output printed ' +
    'until the guest stops, --timeout passes or the input ends (with --no-follow).'
  static override examples = [
    '<%= config.bin %> domain console web01',
    '<%= config.bin %> domain console web01 --force -c qemu+ssh://host/system',
    '<%= config.bin %> domain console web01 --no-follow < commands.txt',
  ]
  static override args = {domain: Args.string({description: 'domain name, ID or UUID', required: true})}
  static override flags = {
    devname: Flags.string({description: 'character device alias, e.g. serial0 (default: the first console)'}),
    force: Flags.boolean({description: 'take the console over from another client'}),
    safe: Flags.boolean({description: 'only connect if the driver ensures exclusive access'}),
    'no-follow': Flags.boolean({description: 'stop at the end of the input (a file console: print what is there and exit)'}),
    timeout: Flags.integer({description: 'stop after SECS', min: 1}),
  }

  async run(): Promise<{name: string; source: string; end?: string}> {
    const {args, flags} = await this.parse(DomainConsole)
    const dom = await this.domain(args.domain)
    const conn = await this.connection()
    const {consoleSource, followConsole} = await import('../../lib/client/console.js')
    const src = await consoleSource(conn, dom)
    const ac = new AbortController()
    process.once('SIGINT', () => ac.abort())
    if (flags.timeout) setTimeout(() => ac.abort(), flags.timeout * MS_PER_SECOND).unref()
    if (src.type !== 'pty') {
      if (!this.jsonEnabled()) await followConsole(src, process.stdout, !flags['no-follow'], ac.signal)
      return {name: dom.name, source: src.path}
    }
    const {ESCAPE, openConsole, runConsole} = await import('../../lib/client/console-stream.js')
    const st = await openConsole(conn, dom, {devName: flags.devname, force: flags.force, safe: flags.safe})
    const interactive = process.stdin.isTTY && !this.jsonEnabled()
    if (interactive) {
      process.stderr.write(`Connected to domain '${dom.name}'\nEscape character is ^] (Ctrl + ])\n`)
      process.stdin.setRawMode(true)
      // libuv's raw mode keeps output processing (\n -> \r\n); the guest sends \r\n itself, as under virsh's cfmakeraw
      spawnSync('stty', ['-opost'], {stdio: ['inherit', 'ignore', 'ignore']})
    }
    try {
      const end = await runConsole(st, {
        input: process.stdin,
        out: process.stdout,
        escape: interactive ? ESCAPE : undefined,
        closeOnInputEnd: flags['no-follow'],
        signal: ac.signal,
      })
      return {name: dom.name, source: src.path, end}
    } finally {
      if (interactive) {
        process.stdin.setRawMode(false)
        process.stderr.write('\n')
      }
      process.stdin.pause()
    }
  }
}
