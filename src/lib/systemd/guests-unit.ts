/**
 * libvirt-guests.service: on host shutdown it shuts down (or saves) the running guests, on boot it
 * starts them again; `vctl guests start|stop` does the work, configured by libvirt's own file
 * (/etc/default/libvirt-guests on Debian, /etc/sysconfig/libvirt-guests elsewhere).
 * Under socket activation it is ordered After= the daemons' sockets; in the traditional mode a full
 * copy in /etc/systemd/system orders it After= the services instead (libvirtd(8)).
 */
import {lstatSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import type {DaemonName} from '../daemon/paths.js'
import {writeFileAtomic, writeFileIfAbsent} from '../fs-atomic.js'
import {argsDirFor, type ArgsDir} from './args-file.js'
import {GENERATED_MARKER, execCommand, serviceUnit, socketUnit, systemdQuote, unitDir, type InstallOptions} from './units.js'

export const GUESTS_UNIT = 'libvirt-guests.service'
/** First line of the copy the traditional mode writes into /etc/systemd/system. */
export const TRADITIONAL_MARKER = 'written by `vctl mode switch traditional`'

/** The sockets it is ordered after under socket activation: whichever layout serves the guests. */
const AFTER_SOCKETS = ['libvirtd.socket', 'virtqemud.socket', 'virtproxyd.socket']

export function renderGuestsUnit(exec: string[], argsDir: ArgsDir): {name: string; content: string} {
  const cmd = (verb: string) => [...exec, 'guests', verb].map(systemdQuote).join(' ')
  const content = `# ${GUESTS_UNIT} - ${GENERATED_MARKER}; reinstalling overwrites it.
# Configure it in ${argsDir}/libvirt-guests (ON_BOOT, ON_SHUTDOWN, SHUTDOWN_TIMEOUT, PARALLEL_SHUTDOWN, START_DELAY, URIS).
[Unit]
Description=vctl libvirt-guests: shut down (or save) running guests on host shutdown, start them on boot
After=network.target time-sync.target virtlogd.socket virtlockd.socket
After=${AFTER_SOCKETS.join(' ')}

[Service]
EnvironmentFile=-${argsDir}/libvirt-guests
ExecStart=${cmd('start')}
ExecStop=${cmd('stop')}
Type=oneshot
RemainAfterExit=yes
StandardOutput=journal+console
TimeoutStopSec=0

[Install]
WantedBy=multi-user.target
`
  return {name: GUESTS_UNIT, content}
}

/** The traditional-mode copy of the guests unit: After= names the daemons' services, not their sockets. */
export function guestsUnitFor(vendor: string, daemons: DaemonName[]): string {
  const swap = new Map(daemons.map((d) => [socketUnit(d, 'main'), serviceUnit(d)]))
  const body = vendor
    .split('\n')
    .filter((l) => !l.includes(TRADITIONAL_MARKER))
    .map((l) => {
      const m = /^(After|Wants|Requires)=(.*)$/.exec(l)
      if (!m) return l
      return `${m[1]}=${m[2]
        .split(/\s+/)
        .map((u) => swap.get(u) ?? u)
        .join(' ')}`
    })
  return [`# ${GUESTS_UNIT} - ${TRADITIONAL_MARKER}; switching back to socket activation removes it.`, ...body].join('\n')
}

const CONFIG = `# Configuration of libvirt-guests.service (\`vctl guests start|stop\`), in libvirt's format.
# URIS: the connections whose guests are handled (default: qemu:///system).
#URIS=qemu:///system
# ON_BOOT: start (the guests that ran at shutdown, and autostart ones) or ignore.
#ON_BOOT=start
# START_DELAY: seconds between two guest starts.
#START_DELAY=0
# ON_SHUTDOWN: shutdown (ACPI power button, then wait) or suspend (managed save).
#ON_SHUTDOWN=shutdown
# PARALLEL_SHUTDOWN: how many guests shut down at once (0: one after the other).
#PARALLEL_SHUTDOWN=0
# SHUTDOWN_TIMEOUT: seconds to wait for the guests to shut down (0: no limit).
#SHUTDOWN_TIMEOUT=300
`

/** Installs libvirt-guests.service beside the daemons' units, and its configuration file when absent. */
export async function installGuestsUnit(opts: InstallOptions): Promise<{unit: string; config: string; configWritten: boolean}> {
  const root = opts.root ?? ''
  const argsDir = opts.argsDir ?? argsDirFor(root)
  const unit = join(unitDir(root, opts.admin ?? false), GUESTS_UNIT)
  if (!opts.force) {
    let foreign: boolean
    try {
      foreign = lstatSync(unit).isFile() && !readFileSync(unit, 'utf8').split('\n', 1)[0].includes(GENERATED_MARKER)
    } catch {
      foreign = false
    }
    if (foreign)
      throw new Error(`a unit file not written by vctl would be replaced: ${unit} (another libvirt installation?); replace it with --force`)
  }
  await writeFileAtomic(unit, renderGuestsUnit(execCommand(opts), argsDir).content, 0o644)
  const config = join(root || '/', argsDir, 'libvirt-guests')
  const configWritten = await writeFileIfAbsent(config, CONFIG, 0o644)
  return {unit, config, configWritten}
}
