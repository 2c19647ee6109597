import {Args, Command, Flags} from '@oclif/core'
import {resolve} from 'node:path'
import type {GuestCheck, SwitchResult} from '../../lib/systemd/mode.js'
import type {StartupMode, StartupResult} from '../../lib/systemd/startup-mode.js'

export type ModeSwitchOutput = SwitchResult & {guests: GuestCheck[]}

export default class ModeSwitch extends Command {
  static override summary = 'Switch between the monolithic daemon (libvirtd) and the modular daemons (virtqemud, ...)'
  static override description = `modular: stops libvirtd.service and its sockets, disables them (masks them with --mask), enables
the chosen drivers' daemons (virt<driver>d.service and its -ro/-admin sockets) and virtproxyd, which
takes over libvirtd's socket paths (and its TCP/TLS sockets when libvirtd's were enabled), then
starts their sockets. monolithic: the reverse.
traditional: for the enabled layout, stops and masks every socket unit, removes --timeout from the
daemons' arguments, orders libvirt-guests After= the services (a copy of its unit in
/etc/systemd/system) and starts the services, which create their sockets themselves (--listen works).
socket-activation: the reverse (the default idle timeout comes back).
Enabling and masking only edit unit files, so they also work on an image with --root; starting and
stopping need a running systemd and are skipped, with the reason, when there is none. If a step
fails, the steps already done are undone. Refuses while guests run unless --force.`

  static override enableJsonFlag = true
  static override examples = [
    '<%= config.bin %> mode switch modular --dry-run',
    '<%= config.bin %> mode switch modular --drivers qemu,network,storage,secret --mask --yes',
    '<%= config.bin %> mode switch monolithic --root /tmp/image --yes --json',
  ]

  static override args = {
    layout: Args.string({
      description: 'the layout (modular, monolithic) or start-up mode (traditional, socket-activation) to switch to',
      options: ['modular', 'monolithic', 'traditional', 'socket-activation'],
      required: true,
    }),
  }

  static override flags = {
    root: Flags.string({description: 'switch the units installed under this directory (systemctl --root)'}),
    drivers: Flags.string({
      description:
        'modular drivers to enable, comma-separated, of qemu,network,storage,secret,nodedev,nwfilter,interface (default: those whose daemon this build can start)',
    }),
    mask: Flags.boolean({description: 'mask the units of the layout switched away from instead of only disabling them'}),
    'dry-run': Flags.boolean({description: 'print the plan and change nothing'}),
    yes: Flags.boolean({char: 'y', description: 'do not ask for confirmation'}),
    force: Flags.boolean({description: 'switch even while guests are running'}),
  }

  async run(): Promise<ModeSwitchOutput | StartupResult> {
    const {args, flags} = await this.parse(ModeSwitch)
    if (args.layout === 'traditional' || args.layout === 'socket-activation') return this.startupMode(args.layout, flags.root)
    const target = args.layout as 'modular' | 'monolithic'
    const mode = await import('../../lib/systemd/mode.js')
    const {Systemctl} = await import('../../lib/systemd/systemctl.js')
    const root = flags.root ? resolve(flags.root) : ''
    if (target === 'monolithic' && flags.drivers !== undefined) {
      this.error('--drivers only applies to `mode switch modular` (monolithic mode runs every driver in libvirtd)', {exit: 2})
    }
    let drivers
    try {
      drivers = mode.parseDrivers(flags.drivers)
    } catch (err) {
      this.error((err as Error).message, {exit: 2})
    }
    const sc = new Systemctl({root: root || undefined})
    let plan
    try {
      const snapshot = await mode.takeSnapshot(sc)
      plan = mode.buildPlan(target, {root, drivers, mask: flags.mask, snapshot})
    } catch (err) {
      this.error((err as Error).message, {exit: 1})
    }

    const guests = await mode.runningGuests(root)
    const running = guests.flatMap((g) => g.guests.map((name) => `${name} (${g.socket})`))
    const unknown = guests.filter((g) => g.error)
    const human = !this.jsonEnabled()

    if (flags['dry-run']) {
      const result = {...mode.dryRunResult(plan, sc), guests}
      if (human) {
        const {table} = await import('../../lib/cli/table.js')
        this.log(`plan: switch${root ? ` ${root}` : ''} to the ${target} layout (dry run, nothing changed)`)
        this.log(
          table(
            ['#', 'Step', 'systemctl', 'Units', 'Runs'],
            result.steps.map((s, i) => [i + 1, s.title, s.verb, s.units.join('\n'), s.offline ? 'yes' : s.reason ? 'skipped' : 'yes']),
          ),
        )
        const reason = sc.onlineUnavailable()
        if (reason) this.log(`start/stop steps would be skipped: ${reason}`)
        if (running.length) this.warn(`running guests: ${running.join(', ')}; the switch needs --force`)
      }
      return result
    }

    if (!flags.force && (running.length || unknown.length)) {
      const why = running.length
        ? `${running.length} guest${running.length === 1 ? ' is' : 's are'} running: ${running.join(', ')}`
        : `cannot tell whether guests are running: ${unknown.map((g) => `${g.socket}: ${g.error}`).join('; ')}`
      this.error(`${why}. Switching stops the daemon that manages them; shut them down first or use --force`, {exit: 1})
    }

    if (!flags.yes && process.stdin.isTTY) {
      const {confirm} = await import('@inquirer/prompts')
      const away = target === 'modular' ? 'libvirtd' : 'the modular daemons'
      const ok = await confirm(
        {
          message: `Switch${root ? ` ${root}` : ''} to the ${target} layout? This ${flags.mask ? 'masks' : 'disables'} ${away}${sc.onlineUnavailable() ? '' : ' and stops it'}.`,
          default: false,
        },
        {output: human ? process.stdout : process.stderr},
      )
      if (!ok) this.error('aborted, nothing changed', {exit: 1})
    }

    let result: SwitchResult
    try {
      result = await mode.executePlan(plan, sc, {renderer: human ? (process.stdout.isTTY ? 'default' : 'simple') : 'silent'})
    } catch (err) {
      if (err instanceof mode.ModeSwitchError && !human) throw err
      this.error((err as Error).message, {exit: 1})
    }
    if (human) {
      const skipped = result.steps.filter((s) => s.status === 'skipped')
      this.log(`switched${root ? ` ${root}` : ''} to the ${target} layout`)
      const {leftOut} = mode.startableDrivers()
      if (target === 'modular' && flags.drivers === undefined && leftOut.length) {
        this.log(`left out: ${leftOut.map((l) => `virt${l.driver}d`).join(', ')} (${leftOut.map((l) => l.reason).join('; ')})`)
      }
      if (skipped.length) this.log(`skipped ${skipped.map((s) => s.title.toLowerCase()).join(', ')}: ${skipped[0].reason}`)
    }
    return {...result, guests}
  }

  /** `mode switch traditional|socket-activation`: the start-up mode of the enabled layout. */
  private async startupMode(target: StartupMode, rootFlag: string | undefined): Promise<StartupResult> {
    const {switchStartupMode} = await import('../../lib/systemd/startup-mode.js')
    const {Systemctl} = await import('../../lib/systemd/systemctl.js')
    const root = rootFlag ? resolve(rootFlag) : ''
    let result: StartupResult
    try {
      result = await switchStartupMode(target, {root, sc: new Systemctl({root: root || undefined})})
    } catch (err) {
      this.error((err as Error).message, {exit: 1})
    }
    if (!this.jsonEnabled()) {
      for (const s of result.steps) this.log(`${s.status === 'done' ? '✔' : '-'} ${s.title}${s.reason ? ` (skipped: ${s.reason})` : ''}`)
      this.log(
        `${result.daemons.join(', ')}: ${target === 'traditional' ? 'traditional mode (the daemons create their sockets)' : 'socket activation'}`,
      )
    }
    return result
  }
}
