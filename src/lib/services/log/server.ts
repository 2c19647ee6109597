/**
 * virtlogd (`vctl daemon start --driver log`): serves the log-manager program on virtlogd-sock
 * and re-executes itself on SIGUSR1 (see ../reexec.ts).
 *
 * Files: RUNDIR/virtlogd/ (RUNDIR = paths.runDir, e.g. /run/libvirt) holds the FIFOs
 * (<driver>-<name>-<hash>.fifo), logs.json (the logs being followed) and, during a re-exec, the
 * state file and hand-over socket. Config: max_size (bytes, default 2 MiB, 0 = no cap) and
 * max_backups (default 3) from virtlogd.conf.
 */
import {join} from 'node:path'
import type {ArgsOf} from '../../rpc/program.js'
import type {ServedProgram} from '../../rpc/server.js'
import type {DaemonHost, ServiceSetup} from '../host.js'
import {LogManager, type LogEntry} from './manager.js'
import {logProgram} from './protocol.js'
import {makeReexec, takeOver} from '../reexec.js'

export interface LogServiceState {
  logs: LogEntry[]
}

export interface LogService extends ServiceSetup {
  manager: LogManager
}

/** The run directory of virtlogd's FIFOs and state. */
export function logRunDir(d: Pick<DaemonHost, 'paths'>): string {
  return join(d.paths.runDir, 'virtlogd')
}

/** The decoded arguments of one of virtlogd's procedures. */
type Args<K extends keyof typeof logProgram.procs> = ArgsOf<(typeof logProgram.procs)[K]>

export function setupLogDaemon(d: DaemonHost): LogService {
  const dir = logRunDir(d)
  const manager = new LogManager({dir, maxSize: d.config.max_size, maxBackups: d.config.max_backups, log: d.log})
  const incoming = takeOver<LogServiceState>(d)
  if (incoming) {
    // Hold every FIFO now (before the old process closes its descriptors); read them only once
    // the old process has copied its last bytes and let go.
    manager.adopt(incoming.state.service.logs)
    manager.holdUntil(incoming.released, () => {
      manager.startFollowing()
      d.log.info(`re-exec: took over ${incoming.state.service.logs.length} log(s) from pid ${incoming.state.oldPid}`)
    })
  } else manager.restore()

  const program: ServedProgram = {
    program: logProgram,
    handle: (_conn, def, args) => {
      switch (def.name) {
        case 'DOMAIN_OPEN_LOG_FILE':
          return manager.open(args as Args<'DOMAIN_OPEN_LOG_FILE'>).then((fifo) => ({fifo}))
        case 'DOMAIN_GET_LOG_FILE_POSITION':
          return manager.position(args as Args<'DOMAIN_GET_LOG_FILE_POSITION'>)
        case 'DOMAIN_READ_LOG_FILE':
          return {data: manager.read(args as Args<'DOMAIN_READ_LOG_FILE'>)}
        case 'DOMAIN_APPEND_LOG_FILE':
          return manager.append(args as Args<'DOMAIN_APPEND_LOG_FILE'>).then((ret) => ({ret}))
        case 'DOMAIN_CLOSE_LOG_FILE':
          return manager.close(args as Args<'DOMAIN_CLOSE_LOG_FILE'>)
        default:
          throw new Error(`unhandled procedure ${def.name}`)
      }
    },
  }
  const reexec = makeReexec<LogServiceState>(
    d,
    {freeze: () => ({logs: manager.freeze()}), release: () => manager.release(), thaw: () => manager.thaw()},
    {stateDir: dir},
  )
  return {program, reexec, hasActive: () => manager.hasActive(), manager}
}
