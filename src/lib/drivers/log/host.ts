/**
 * What the virtlogd / virtlockd services need from the daemon process hosting them. The
 * `Daemon` class of src/lib/daemon/server.ts satisfies it; `StandaloneHost` below is a minimal
 * stand-in (UNIX sockets, one served program, PID file, signals) used by the library-level tests
 * and usable to embed one service without the full daemon.
 *
 * Shared by src/lib/drivers/log and src/lib/drivers/lock (like reexec.ts and retry.ts); it is
 * daemon-level code and could move to src/lib/daemon/.
 */
import type {Socket} from 'node:net'
import type {DaemonConfig} from '../../daemon/config.js'
import {defaultDaemonConfig} from '../../daemon/config.js'
import {daemonPaths, type DaemonName, type DaemonPaths} from '../../daemon/paths.js'
import {claimPidFile} from '../../daemon/pidfile.js'
import {activatedFds, closeListener, listenFd, listenUnix, type Listener} from '../../daemon/listeners.js'
import {RpcConnection, type ServedProgram} from '../../rpc/server.js'

export interface HostLog {
  debug(msg: string): void
  info(msg: string): void
  warn(msg: string): void
  error(msg: string): void
}

export interface DaemonHost {
  readonly name: string
  readonly paths: DaemonPaths
  readonly config: DaemonConfig
  readonly log: HostLog
  readonly listeners: Listener[]
  readonly clients: Set<RpcConnection>
  readonly stopped: Promise<void>
  stop(): Promise<void>
}

export interface ServiceSetup {
  /** Served on the read-write socket(s). */
  program: ServedProgram
  /** SIGUSR1: hands over to a new process; resolves when done (the caller then exits). */
  reexec: () => Promise<void>
  /** Whether the service has work that must outlive an idle timeout (open logs, held locks). */
  hasActive: () => boolean
}

export interface StandaloneOptions {
  daemon: DaemonName
  root: string
  config?: Partial<DaemonConfig>
  log?: HostLog
  setup: (h: StandaloneHost) => Promise<ServiceSetup>
  /** SIGTERM/SIGINT stop and exit; SIGUSR1 re-executes. */
  handleSignals?: boolean
}

const quiet: HostLog = {debug() {}, info() {}, warn() {}, error() {}}

export class StandaloneHost implements DaemonHost {
  readonly name: string
  readonly paths: DaemonPaths
  readonly config: DaemonConfig
  readonly log: HostLog
  readonly listeners: Listener[] = []
  readonly clients = new Set<RpcConnection>()
  private programs = new Map<number, ServedProgram>()
  private releasePid?: () => void
  private stopping?: Promise<void>
  private stoppedResolve!: () => void
  readonly stopped = new Promise<void>((r) => (this.stoppedResolve = r))
  reexec?: () => Promise<void>

  private constructor(opts: StandaloneOptions) {
    this.name = opts.daemon
    this.paths = daemonPaths({daemon: opts.daemon, mode: 'system', root: opts.root})
    this.config = {...defaultDaemonConfig(), ...opts.config}
    this.log = opts.log ?? quiet
  }

  static async start(opts: StandaloneOptions): Promise<StandaloneHost> {
    const h = new StandaloneHost(opts)
    const fds = activatedFds(process.env)
    for (const k of ['LISTEN_FDS', 'LISTEN_PID', 'LISTEN_FDNAMES']) delete process.env[k]
    h.releasePid = claimPidFile(h.paths.pidFile)
    try {
      const s = await opts.setup(h)
      h.programs.set(s.program.program.prog, s.program)
      h.reexec = s.reexec
      const onConn = (sock: Socket, l: Listener) => h.accept(sock, l)
      if (fds) {
        for (const fd of fds) h.listeners.push(await listenFd(fd, onConn))
      } else {
        h.listeners.push(await listenUnix(h.paths.sockRw, 'rw', '0600', undefined, onConn))
        h.listeners.push(await listenUnix(h.paths.sockAdmin, 'admin', '0600', undefined, onConn))
      }
    } catch (err) {
      await h.stop()
      throw err
    }
    if (opts.handleSignals) {
      const bye = () => void h.stop().then(() => process.exit(0))
      process.once('SIGTERM', bye)
      process.once('SIGINT', bye)
      process.on('SIGUSR1', () => {
        h.log.info('caught SIGUSR1, re-executing')
        h.reexec?.().then(
          () => process.exit(0),
          (err: Error) => h.log.error(`re-exec failed, carrying on: ${err.message}`),
        )
      })
    }
    return h
  }

  private accept(socket: Socket, l: Listener): void {
    const conn = new RpcConnection(socket, {
      programs: l.role === 'admin' ? new Map() : this.programs,
      readonly: false,
      authenticated: true,
      keepaliveInterval: this.config.keepalive_interval,
      keepaliveCount: this.config.keepalive_count,
      maxRequests: this.config.max_client_requests,
    })
    this.clients.add(conn)
    conn.onClose(() => this.clients.delete(conn))
  }

  stop(): Promise<void> {
    if (this.stopping) return this.stopping
    this.stopping = (async () => {
      const closing = this.listeners.map((l) => closeListener(l))
      for (const c of this.clients) c.close()
      await Promise.all(closing)
      this.releasePid?.()
      this.stoppedResolve()
    })()
    return this.stopping
  }
}
