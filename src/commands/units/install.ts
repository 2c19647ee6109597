import {Command, Flags} from '@oclif/core'
import {join, resolve} from 'node:path'
import type {InstallResult} from '../../lib/systemd/units.js'

export type UnitsInstallResult = InstallResult & {
  guests: {unit: string; config: string; configWritten: boolean}
  /** Socket units masked because their daemon's arguments carry --listen. */
  masked: string[]
  reload: {skipped: boolean; reason?: string}
}

export default class UnitsInstall extends Command {
  static override summary = 'Install systemd units (services and sockets) for every vctl daemon'
  static override description = `Writes libvirtd.service and its sockets, the modular daemons' units (virtqemud, virtnetworkd,
virtstoraged, virtsecretd, virtnodedevd, virtnwfilterd, virtinterfaced), virtproxyd's, virtlogd's and
virtlockd's into DIR/usr/lib/systemd/system (DIR/etc/systemd/system with --admin), replacing older
versions atomically, libvirt-guests.service, and the argument files that do not exist yet
(/etc/default/<daemon> on Debian, /etc/sysconfig/<daemon> elsewhere). The socket units of a daemon
whose arguments carry --listen are masked (traditional mode).
Nothing is enabled: choose a layout with \`vctl mode switch monolithic|modular\`.`

  static override enableJsonFlag = true
  static override examples = [
    '<%= config.bin %> units install',
    '<%= config.bin %> units install --root /tmp/image --json',
    '<%= config.bin %> units install --admin --bin /usr/local/bin/vctl --socket-group libvirt',
  ]

  static override flags = {
    root: Flags.string({description: 'install under this directory instead of /'}),
    bin: Flags.string({description: 'absolute path of the vctl executable or bin/run.js the units run (default: this vctl)'}),
    node: Flags.string({description: 'absolute path of node to run bin/run.js with (default: this node)'}),
    admin: Flags.boolean({description: 'install into /etc/systemd/system (administrator units) instead of /usr/lib/systemd/system'}),
    'socket-group': Flags.string({description: 'group owning the read-write sockets (mode 0660 instead of 0600)'}),
    force: Flags.boolean({description: 'replace unit files vctl did not write (e.g. those of a libvirt package)'}),
  }

  async run(): Promise<UnitsInstallResult> {
    const {flags} = await this.parse(UnitsInstall)
    const {existsSync} = await import('node:fs')
    const {installUnits} = await import('../../lib/systemd/units.js')
    const {Systemctl} = await import('../../lib/systemd/systemctl.js')
    const root = flags.root ? resolve(flags.root) : ''
    const bin = flags.bin ?? join(this.config.root, 'bin/run.js')
    const {installGuestsUnit} = await import('../../lib/systemd/guests-unit.js')
    const {maskSocketsOfListeningDaemons} = await import('../../lib/systemd/startup-mode.js')
    let result: InstallResult
    let guests: UnitsInstallResult['guests']
    const opts = {root, admin: flags.admin, bin, node: flags.node, socketGroup: flags['socket-group'], force: flags.force}
    try {
      result = await installUnits(opts)
      guests = await installGuestsUnit(opts)
    } catch (err) {
      this.error((err as Error).message, {exit: 1})
    }
    if (result.shadowedBy.length) this.warn(`these unit files take precedence over the installed ones: ${result.shadowedBy.join(', ')}`)
    if (!root && !existsSync(bin)) this.warn(`${bin} does not exist: the services will fail to start until it does`)
    // A running systemd must re-read the unit files; with --root there is nothing to tell.
    let reload: UnitsInstallResult['reload'] = {skipped: true, reason: 'installed under --root'}
    if (!root) {
      try {
        const r = await new Systemctl().daemonReload()
        reload = r.skipped ? {skipped: true, reason: r.reason} : {skipped: false}
      } catch (err) {
        this.warn(`systemctl daemon-reload failed: ${(err as Error).message}`)
        reload = {skipped: true, reason: (err as Error).message}
      }
    }
    // A daemon whose arguments carry --listen runs in the traditional mode: its socket units are
    // masked, as libvirt's packaging does on upgrade.
    let masked: string[] = []
    try {
      masked = await maskSocketsOfListeningDaemons(root, new Systemctl({root: root || undefined}))
    } catch (err) {
      this.error(`masking the socket units of the daemons started with --listen failed: ${(err as Error).message}`, {exit: 1})
    }
    if (!this.jsonEnabled()) {
      if (masked.length) this.log(`masked ${masked.join(', ')}: the arguments of their daemons carry --listen (traditional mode)`)
      const written = result.sysconfig.filter((s) => s.written)
      this.log(`installed ${result.units.length} units into ${result.unitDir}`)
      if (written.length) this.log(`wrote ${written.map((s) => s.path).join(', ')}`)
      const kept = result.sysconfig.length - written.length
      if (kept) this.log(`kept ${kept} existing sysconfig file${kept === 1 ? '' : 's'}`)
      this.log(reload.skipped ? `daemon-reload skipped: ${reload.reason}` : 'systemd reloaded')
      this.log(`next: ${this.config.bin} mode switch monolithic|modular${root ? ` --root ${root}` : ''}`)
    }
    return {...result, guests, masked, reload}
  }
}
