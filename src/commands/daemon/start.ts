import {Command, Flags} from '@oclif/core'

export default class DaemonStart extends Command {
  static override summary = 'Run a vctl daemon (libvirtd, or one modular daemon with --driver)'
  static override description = `Runs the monolithic daemon (all drivers, like libvirtd) or one modular daemon
(--driver qemu|network|storage|secret|nodedev|nwfilter|interface, like virtqemud), the proxy
(--driver proxy, like virtproxyd), or the log/lock daemons (--driver log|lock).
It listens on UNIX sockets (read-write, read-only, admin), on TCP/TLS with --listen, or on sockets
handed over by systemd socket activation (LISTEN_FDS). Guests keep running when it stops.`

  static override examples = [
    '<%= config.bin %> daemon start',
    '<%= config.bin %> daemon start --root /tmp/vroot -d',
    '<%= config.bin %> daemon start --driver qemu -t 120',
    '<%= config.bin %> daemon start -f /etc/libvirt/libvirtd.conf --listen',
  ]

  // bin/run.js parses these itself on its fast path (src/lib/cli/daemon-main.ts): keep them in step.
  static override flags = {
    help: Flags.help({char: 'h'}),
    daemon: Flags.boolean({char: 'd', description: 'detach; return once the sockets accept connections'}),
    config: Flags.string({char: 'f', description: 'configuration file (libvirtd.conf format)'}),
    listen: Flags.boolean({char: 'l', description: 'listen on TCP/TLS as the config says (listen_tcp, listen_tls)'}),
    'pid-file': Flags.string({char: 'p', description: 'PID file path'}),
    timeout: Flags.integer({char: 't', description: 'exit after SECS idle (no client, no running guest)', min: 1}),
    verbose: Flags.boolean({char: 'v', description: 'log debug messages'}),
    version: Flags.boolean({description: 'print the version and exit'}),
    driver: Flags.string({description: 'run one modular daemon: qemu, network, storage, secret, nodedev, nwfilter, interface, proxy, log, lock'}),
    root: Flags.string({description: 'system-mode path prefix (config DIR/etc/libvirt, sockets DIR/run/libvirt, ...)'}),
    session: Flags.boolean({description: 'session (per-user) mode with XDG paths; the default when not root', exclusive: ['system']}),
    system: Flags.boolean({description: 'system mode; the default when root', exclusive: ['session']}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(DaemonStart)
    const {daemonName, startDaemon, DaemonStartFailure} = await import('../../lib/cli/daemon-start.js')
    try {
      if (flags.version) {
        this.log(`${await daemonName(flags)} (vctl) ${this.config.version}`)
        return
      }
      await startDaemon(flags, this.argv, (m) => this.log(m))
    } catch (err) {
      if (err instanceof DaemonStartFailure) this.error(err.message, {exit: err.exit})
      throw err
    }
  }
}
