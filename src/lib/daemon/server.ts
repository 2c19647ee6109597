/**
 * One daemon process (libvirtd, or a modular daemon): reads its config, claims its PID file,
 * listens on its sockets (or the ones systemd handed over), serves the RPC programs to each
 * client, and exits on SIGTERM/SIGINT or when idle past --timeout.
 */
import type {Socket} from 'node:net'
import {readFileSync} from 'node:fs'
import {loadDaemonConfig, type DaemonConfig} from './config.js'
import {daemonNameForDriver, daemonPaths, type DaemonName, type DaemonPaths} from './paths.js'
import {saslOptions} from './auth-config.js'
import {claimPidFile} from './pidfile.js'
import {prepareDaemonTree} from './dirs.js'
import {activatedFds, closeListener, listenFd, listenTcp, listenUnix, type Listener} from './listeners.js'
import {Logger, type LogLevel} from './logging.js'
import {AuthType, createRemoteProgram} from './remote.js'
import {ClientTransport, createAdminProgram} from './admin.js'
import {createProxyProgram} from './proxy.js'
import type {ServiceSetup} from '../services/host.js'
import {RpcConnection, type ServedProgram} from '../rpc/server.js'
import {DriverRegistry} from '../drivers/registry.js'
import {TestDriver} from '../drivers/test/driver.js'
import type {HypervisorDriver} from '../drivers/types.js'
import {setupDrivers, setupServices} from './driver-hooks.js'
import {StartupGate} from './startup-gate.js'
import {REMOTE_PROGRAM} from '../rpc/programs/remote.js'
import {ADMIN_PROGRAM} from '../rpc/programs/admin.js'
import {IMPLEMENTED_MODULAR} from '../daemons.js'

export interface DaemonOptions {
  driver?: string
  mode: 'system' | 'session'
  root?: string
  configFile?: string
  listen?: boolean
  timeout?: number
  verbose?: boolean
  pidFile?: string
  env?: NodeJS.ProcessEnv
  /** Install SIGTERM/SIGINT handlers (the CLI does; embedded test daemons do not). */
  handleSignals?: boolean
  /** Called once the daemon accepts connections, its drivers maybe still starting (systemd's READY=1, as libvirtd sends it). */
  onListening?: () => void
}

export class DaemonStartError extends Error {}

/** Socket-activated: how long the other drivers' set-up may wait while the first clients are served. */
const OTHERS_DELAY_MS = 250

/** Wall and CPU milliseconds since the process started, for the start-up debug line. */
function phase(): string {
  const cpu = process.cpuUsage()
  return `${performance.now().toFixed(0)}/${((cpu.user + cpu.system) / 1000).toFixed(0)}`
}

/** Auth scheme names of the config (auth_unix_rw, ...) and the type AUTH_LIST reports for each. */
const AUTH_TYPES: Record<string, number> = {none: AuthType.NONE, sasl: AuthType.SASL, polkit: AuthType.POLKIT}

/** Transport of a listener role as the admin API reports a client's. */
const TRANSPORTS: Record<Listener['role'], number> = {
  rw: ClientTransport.UNIX,
  ro: ClientTransport.UNIX,
  admin: ClientTransport.UNIX,
  tcp: ClientTransport.TCP,
  tls: ClientTransport.TLS,
}

/**
 * One of libvirt's servers in a daemon: the main one (rw, ro, tcp, tls listeners; max_clients)
 * or the admin one (admin socket; admin_max_clients). A connection beyond the limit waits,
 * unread, until a slot frees (libvirt stops accepting and leaves it in the listen backlog of
 * max_queued_clients); beyond the backlog it is refused.
 */
interface ClientSlots {
  max: number
  maxQueued: number
  active: number
  waiting: Array<{socket: Socket; listener: Listener}>
}

export class Daemon {
  readonly name: DaemonName
  readonly paths: DaemonPaths
  readonly config: DaemonConfig
  readonly log: Logger
  readonly registry: DriverRegistry
  /** Holds clients' calls until the drivers they need are set up. */
  readonly gate: StartupGate
  readonly listeners: Listener[] = []
  readonly clients = new Set<RpcConnection>()
  readonly activated: boolean
  private releasePid?: () => void
  private idleTimer?: NodeJS.Timeout
  private idleSince = Date.now()
  private timeoutSecs: number
  private stopping?: Promise<void>
  private stoppedResolve!: () => void
  readonly stopped = new Promise<void>((r) => (this.stoppedResolve = r))
  private readonly hypervisors: HypervisorDriver[] = []
  /** Busy-poll window per connection (VCTL_BUSY_POLL_US, default 100 us; 0 disables). */
  private readonly busyPollUs = Number(process.env.VCTL_BUSY_POLL_US ?? 100) || 0

  private constructor(name: DaemonName, paths: DaemonPaths, config: DaemonConfig, log: Logger, opts: DaemonOptions, activated: boolean) {
    this.name = name
    this.paths = paths
    this.config = config
    this.log = log
    this.timeoutSecs = opts.timeout ?? 0
    this.activated = activated
    this.registry = new DriverRegistry(paths.mode, 'test:///default')
    this.gate = new StartupGate(this.registry)
    this.remoteProgram = this.makeRemoteProgram()
    this.adminProgram = this.makeAdminProgram()
    this.mainSlots = {max: config.max_clients, maxQueued: config.max_queued_clients, active: 0, waiting: []}
    this.adminSlots = {max: config.admin_max_clients, maxQueued: config.admin_max_queued_clients, active: 0, waiting: []}
  }

  static async start(opts: DaemonOptions): Promise<Daemon> {
    const env = opts.env ?? process.env
    const name = daemonNameForDriver(opts.driver)
    const basePaths = daemonPaths({daemon: name, mode: opts.mode, root: opts.root, env})
    const configFile = opts.configFile ?? basePaths.configFile
    const {config, warnings} = await loadDaemonConfig(configFile, {required: opts.configFile !== undefined})
    const log = new Logger(opts.verbose ? 1 : ((config.log_level ?? 3) as LogLevel))
    for (const w of warnings) log.warn(w)
    const paths = config.unix_sock_dir
      ? daemonPaths({daemon: name, mode: opts.mode, root: opts.root, env, unixSockDir: config.unix_sock_dir})
      : basePaths
    if (opts.pidFile) paths.pidFile = opts.pidFile
    const fds = activatedFds(env)
    // Guests and helpers started later must not think the sockets are theirs.
    for (const k of ['LISTEN_FDS', 'LISTEN_PID', 'LISTEN_FDNAMES']) Reflect.deleteProperty(env, k)
    if (fds && opts.listen) {
      throw new DaemonStartError("--listen parameter not permitted with systemd activation sockets, see 'man libvirtd' for further guidance")
    }
    const d = new Daemon(name, paths, config, log, opts, fds !== undefined)
    try {
      // Directories with libvirt's modes, and the temp files of writers killed mid-write removed.
      for (const f of prepareDaemonTree(paths, name)) log.info(`removed stale temporary file ${f}`)
      d.releasePid = claimPidFile(paths.pidFile)
    } catch (err) {
      throw new DaemonStartError((err as Error).message)
    }
    const configured = phase()
    try {
      // Listening first: clients wait in this process, each call for no more than it needs (startup-gate.ts).
      await d.setupServices()
      await d.setupListeners(fds, opts.listen ?? false)
      const listening = phase()
      d.whenServing(() => opts.onListening?.())
      await d.setupDrivers()
      await d.gate.finish()
      log.debug(`start-up (ms since the process started, wall/CPU): config ${configured}, listening ${listening}, drivers ${phase()}`)
    } catch (err) {
      await d.gate.finish()
      await d.stop()
      throw err instanceof DaemonStartError ? err : new DaemonStartError((err as Error).message)
    }
    if (opts.handleSignals) {
      const onSignal = (sig: string) => {
        log.info(`caught ${sig}, shutting down`)
        void d.stop().then(() => process.exit(0))
      }
      process.once('SIGTERM', () => onSignal('SIGTERM'))
      process.once('SIGINT', () => onSignal('SIGINT'))
      const reexec = d.services[0]?.reexec
      if (reexec) {
        process.on('SIGUSR1', () => {
          log.info('caught SIGUSR1, re-executing')
          reexec().then(
            () => process.exit(0),
            (err: unknown) => log.error(`re-exec failed, carrying on: ${(err as Error).message}`),
          )
        })
      }
    }
    d.armIdleTimer()
    for (const fn of d.readyHooks) {
      fn().catch((err: unknown) => log.error(`autostart failed: ${(err as Error).message}`))
    }
    log.info(`${name} ready: ${d.listeners.map((l) => `${l.role}=${l.address}`).join(' ')}`)
    return d
  }

  /** Which drivers this daemon hosts: libvirtd all of them, a modular daemon its own. */
  private hosts(driver: string): boolean {
    return this.name === 'libvirtd' || this.name === `virt${driver}d`
  }

  /** What must be there before the daemon listens: its program (proxy, log, lock), and the plan of its drivers. */
  private async setupServices(): Promise<void> {
    if (this.name === 'virtproxyd') {
      this.remoteProgram = createProxyProgram({
        sockDir: this.paths.sockDir,
        mode: this.paths.mode,
        busyPollUs: this.busyPollUs,
        log: (m) => this.log.debug(m),
      })
      return
    }
    if (this.name !== 'libvirtd' && !IMPLEMENTED_MODULAR.includes(this.name)) {
      throw new DaemonStartError(
        `${this.name}: vctl has no ${this.name.replace(/^virt|d$/g, '')} driver yet; modular daemons available: ${IMPLEMENTED_MODULAR.join(', ')}`,
      )
    }
    if (this.name === 'libvirtd') {
      // test:///default is made on its first open: building its host costs start-up time that
      // clients of the other drivers would wait for, and nothing of it shows before an open.
      let test: TestDriver | undefined
      const get = (): TestDriver => {
        if (!test) {
          test = new TestDriver()
          this.hypervisors.push(test)
        }
        return test
      }
      this.registry.addHypervisor({scheme: 'test', get})
    }
    await setupServices(this, (driver) => this.hosts(driver), this.gate)
  }

  /**
   * Runs `ready` (systemd's readiness) once the daemon serves. Socket-activated, a client already
   * waits: the notification (which loads a native library) waits as the other drivers do.
   */
  private whenServing(ready: () => void): void {
    if (!this.activated) ready()
    else void this.othersOrDelay().then(() => !this.stopping && ready())
  }

  /** Once something needs more than the hypervisor drivers (see StartupGate.othersNeeded), or OTHERS_DELAY_MS. */
  private async othersOrDelay(): Promise<void> {
    let timer: NodeJS.Timeout | undefined
    await Promise.race([this.gate.othersWanted, new Promise<void>((r) => (timer = setTimeout(r, OTHERS_DELAY_MS)))])
    clearTimeout(timer)
  }

  /**
   * The drivers, once the daemon listens: hypervisors first (startup-gate.ts holds the calls that
   * need them). Socket-activated with a client connected: the other drivers' set-up would
   * compete with its first calls for the process, so it starts once something needs them, a
   * client has gone, or OTHERS_DELAY_MS have passed.
   */
  private async setupDrivers(): Promise<void> {
    if (this.name === 'virtproxyd') return
    const settle = async (): Promise<void> => {
      if (this.activated && this.clients.size > 0) await this.othersOrDelay()
    }
    await setupDrivers(this, (driver) => this.hosts(driver), this.gate, settle)
  }

  private readyHooks: Array<() => Promise<void>> = []
  /** virtlogd / virtlockd: their program replaces REMOTE on the rw socket; SIGUSR1 re-executes. */
  readonly services: ServiceSetup[] = []

  /** Lets virtlogd / virtlockd register their service (see the hooks at the bottom of this file). */
  addService(s: ServiceSetup): void {
    this.services.push(s)
  }

  /** Runs `fn` once the daemon listens (e.g. autostarting guests). */
  afterReady(fn: () => Promise<void>): void {
    this.readyHooks.push(fn)
  }

  /** Lets a driver module register itself (see the hooks at the bottom of this file). */
  addHypervisor(scheme: string, driver: HypervisorDriver): void {
    this.hypervisors.push(driver)
    this.registry.addHypervisor({scheme, get: () => driver})
  }

  private programsFor(role: Listener['role']): Map<number, ServedProgram> {
    const m = new Map<number, ServedProgram>()
    if (role === 'admin') m.set(ADMIN_PROGRAM, this.adminProgram)
    else if (this.services.length) for (const s of this.services) m.set(s.program.program.prog, s.program)
    else m.set(REMOTE_PROGRAM, this.remoteProgram)
    return m
  }

  private readonly connListener = new WeakMap<RpcConnection, Listener>()

  private remoteProgram: ServedProgram
  private readonly adminProgram: ServedProgram

  private makeRemoteProgram(): ServedProgram {
    return createRemoteProgram({
      registry: {open: (name) => this.gate.open(name)},
      isSecure: (conn) => {
        const role = this.connListener.get(conn)?.role
        return role !== 'tcp' || conn.securityLayer.active
      },
      authType: (conn) => AUTH_TYPES[this.authScheme(this.connListener.get(conn)?.role)] ?? AuthType.NONE,
      sasl: saslOptions(
        this.paths,
        () => this.config.sasl_allowed_username_list,
        (m) => this.log.info(m),
      ),
      gate: (def, fn) => this.gate.wrap(def, fn),
    })
  }

  private makeAdminProgram(): ServedProgram {
    return createAdminProgram({
      servers: [
        {
          name: 'admin',
          clients: () => [...this.clients].filter((c) => this.connListener.get(c)?.role === 'admin'),
          limits: () => ({max: this.config.admin_max_clients, unauthMax: this.config.max_anonymous_clients}),
          transport: () => ClientTransport.UNIX,
          sockAddr: (c) => this.connListener.get(c)?.address ?? '',
        },
        {
          name: this.name === 'libvirtd' ? 'libvirtd' : this.name,
          clients: () => [...this.clients].filter((c) => this.connListener.get(c)?.role !== 'admin'),
          limits: () => ({max: this.config.max_clients, unauthMax: this.config.max_anonymous_clients}),
          transport: (c) => TRANSPORTS[this.connListener.get(c)?.role ?? 'rw'],
          sockAddr: (c) => this.connListener.get(c)?.address ?? '',
        },
      ],
      workers: {min: this.config.min_workers, max: this.config.max_workers, prio: this.config.prio_workers},
      setTimeout: (secs) => {
        this.timeoutSecs = secs
        this.idleSince = Date.now()
        this.armIdleTimer()
      },
    })
  }

  /** The auth scheme configured for a listener role. */
  private authScheme(role: Listener['role'] | undefined): string {
    if (role === 'admin') return 'none'
    if (role === 'ro') return this.config.auth_unix_ro
    if (role === 'tcp') return this.config.auth_tcp ?? 'sasl'
    if (role === 'tls') return this.config.auth_tls
    return this.config.auth_unix_rw
  }

  private checkAuth(key: 'auth_unix_rw' | 'auth_unix_ro' | 'auth_tls'): void {
    const v = this.config[key]
    if (v !== 'none' && v !== 'sasl') {
      throw new DaemonStartError(`${key} = "${v}" is not supported by vctl (set it to "none" and restrict access with the socket permissions)`)
    }
  }

  private tlsOptions() {
    const root = this.paths.root
    const file = (configured: string | undefined, dflt: string) => configured ?? `${root}${dflt}`
    const ca = file(this.config.ca_file, '/etc/pki/CA/cacert.pem')
    const cert = file(this.config.cert_file, '/etc/pki/libvirt/servercert.pem')
    const key = file(this.config.key_file, '/etc/pki/libvirt/private/serverkey.pem')
    const read = (what: string, p: string) => {
      try {
        return readFileSync(p)
      } catch (err) {
        throw new DaemonStartError(`cannot read TLS ${what} '${p}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
      }
    }
    return {
      ca: read('CA certificate', ca),
      cert: read('server certificate', cert),
      key: read('server key', key),
      requestCert: true,
      rejectUnauthorized: !this.config.tls_no_verify_certificate,
      allowedDn: this.config.tls_allowed_dn_list,
      log: this.log,
    }
  }

  private async setupListeners(fds: ReturnType<typeof activatedFds>, listen: boolean): Promise<void> {
    const onConn = (s: Socket, l: Listener) => this.accept(s, l)
    if (fds) {
      for (const fd of fds) {
        const l = await listenFd(fd, onConn, fd.name.endsWith('-tls.socket') ? this.tlsOptions() : undefined)
        this.listeners.push(l)
        this.log.debug(`inherited ${l.role} socket ${l.address}`)
      }
      return
    }
    this.checkAuth('auth_unix_rw')
    const group = this.config.unix_sock_group
    this.listeners.push(await listenUnix(this.paths.sockRw, 'rw', this.config.unix_sock_rw_perms, group, onConn))
    if (this.paths.sockRo) {
      this.checkAuth('auth_unix_ro')
      this.listeners.push(await listenUnix(this.paths.sockRo, 'ro', this.config.unix_sock_ro_perms, group, onConn))
    }
    this.listeners.push(await listenUnix(this.paths.sockAdmin, 'admin', this.config.unix_sock_admin_perms, group, onConn))
    if (!listen) return
    const host = this.config.listen_addr
    if (this.config.listen_tcp) {
      const tcpAuth = this.config.auth_tcp ?? 'sasl'
      if (tcpAuth !== 'none' && tcpAuth !== 'sasl')
        throw new DaemonStartError(`auth_tcp = "${tcpAuth}" is not supported by vctl (use "sasl" or "none")`)
      this.listeners.push(await listenTcp(host, Number(this.config.tcp_port), 'tcp', onConn))
    }
    if (this.config.listen_tls) {
      this.checkAuth('auth_tls')
      this.listeners.push(await listenTcp(host, Number(this.config.tls_port), 'tls', onConn, this.tlsOptions()))
    }
  }

  private readonly mainSlots: ClientSlots
  private readonly adminSlots: ClientSlots

  private accept(socket: Socket, l: Listener): void {
    const slots = l.role === 'admin' ? this.adminSlots : this.mainSlots
    if (slots.active < slots.max) {
      this.serve(socket, l, slots)
      return
    }
    if (slots.waiting.length >= slots.maxQueued) {
      this.log.warn(`too many clients waiting (${slots.waiting.length}), refusing a connection on ${l.address}`)
      socket.destroy()
      return
    }
    if (slots.waiting.length === 0) this.log.warn(`${slots.active} clients, the most allowed: new connections on ${l.address} wait for a slot`)
    socket.pause()
    const entry = {socket, listener: l}
    slots.waiting.push(entry)
    socket.on('error', () => socket.destroy())
    socket.once('close', () => {
      const i = slots.waiting.indexOf(entry)
      if (i >= 0) slots.waiting.splice(i, 1)
    })
  }

  /** Serves waiting connections while slots are free. */
  private admit(slots: ClientSlots): void {
    while (slots.active < slots.max && slots.waiting.length && !this.stopping) {
      const {socket, listener} = slots.waiting.shift()!
      if (!socket.destroyed) this.serve(socket, listener, slots)
    }
  }

  private serve(socket: Socket, l: Listener, slots: ClientSlots): void {
    const admin = l.role === 'admin'
    slots.active++
    const conn = new RpcConnection(socket, {
      programs: this.programsFor(l.role),
      readonly: l.role === 'ro',
      authenticated: this.authScheme(l.role) === 'none',
      keepaliveInterval: admin ? this.config.admin_keepalive_interval : this.config.keepalive_interval,
      keepaliveCount: admin ? this.config.admin_keepalive_count : this.config.keepalive_count,
      maxRequests: admin ? this.config.admin_max_client_requests : this.config.max_client_requests,
      // virtproxyd does not spin for its clients' next calls: the client needs that core to make
      // them, and the backend's. It polls for its backends' replies instead (see proxy.ts).
      busyPollUs: this.name === 'virtproxyd' ? 0 : this.busyPollUs,
      log: (m) => this.log.debug(m),
    })
    this.connListener.set(conn, l)
    this.clients.add(conn)
    this.log.debug(`client ${conn.id} connected on ${l.role} ${l.address}`)
    socket.resume()
    conn.onClose(() => {
      if (!this.gate.complete) this.gate.othersNeeded()
      slots.active--
      this.admit(slots)
      this.clients.delete(conn)
      if (this.clients.size === 0) this.idleSince = Date.now()
      this.log.debug(`client ${conn.id} disconnected`)
    })
  }

  private armIdleTimer(): void {
    if (this.idleTimer) clearInterval(this.idleTimer)
    this.idleTimer = undefined
    if (!this.timeoutSecs) return
    const ms = this.timeoutSecs * 1000
    this.idleTimer = setInterval(
      () => {
        const busy = this.clients.size > 0 || this.hypervisors.some((h) => h.hasActiveDomains()) || this.services.some((s) => s.hasActive())
        if (busy) {
          this.idleSince = Date.now()
          return
        }
        if (Date.now() - this.idleSince >= ms) {
          this.log.info(`idle for ${this.timeoutSecs}s, exiting`)
          void this.stop()
        }
      },
      Math.min(250, ms),
    )
  }

  /** Stops listening, removes the sockets and PID file, closes clients. Guests keep running. */
  stop(): Promise<void> {
    if (this.stopping) return this.stopping
    this.stopping = (async () => {
      if (this.idleTimer) clearInterval(this.idleTimer)
      // Clients first: closing a server waits for its open connections.
      for (const slots of [this.mainSlots, this.adminSlots]) for (const w of slots.waiting.splice(0)) w.socket.destroy()
      for (const c of this.clients) c.close()
      await Promise.all(this.listeners.map((l) => closeListener(l)))
      for (const h of this.hypervisors) await h.shutdownDriver?.()
      this.releasePid?.()
      this.stoppedResolve()
    })()
    return this.stopping
  }
}
