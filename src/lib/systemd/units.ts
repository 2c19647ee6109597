/**
 * vctl's systemd units: which units exist, how they relate, and their rendering from templates/systemd.
 *
 * Every daemon gets a service and socket units named as libvirt names them (libvirtd.service,
 * virtqemud-ro.socket, virtproxyd-tls.socket, ...) listening on libvirt's paths, so clients and
 * admin tools that know libvirt's layout find vctl's daemons where they expect them.
 *
 * Relations:
 *  - each socket is ordered Before= its service; the -ro/-admin/-tcp/-tls sockets Require= (and come
 *    After=) the daemon's main socket, so they never outlive it;
 *  - each service Wants= its sockets (so it also starts alone when they are masked); libvirtd and
 *    virtqemud also Require= virtlogd.socket and Want= virtlockd.socket (guest logs and disk locks);
 *  - libvirtd's sockets and virtproxyd's sockets listen on the same paths and ports, so each one
 *    Conflicts= its counterpart (libvirtd.socket <-> virtproxyd.socket, ... -tls <-> -tls);
 *  - libvirtd.service hosts every driver, so it Conflicts= every modular driver daemon and
 *    virtproxyd: two daemons must never manage the same guests and state directories at once.
 *    systemd applies Conflicts= both ways; virtproxyd.service also states it.
 */
import {existsSync, lstatSync, readFileSync} from 'node:fs'
import {basename, dirname, isAbsolute, join} from 'node:path'
import {daemonPaths, type DaemonName} from '../daemon/paths.js'
import {writeFileAtomic, writeFileIfAbsent} from '../fs-atomic.js'
import {argsDirFor, type ArgsDir} from './args-file.js'

export type SocketKind = 'main' | 'ro' | 'admin' | 'tcp' | 'tls'

export interface DaemonUnits {
  daemon: DaemonName
  /** The `vctl daemon start --driver` value (undefined for libvirtd). */
  driver?: string
  /** What the daemon is, for Description=. */
  title: string
  sockets: SocketKind[]
  /** The environment variable holding extra daemon arguments (e.g. VIRTQEMUD_ARGS). */
  argsVar: string
  defaultArgs: string
  /** KillMode=process: only the daemon is stopped, the guests it started keep running. */
  keepChildren: boolean
  /** Needs virtlogd (Requires) and virtlockd (Wants): the daemons that run QEMU guests. */
  needsLogLock: boolean
}

/** The modular per-driver daemons, in the order libvirt documents them. */
export const MODULAR_DRIVERS = ['qemu', 'network', 'storage', 'secret', 'nodedev', 'nwfilter', 'interface'] as const
export type ModularDriver = (typeof MODULAR_DRIVERS)[number]

const DRIVER_TITLES: Record<ModularDriver, string> = {
  qemu: 'QEMU hypervisor daemon',
  network: 'virtual network daemon',
  storage: 'storage pool daemon',
  secret: 'secret store daemon',
  nodedev: 'host device daemon',
  nwfilter: 'network filter daemon',
  interface: 'host interface daemon',
}

const TIMEOUT_ARGS = '--timeout 120'

function spec(daemon: DaemonName, driver: string | undefined, title: string, sockets: SocketKind[], extra: Partial<DaemonUnits> = {}): DaemonUnits {
  return {
    daemon,
    driver,
    title,
    sockets,
    argsVar: `${daemon.toUpperCase()}_ARGS`,
    defaultArgs: TIMEOUT_ARGS,
    keepChildren: false,
    needsLogLock: false,
    ...extra,
  }
}

export const DAEMON_UNITS: readonly DaemonUnits[] = Object.freeze([
  spec('libvirtd', undefined, 'monolithic daemon (every driver)', ['main', 'ro', 'admin', 'tcp', 'tls'], {keepChildren: true, needsLogLock: true}),
  ...MODULAR_DRIVERS.map((d) =>
    spec(`virt${d}d` as DaemonName, d, DRIVER_TITLES[d], ['main', 'ro', 'admin'], d === 'qemu' ? {keepChildren: true, needsLogLock: true} : {}),
  ),
  spec('virtproxyd', 'proxy', 'proxy daemon (serves the monolithic sockets for the modular daemons)', ['main', 'ro', 'admin', 'tcp', 'tls']),
  // The log and lock daemons hold guests' log pipes and image locks: no idle timeout.
  spec('virtlogd', 'log', 'guest log daemon', ['main', 'admin'], {defaultArgs: ''}),
  spec('virtlockd', 'lock', 'disk lock daemon', ['main', 'admin'], {defaultArgs: ''}),
])

export function daemonUnits(daemon: DaemonName): DaemonUnits {
  const d = DAEMON_UNITS.find((x) => x.daemon === daemon)
  if (!d) throw new Error(`no units for daemon '${daemon}'`)
  return d
}

export function serviceUnit(daemon: DaemonName): string {
  return `${daemon}.service`
}

export function socketUnit(daemon: DaemonName, kind: SocketKind): string {
  return kind === 'main' ? `${daemon}.socket` : `${daemon}-${kind}.socket`
}

/** Every unit of a daemon: the service first, then its sockets (optionally without tcp/tls). */
export function unitsOf(daemon: DaemonName, opts: {network?: boolean} = {}): string[] {
  const d = daemonUnits(daemon)
  const kinds = d.sockets.filter((k) => opts.network !== false || (k !== 'tcp' && k !== 'tls'))
  return [serviceUnit(daemon), ...kinds.map((k) => socketUnit(daemon, k))]
}

/** Every unit vctl installs, in a stable order. */
export function allUnitNames(): string[] {
  return DAEMON_UNITS.flatMap((d) => unitsOf(d.daemon))
}

/** The daemon a unit name belongs to (libvirtd-ro.socket → libvirtd), or undefined. */
export function daemonOfUnit(unit: string): DaemonName | undefined {
  return DAEMON_UNITS.find((d) => unitsOf(d.daemon).includes(unit))?.daemon
}

/** The listener role the daemon derives from the socket's FileDescriptorName (see roleForFdName). */
export function roleOfKind(kind: SocketKind): 'rw' | 'ro' | 'admin' | 'tcp' | 'tls' {
  return kind === 'main' ? 'rw' : kind
}

export const TCP_PORT = 16509
export const TLS_PORT = 16514

/** What a socket unit listens on: libvirt's path under /run/libvirt, or its TCP port. */
export function listenAddress(daemon: DaemonName, kind: SocketKind): string {
  if (kind === 'tcp') return String(TCP_PORT)
  if (kind === 'tls') return String(TLS_PORT)
  const p = daemonPaths({daemon, mode: 'system'})
  const path = kind === 'main' ? p.sockRw : kind === 'ro' ? p.sockRo : p.sockAdmin
  if (!path) throw new Error(`${daemon} has no ${kind} socket`)
  return path
}

/**
 * Socket permissions. vctl has no polkit, so the read-write socket cannot be world-writable the way
 * libvirt's is when polkit checks each client: it is root-only (0600), or group-writable (0660)
 * when a socket group is given. The read-only socket is open to everyone (0666) as in libvirt, since
 * the daemon refuses every write API on it. Admin sockets, and the log/lock daemons' sockets, which
 * only the hypervisor daemons talk to, are root-only (0600).
 */
export function socketMode(daemon: DaemonName, kind: SocketKind, group?: string): string | undefined {
  if (kind === 'tcp' || kind === 'tls') return undefined
  if (daemon === 'virtlogd' || daemon === 'virtlockd') return '0600'
  if (kind === 'ro') return '0666'
  if (kind === 'admin') return '0600'
  return group ? '0660' : '0600'
}

/** The unit whose paths clash with this one (libvirtd's sockets vs virtproxyd's), if any. */
export function counterpartSocket(daemon: DaemonName, kind: SocketKind): string | undefined {
  if (daemon === 'libvirtd') return socketUnit('virtproxyd', kind)
  if (daemon === 'virtproxyd') return socketUnit('libvirtd', kind)
  return undefined
}

export interface RenderOptions {
  /** Absolute path of vctl's bin/run.js, or of an installed `vctl` executable. */
  bin: string
  /** Absolute path of node; defaults to this process's node when bin is a .js file. */
  node?: string
  /** Group owning the read-write sockets (mode 0660 instead of 0600). */
  socketGroup?: string
  /** Where the argument files are (/etc/default on Debian, /etc/sysconfig elsewhere; see args-file.ts). */
  argsDir?: ArgsDir
}

export interface RenderedUnit {
  name: string
  content: string
}

const TEMPLATE_DIR = new URL('../../../templates/systemd/', import.meta.url)
const templateCache = new Map<string, string>()

function template(name: string): string {
  let t = templateCache.get(name)
  if (t === undefined) {
    t = readFileSync(new URL(name, TEMPLATE_DIR), 'utf8')
    templateCache.set(name, t)
  }
  return t
}

/**
 * Fills `@KEY@` placeholders. A line holding only a placeholder becomes as many lines as the value
 * has (none for an empty value); elsewhere the value is inserted as is.
 */
export function fillTemplate(text: string, vars: Record<string, string | string[]>): string {
  const value = (key: string): string | string[] => {
    if (!Object.hasOwn(vars, key)) throw new Error(`template placeholder @${key}@ has no value`)
    return vars[key]
  }
  const out: string[] = []
  for (const line of text.split('\n')) {
    const whole = /^@([A-Z_]+)@$/.exec(line)
    if (whole) {
      const v = value(whole[1])
      out.push(...(Array.isArray(v) ? v : v === '' ? [] : v.split('\n')))
      continue
    }
    out.push(
      line.replace(/@([A-Z_]+)@/g, (_, key: string) => {
        const v = value(key)
        return Array.isArray(v) ? v.join(' ') : v
      }),
    )
  }
  return out.join('\n')
}

/**
 * Quotes one ExecStart= word for systemd: `%` and `$` are escaped (no specifier or variable
 * expansion), and words with blanks, quotes or backslashes are double-quoted.
 */
export function systemdQuote(word: string): string {
  const escaped = word.replaceAll('%', '%%').replaceAll('$', '$$$$')
  if (escaped !== '' && /^[A-Za-z0-9_@%+=:,./$-]+$/.test(escaped)) return escaped
  return `"${escaped.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`
}

/** The command line prefix ExecStart= runs: node and bin/run.js, or the installed vctl. */
export function execCommand(opts: RenderOptions): string[] {
  if (!isAbsolute(opts.bin)) throw new Error(`the vctl executable must be an absolute path, not '${opts.bin}'`)
  if (opts.node !== undefined && !isAbsolute(opts.node)) throw new Error(`the node executable must be an absolute path, not '${opts.node}'`)
  const node = opts.node ?? (/\.[cm]?js$/.test(opts.bin) ? process.execPath : undefined)
  return node ? [node, opts.bin] : [opts.bin]
}

/**
 * What the services' ExecStart= runs: beside bin/run.js, the lean daemon entry bin/vctl-daemon.cjs
 * (the daemon's bundle alone, no ES module loader, no oclif: it serves sooner); else execCommand.
 */
export function daemonExecCommand(opts: RenderOptions): string[] {
  const exec = execCommand(opts)
  const lean = join(dirname(opts.bin), 'vctl-daemon.cjs')
  return basename(opts.bin) === 'run.js' && existsSync(lean) ? [exec[0], lean] : exec
}

function renderService(d: DaemonUnits, exec: string[], argsDir: ArgsDir): RenderedUnit {
  const name = serviceUnit(d.daemon)
  // Wants=, not Requires=, its own sockets, as libvirt's units do: with the sockets masked (the
  // traditional mode) the daemon starts alone and creates its sockets itself.
  const own = d.sockets.filter((k) => k === 'main' || k === 'ro' || k === 'admin').map((k) => socketUnit(d.daemon, k))
  const deps = [`Wants=${own.join(' ')}`]
  if (d.needsLogLock) deps.push('Requires=virtlogd.socket', 'Wants=virtlockd.socket', 'After=virtlogd.socket virtlockd.socket')
  if (d.daemon === 'libvirtd') {
    const others = [...MODULAR_DRIVERS.map((m) => `virt${m}d.service`), 'virtproxyd.service']
    deps.push(`Conflicts=${others.join(' ')}`)
  }
  if (d.daemon === 'virtproxyd') deps.push('Conflicts=libvirtd.service')
  if (d.daemon === 'virtlogd' || d.daemon === 'virtlockd') {
    // Started before, so stopped after, the daemons whose guests write logs / hold locks.
    deps.push('Before=libvirtd.service virtqemud.service')
  }
  const extra: string[] = []
  if (d.keepChildren) {
    extra.push('# Stopping or restarting the daemon must not kill the guests it started.', 'KillMode=process')
    extra.push('LimitNOFILE=1048576')
  }
  const args = ['daemon', 'start', '--system', ...(d.driver ? ['--driver', d.driver] : [])]
  const content = fillTemplate(template('service.in'), {
    UNIT: name,
    DAEMON: d.daemon,
    ARGS_DIR: argsDir,
    DESCRIPTION: `vctl ${d.daemon}: ${d.title}`,
    UNIT_DEPS: deps,
    ARGS_VAR: d.argsVar,
    DEFAULT_ARGS: d.defaultArgs,
    EXEC_START: [...exec, ...args].map(systemdQuote).join(' '),
    SERVICE_EXTRA: extra,
    INSTALL_ALSO: d.sockets.filter((k) => k !== 'tcp' && k !== 'tls').map((k) => `Also=${socketUnit(d.daemon, k)}`),
  })
  return {name, content}
}

const KIND_TITLES: Record<SocketKind, string> = {
  main: 'read-write socket',
  ro: 'read-only socket',
  admin: 'admin socket',
  tcp: 'TCP socket (unencrypted, port 16509)',
  tls: 'TLS socket (port 16514)',
}

function renderSocket(d: DaemonUnits, kind: SocketKind, group: string | undefined): RenderedUnit {
  const name = socketUnit(d.daemon, kind)
  const service = serviceUnit(d.daemon)
  const deps: string[] = []
  if (kind !== 'main') {
    const main = socketUnit(d.daemon, 'main')
    deps.push(`Requires=${main}`, `After=${main}`)
  }
  deps.push(`Before=${service}`)
  const clash = counterpartSocket(d.daemon, kind)
  if (clash) deps.push(`Conflicts=${clash}`)
  const options: string[] = []
  const mode = socketMode(d.daemon, kind, group)
  if (mode) options.push(`SocketMode=${mode}`)
  // A stopped socket leaves no file behind: clients choosing between layouts by which socket file
  // exists (libvirt's own client does) must not pick a dead one.
  if (kind !== 'tcp' && kind !== 'tls') options.push('RemoveOnStop=yes')
  if (group && kind === 'main' && d.daemon !== 'virtlogd' && d.daemon !== 'virtlockd') options.push(`SocketGroup=${group}`)
  const content = fillTemplate(template('socket.in'), {
    UNIT: name,
    DESCRIPTION: `vctl ${d.daemon} ${KIND_TITLES[kind]}`,
    UNIT_DEPS: deps,
    LISTEN: listenAddress(d.daemon, kind),
    SOCKET_OPTIONS: options,
    SERVICE: service,
  })
  return {name, content}
}

/** Renders every unit vctl installs (services and sockets of every daemon). */
export function renderUnits(opts: RenderOptions): RenderedUnit[] {
  if (opts.socketGroup !== undefined && !/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(opts.socketGroup)) {
    throw new Error(`invalid socket group '${opts.socketGroup}'`)
  }
  const exec = daemonExecCommand(opts)
  const out: RenderedUnit[] = []
  for (const d of DAEMON_UNITS) {
    out.push(renderService(d, exec, opts.argsDir ?? '/etc/sysconfig'))
    for (const k of d.sockets) out.push(renderSocket(d, k, opts.socketGroup))
  }
  return out
}

export interface SysconfigFile {
  daemon: DaemonName
  /** Path relative to the root, e.g. /etc/sysconfig/virtqemud. */
  path: string
  content: string
}

/** The /etc/sysconfig/<daemon> (or /etc/default/<daemon>) files holding each daemon's argument variable. */
export function renderSysconfig(argsDir: ArgsDir = '/etc/sysconfig'): SysconfigFile[] {
  return DAEMON_UNITS.map((d) => ({
    daemon: d.daemon,
    path: `${argsDir}/${d.daemon}`,
    content: fillTemplate(template('sysconfig.in'), {
      DAEMON: d.daemon,
      UNIT: serviceUnit(d.daemon),
      COMMAND: `vctl daemon start${d.driver ? ` --driver ${d.driver}` : ''}`,
      ARGS_VAR: d.argsVar,
      DEFAULT_ARGS: d.defaultArgs,
    }),
  }))
}

/** Where unit files go: the vendor directory, or the administrator's with admin. */
export function unitDir(root: string, admin: boolean): string {
  return join(root || '/', admin ? 'etc/systemd/system' : 'usr/lib/systemd/system')
}

/** The directories systemd looks in, most important first (relative to root). */
export const UNIT_SEARCH_DIRS = [
  '/etc/systemd/system',
  '/run/systemd/system',
  '/usr/local/lib/systemd/system',
  '/usr/lib/systemd/system',
  '/lib/systemd/system',
]

/** The unit file systemd would load for `unit` under root (a /dev/null mask link counts), or undefined. */
export function findUnitFile(root: string, unit: string): string | undefined {
  for (const dir of UNIT_SEARCH_DIRS) {
    const p = join(root || '/', dir, unit)
    if (existsSync(p)) return p
  }
  return undefined
}

export interface InstallOptions extends RenderOptions {
  /** Filesystem root to install under ('' or undefined: the real root). */
  root?: string
  /** Install into /etc/systemd/system instead of /usr/lib/systemd/system. */
  admin?: boolean
  /** Replace unit files vctl did not write (e.g. a libvirt package's libvirtd.service). */
  force?: boolean
}

export interface InstallResult {
  root: string
  unitDir: string
  units: Array<{name: string; path: string}>
  sysconfig: Array<{daemon: DaemonName; path: string; written: boolean}>
  /** Unit files of the same name in directories systemd prefers, which hide the installed ones. */
  shadowedBy: string[]
}

/** The marker the templates put on the first line of every unit vctl writes. */
export const GENERATED_MARKER = 'generated by `vctl units install`'

function isRegularFile(path: string): boolean {
  try {
    return lstatSync(path).isFile()
  } catch {
    return false
  }
}

/** Whether a unit file exists at path and was not written by vctl (a /dev/null mask link is not a file). */
function foreignUnitFile(path: string): boolean {
  try {
    if (!lstatSync(path).isFile()) return false
    return !readFileSync(path, 'utf8').split('\n', 1)[0].includes(GENERATED_MARKER)
  } catch {
    return false
  }
}

/**
 * Writes every unit file (replacing older versions, atomically) and the sysconfig files that do
 * not exist yet (an administrator's existing ones are left alone).
 */
export async function installUnits(opts: InstallOptions): Promise<InstallResult> {
  const root = opts.root ?? ''
  const argsDir = opts.argsDir ?? argsDirFor(root)
  const rendered = renderUnits({...opts, argsDir})
  const dir = unitDir(root, opts.admin ?? false)
  if (!opts.force) {
    const foreign = rendered.map((u) => join(dir, u.name)).filter(foreignUnitFile)
    if (foreign.length) {
      throw new Error(
        `${foreign.length === 1 ? 'a unit file' : 'unit files'} not written by vctl would be replaced: ${foreign.join(', ')} ` +
          `(another libvirt installation?); remove ${foreign.length === 1 ? 'it' : 'them'}, install elsewhere with --root or --admin, or replace ${foreign.length === 1 ? 'it' : 'them'} with --force`,
      )
    }
  }
  const units: InstallResult['units'] = []
  for (const u of rendered) {
    const path = join(dir, u.name)
    await writeFileAtomic(path, u.content, 0o644)
    units.push({name: u.name, path})
  }
  const sysconfig: InstallResult['sysconfig'] = []
  for (const s of renderSysconfig(argsDir)) {
    const path = join(root || '/', s.path)
    const written = await writeFileIfAbsent(path, s.content, 0o644)
    sysconfig.push({daemon: s.daemon, path, written})
  }
  // A unit in a directory systemd searches first (e.g. /etc/systemd/system over /usr/lib/...) wins.
  const shadowedBy: string[] = []
  const ours = UNIT_SEARCH_DIRS.indexOf(opts.admin ? '/etc/systemd/system' : '/usr/lib/systemd/system')
  for (const u of rendered) {
    for (const d of UNIT_SEARCH_DIRS.slice(0, ours)) {
      const p = join(root || '/', d, u.name)
      if (isRegularFile(p)) shadowedBy.push(p)
    }
  }
  return {root, unitDir: dir, units, sysconfig, shadowedBy}
}
