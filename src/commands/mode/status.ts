import {Command, Flags} from '@oclif/core'
import {resolve} from 'node:path'
import type {ModeStatus} from '../../lib/systemd/mode.js'

export default class ModeStatusCommand extends Command {
  static override summary = 'Show which layout (monolithic or modular) the units select, and which daemons are running'
  static override enableJsonFlag = true
  static override examples = ['<%= config.bin %> mode status', '<%= config.bin %> mode status --root /tmp/image --json']

  static override flags = {
    root: Flags.string({description: 'look at the units and sockets under this directory instead of /'}),
  }

  async run(): Promise<ModeStatus> {
    const {flags} = await this.parse(ModeStatusCommand)
    const {modeStatus} = await import('../../lib/systemd/mode.js')
    const root = flags.root ? resolve(flags.root) : ''
    let status: ModeStatus
    try {
      status = await modeStatus({root})
    } catch (err) {
      this.error((err as Error).message, {exit: 1})
    }
    if (!this.jsonEnabled()) {
      const {keyValues, table} = await import('../../lib/cli/table.js')
      const enabled = status.units.filter((u) => /^(enabled|linked|alias)/.test(u.state)).map((u) => u.unit)
      const masked = status.units.filter((u) => u.state.startsWith('masked')).map((u) => u.unit)
      const missing = status.units.filter((u) => u.state === 'not-found').length
      this.log(
        keyValues([
          ['Root', status.root || '/'],
          ['Configured layout', status.configured],
          ['Modular drivers', status.drivers.join(', ') || '-'],
          ['virtproxyd', status.proxy],
          ['Enabled units', enabled.join(' ') || '-'],
          ['Masked units', masked.join(' ') || '-'],
          ['Units not installed', missing],
          ['systemd running', status.systemd.running],
        ]),
      )
      if (status.running.length === 0) this.log('no daemon is answering on its sockets')
      else
        this.log(
          table(
            ['Running daemon', 'PID', 'Sockets'],
            status.running.map((d) => [d.daemon, d.pid ?? '-', d.sockets.join('\n')]),
          ),
        )
    }
    return status
  }
}
