/**
 * What the daemon's one CommonJS bundle (dist/lib/vendor/daemon-wrapped.js, loaded with a V8 code
 * cache) exports: the daemon itself, for bin/run.js's fast path (through daemon-server.js), and the
 * lean start of `vctl daemon start` for bin/vctl-daemon.cjs, the entry systemd's units run, which
 * loads nothing else (no ES module, no oclif) before the daemon serves.
 */
export {Daemon, DaemonStartError} from '../daemon/server.js'
export {parseLean} from './daemon-flags.js'
export {startDaemon, DaemonStartFailure} from './daemon-start.js'
