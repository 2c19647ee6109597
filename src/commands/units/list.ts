import {Command, Flags} from '@oclif/core'
import {resolve} from 'node:path'
import type {EnablementState} from '../../lib/systemd/systemctl.js'

export interface UnitListEntry {
  unit: string
  daemon: string
  installed: boolean
  /** The unit file systemd would load (a link to /dev/null when masked), or null. */
  path: string | null
  state: EnablementState
}

export default class UnitsList extends Command {
  static override summary = "List vctl's systemd units: installed or not, enabled, disabled, masked or static"
  static override enableJsonFlag = true
  static override examples = ['<%= config.bin %> units list', '<%= config.bin %> units list --root /tmp/image --json']

  static override flags = {
    root: Flags.string({description: 'look at the units under this directory instead of / (systemctl --root)'}),
  }

  async run(): Promise<UnitListEntry[]> {
    const {flags} = await this.parse(UnitsList)
    const {allUnitNames, daemonOfUnit, findUnitFile} = await import('../../lib/systemd/units.js')
    const {Systemctl} = await import('../../lib/systemd/systemctl.js')
    const root = flags.root ? resolve(flags.root) : ''
    const names = allUnitNames()
    let states: Map<string, EnablementState>
    try {
      states = await new Systemctl({root: root || undefined}).isEnabledMany(names)
    } catch (err) {
      this.error((err as Error).message, {exit: 1})
    }
    const list: UnitListEntry[] = names.map((unit) => {
      const path = findUnitFile(root, unit) ?? null
      const state = states.get(unit)!
      return {unit, daemon: daemonOfUnit(unit)!, installed: state !== 'not-found', path, state}
    })
    if (!this.jsonEnabled()) {
      const {table} = await import('../../lib/cli/table.js')
      const chalk = (await import('chalk')).default
      const colour = (s: string) =>
        s.startsWith('enabled') ? chalk.green(s) : s.startsWith('masked') ? chalk.red(s) : s === 'not-found' ? chalk.dim(s) : s
      this.log(
        table(
          ['Unit', 'Daemon', 'State', 'File'],
          list.map((u) => [u.unit, u.daemon, colour(u.state), u.path ?? '-']),
        ),
      )
    }
    return list
  }
}
