import {Command, Flags} from '@oclif/core'
import {resolve} from 'node:path'

/** What `systemctl status` and LSB init scripts exit with for a service that is not running. */
const EXIT_NOT_RUNNING = 3

export default class DaemonStatus extends Command {
  static override summary = 'Tell whether a vctl daemon runs, with its PID and sockets'
  static override enableJsonFlag = true
  static override examples = [
    '<%= config.bin %> daemon status',
    '<%= config.bin %> daemon status --driver qemu',
    '<%= config.bin %> daemon status --root /tmp/vroot --json',
  ]
  static override flags = {
    driver: Flags.string({description: 'which daemon: qemu, secret, proxy, log, lock (default libvirtd)'}),
    root: Flags.string({description: 'system-mode path prefix the daemon was started with'}),
    session: Flags.boolean({description: 'the session-mode daemon'}),
  }

  async run(): Promise<{daemon: string; running: boolean; pid: number | null; pidFile: string; sockets: Record<string, string | undefined>}> {
    const {flags} = await this.parse(DaemonStatus)
    const {locate} = await import('../../lib/daemon/control.js')
    const l = locate({driver: flags.driver, root: flags.root && resolve(flags.root), session: flags.session})
    const out = {
      daemon: l.name,
      running: l.pid !== null,
      pid: l.pid,
      pidFile: l.pidFile,
      sockets: {rw: l.paths.sockRw, ro: l.paths.sockRo, admin: l.paths.sockAdmin},
    }
    this.log(out.running ? `${l.name} is running (pid ${l.pid})` : `${l.name} is not running`)
    if (!flags.root && !flags.session && out.running) this.log(`sockets: ${l.paths.sockRw}`)
    if (!out.running) process.exitCode = EXIT_NOT_RUNNING
    return out
  }
}
