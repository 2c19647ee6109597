import {Command, Flags} from '@oclif/core'
import {resolve} from 'node:path'

export default class DaemonStop extends Command {
  static override summary = 'Stop a running vctl daemon (SIGTERM via its PID file); guests keep running'
  static override enableJsonFlag = true
  static override examples = [
    '<%= config.bin %> daemon stop',
    '<%= config.bin %> daemon stop --driver qemu',
    '<%= config.bin %> daemon stop --root /tmp/vroot',
    '<%= config.bin %> daemon stop -p /run/vctl-test.pid',
  ]
  static override flags = {
    driver: Flags.string({description: 'which daemon: qemu, secret, proxy, log, lock (default libvirtd)'}),
    root: Flags.string({description: 'system-mode path prefix the daemon was started with'}),
    session: Flags.boolean({description: 'the session-mode daemon'}),
    'pid-file': Flags.string({char: 'p', description: 'PID file path'}),
  }

  async run(): Promise<{daemon: string; pid: number | null; stopped: boolean}> {
    const {flags} = await this.parse(DaemonStop)
    const {stopDaemon} = await import('../../lib/daemon/control.js')
    try {
      const r = await stopDaemon({driver: flags.driver, root: flags.root && resolve(flags.root), session: flags.session, pidFile: flags['pid-file']})
      this.log(r.pid === null ? `${r.name} is not running` : `${r.name} (pid ${r.pid}) stopped`)
      return {daemon: r.name, pid: r.pid, stopped: r.pid !== null}
    } catch (err) {
      this.error((err as Error).message, {exit: 1})
    }
  }
}
