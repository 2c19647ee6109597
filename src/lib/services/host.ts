/**
 * What the virtlogd / virtlockd services need from the daemon process hosting them: the `Daemon`
 * class of src/lib/daemon/server.ts, which also runs them in the library-level tests.
 *
 * The services (log/, lock/) see the daemon only through these types, never its class.
 */
import type {DaemonConfig} from '../daemon/config.js'
import type {DaemonPaths} from '../daemon/paths.js'
import type {Listener} from '../daemon/listeners.js'
import type {LogSink} from '../daemon/logging.js'
import type {RpcConnection, ServedProgram} from '../rpc/server.js'

export interface DaemonHost {
  readonly name: string
  readonly paths: DaemonPaths
  readonly config: DaemonConfig
  readonly log: LogSink
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
