import {Command, Flags} from '@oclif/core'
import {resolve} from 'node:path'
import type {SocketStatus} from '../../lib/daemon/socket-status.js'

export default class SocketStatusCommand extends Command {
  static override summary = 'Show every daemon socket: who listens, whether it accepts, its mode and owner'
  static override aliases = ['sockets:status']
  static override enableJsonFlag = true
  static override examples = [
    '<%= config.bin %> socket status',
    '<%= config.bin %> sockets status --root /tmp/vroot --all',
    "<%= config.bin %> socket status -c 'qemu+unix:///system?socket=/tmp/vroot/run/libvirt/virtqemud-sock' --json",
  ]
  static override flags = {
    root: Flags.string({description: 'look under this system-mode root instead of /'}),
    session: Flags.boolean({description: 'session-mode sockets ($XDG_RUNTIME_DIR/libvirt)'}),
    all: Flags.boolean({description: 'also list sockets that do not exist'}),
    connect: Flags.string({char: 'c', description: 'show the sockets the daemon of this URI would use (e.g. qemu+unix:///system?socket=...)'}),
  }

  async run(): Promise<SocketStatus[]> {
    const {flags} = await this.parse(SocketStatusCommand)
    const {socketStatus} = await import('../../lib/daemon/socket-status.js')
    let root = flags.root ? resolve(flags.root) : undefined
    if (flags.connect) {
      const {rootOfSocketUri} = await import('../../lib/client/socket-root.js')
      root = rootOfSocketUri(flags.connect) ?? root
    }
    const mode = flags.session ? 'session' : root !== undefined || process.getuid?.() === 0 ? 'system' : 'session'
    const list = await socketStatus({mode, root, all: flags.all})
    if (!this.jsonEnabled()) {
      const {table} = await import('../../lib/cli/table.js')
      const chalk = (await import('chalk')).default
      if (list.length === 0) this.log('no daemon sockets found')
      else {
        this.log(
          table(
            ['Daemon', 'Kind', 'Path', 'Accepts', 'PID', 'Mode', 'Owner'],
            list.map((s) => [
              s.daemon,
              s.kind,
              s.path,
              s.accepts ? chalk.green('yes') : s.exists ? chalk.red('stale') : 'absent',
              s.pid ?? '-',
              s.mode ?? '-',
              s.uid === null ? '-' : `${s.uid}:${s.gid}`,
            ]),
          ),
        )
      }
    }
    return list
  }
}
