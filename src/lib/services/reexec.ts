/**
 * SIGUSR1 re-exec for virtlogd and virtlockd: a new copy of the daemon takes over from the
 * running one without dropping state, and (for virtlogd) without a FIFO writer ever facing a
 * pipe with no reader.
 *
 * libvirt's daemons execve() themselves, keeping their PID and every open fd. Node can do
 * neither execve nor fd passing over UNIX sockets, but a child process can inherit fds at spawn
 * time (spawn's `stdio` array). So:
 *
 *   old (O)                                          new (N)
 *   1. freeze: state-changing calls wait at a gate;
 *      write the state file (REEXEC_ENV points at it);
 *      listen on a one-off hand-over socket
 *   2. spawn N: same execPath/execArgv/argv, detached,
 *      listening sockets inherited as fds 3.. with
 *      LISTEN_FDS/LISTEN_FDNAMES (systemd's protocol,
 *      which the daemon already understands);
 *      write N's PID into the PID file
 *                                                    3. claim the PID file (it holds N's PID);
 *                                                       load the state: reopen every FIFO O_RDWR
 *                                                       (not reading yet), reload the lock table
 *                                                    4. listen on the inherited sockets (no new
 *                                                       bind: the socket never stops listening)
 *                                                    5. "ready" on the hand-over socket
 *   6. release (virtlogd: drain each FIFO into its
 *      log and close it; N holds the FIFOs already);
 *      "released"; stop accepting (the socket file
 *      is kept, see detachListeners); close clients
 *      (they reconnect to N); stop; exit
 *                                                    7. on "released" (or once O is dead):
 *                                                       start reading the FIFOs, unfreeze
 *
 * Up to step 6 O has given nothing away: if N fails to start or is not ready within the timeout,
 * O kills it, writes its own PID back and thaws. After step 6 N is up and owns everything.
 *
 * Shared by virtlogd and virtlockd (services/log/server.ts, services/lock/server.ts).
 */
import {spawn, type ChildProcess} from 'node:child_process'
import {createServer, connect, type Server, type Socket} from 'node:net'
import {mkdirSync, readFileSync, renameSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import {writeFileAtomicSync} from '../fs-atomic.js'
import {processAlive} from '../daemon/pidfile.js'
import type {Listener, ListenerRole} from '../daemon/listeners.js'
import type {DaemonHost} from './host.js'

/** Environment variable naming the state file of a re-exec in progress. */
export const REEXEC_ENV = 'VCTL_REEXEC_STATE'

export interface ReexecListener {
  role: ListenerRole
  address: string
  /** Socket path (UNIX listeners), to remove when the new process eventually stops. */
  path?: string
  fdName: string
}

export interface ReexecState<S> {
  version: 1
  daemon: string
  oldPid: number
  /** UNIX socket of the old process for the ready/released exchange. */
  handover: string
  /** The inherited listening sockets, in fd order from 3. */
  listeners: ReexecListener[]
  /** The service's own state (open logs, ...). */
  service: S
}

export interface ReexecHooks<S> {
  /** Old process: stop changing state (gate new calls) and describe it for the new process. */
  freeze(): S
  /** Old process, synchronous: the new process is ready; give up what it took over. */
  release(): void
  /** Old process: the re-exec failed; carry on. */
  thaw(): void
}

export interface ReexecOptions {
  /** Where the state file and the hand-over socket go (the service's run dir). */
  stateDir: string
  /** How long the new process may take to become ready (default 30 s). */
  readyTimeoutMs?: number
}

const SUFFIX: Record<ListenerRole, string> = {rw: '', ro: '-ro', admin: '-admin', tcp: '-tcp', tls: '-tls'}

function listenerFd(l: Listener): number | undefined {
  // Node keeps a listening server's descriptor on its internal handle.
  const handle: unknown = Reflect.get(l.server, '_handle')
  const fd: unknown = typeof handle === 'object' && handle !== null ? Reflect.get(handle, 'fd') : undefined
  return typeof fd === 'number' && fd >= 0 ? fd : undefined
}

/** Alive and not a zombie (a zombie still answers kill(pid, 0)). */
export function processRunning(pid: number): boolean {
  if (!processAlive(pid)) return false
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
  } catch {
    return processAlive(pid)
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Builds the re-exec function of a service (the daemon calls it on SIGUSR1, then exits). */
export function makeReexec<S>(d: DaemonHost, hooks: ReexecHooks<S>, opts: ReexecOptions): () => Promise<void> {
  let running: Promise<void> | undefined
  return () => {
    if (running) return Promise.reject(new Error('a re-exec is already in progress'))
    running = reexecOnce(d, hooks, opts).catch((err: unknown) => {
      running = undefined
      throw err
    })
    return running
  }
}

async function reexecOnce<S>(d: DaemonHost, hooks: ReexecHooks<S>, opts: ReexecOptions): Promise<void> {
  const handed = d.listeners.flatMap((l) => {
    const fd = listenerFd(l)
    return fd === undefined ? [] : [{l, fd}]
  })
  if (handed.length === 0) throw new Error('re-exec: no listening socket to hand over')
  mkdirSync(opts.stateDir, {recursive: true, mode: 0o700})
  const handoverPath = join(opts.stateDir, `reexec-${process.pid}.sock`)
  const stateFile = join(opts.stateDir, `reexec-${process.pid}.json`)
  rmSync(handoverPath, {force: true})
  const service = hooks.freeze()
  const handover = createServer()
  let child: ChildProcess | undefined
  try {
    await new Promise<void>((resolve, reject) => {
      handover.once('error', reject)
      handover.listen(handoverPath, () => {
        handover.off('error', reject)
        resolve()
      })
    })
    const listeners: ReexecListener[] = handed.map(({l}) => ({
      role: l.role,
      address: l.address,
      path: l.unlinkPath,
      fdName: `${d.name}${SUFFIX[l.role]}.socket`,
    }))
    const state: ReexecState<S> = {version: 1, daemon: d.name, oldPid: process.pid, handover: handoverPath, listeners, service}
    writeFileAtomicSync(stateFile, JSON.stringify(state), 0o600)
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      [REEXEC_ENV]: stateFile,
      LISTEN_FDS: String(handed.length),
      LISTEN_FDNAMES: listeners.map((l) => l.fdName).join(':'),
    }
    delete env.LISTEN_PID // the new PID is not known before spawning; the daemon accepts an unset LISTEN_PID
    const ready = waitReady(handover)
    child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
      detached: true,
      stdio: ['ignore', 'inherit', 'inherit', ...handed.map((h) => h.fd)],
      env,
    })
    const newPid = child.pid
    // Before the child gets anywhere near its PID-file claim (Node needs tens of ms to boot).
    if (newPid !== undefined) writeFileAtomicSync(d.paths.pidFile, `${newPid}\n`)
    d.log.info(`re-exec: started pid ${newPid ?? '?'}, waiting for it to be ready`)
    const failed = childFailure(child)
    const late = timeout(opts.readyTimeoutMs ?? 30000)
    failed.catch(() => {})
    late.catch(() => {})
    const conn = await Promise.race([ready.promise, failed, late])
    // Commit point: from here the new process owns everything.
    hooks.release()
    conn.end(JSON.stringify({type: 'released'}) + '\n')
    detachListeners(handed.map((h) => h.l))
    child.unref()
    d.log.info(`re-exec: handed over to pid ${newPid}`)
  } catch (err) {
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child!.once('exit', r))
      child.kill('SIGTERM')
      if (!(await Promise.race([exited.then(() => true), sleep(5000).then(() => false)]))) {
        child.kill('SIGKILL')
        await Promise.race([exited, sleep(2000)])
      }
    }
    writeFileAtomicSync(d.paths.pidFile, `${process.pid}\n`)
    hooks.thaw()
    throw err
  } finally {
    handover.close()
    rmSync(stateFile, {force: true})
  }
  for (const c of d.clients) c.close()
  await d.stop()
}

function waitReady(server: Server): {promise: Promise<Socket>} {
  const promise = new Promise<Socket>((resolve) => {
    server.on('connection', (sock: Socket) => {
      let buf = ''
      sock.on('error', () => {})
      sock.on('data', (chunk) => {
        buf += chunk.toString('utf8')
        const nl = buf.indexOf('\n')
        if (nl < 0) return
        try {
          const msg = JSON.parse(buf.slice(0, nl)) as {type?: string}
          if (msg.type === 'ready') resolve(sock)
        } catch {
          sock.destroy()
        }
      })
    })
  })
  return {promise}
}

function childFailure(child: ChildProcess): Promise<never> {
  return new Promise((_, reject) => {
    child.once('error', (err) => reject(new Error(`re-exec: cannot start the new process: ${err.message}`)))
    child.once('exit', (code, sig) => reject(new Error(`re-exec: the new process exited (${sig ?? `status ${code}`}) before it was ready`)))
  })
}

function timeout(ms: number): Promise<never> {
  return new Promise((_, reject) => setTimeout(() => reject(new Error(`re-exec: the new process was not ready within ${ms} ms`)), ms).unref())
}

/**
 * Stops accepting on the sockets the new process now listens on, without removing the socket
 * files: libuv unlinks the path a server bound when that server closes, so the path is moved
 * aside for the duration of close() and moved back (a few synchronous syscalls during which a
 * connecting client sees ENOENT and retries). Inherited sockets carry no path and are just closed.
 */
function detachListeners(listeners: Listener[]): void {
  for (const l of listeners) {
    const path = l.unlinkPath
    l.unlinkPath = undefined
    if (!path) {
      l.server.close()
      continue
    }
    const aside = `${path}.reexec-${process.pid}`
    let moved = false
    try {
      renameSync(path, aside)
      moved = true
    } catch {
      // already gone: nothing to protect
    }
    l.server.close()
    if (moved) renameSync(aside, path)
  }
}

export interface Incoming<S> {
  state: ReexecState<S>
  /** Settles once the old process has let go (or is gone); the service may then change state. */
  released: Promise<void>
}

/**
 * New process side: the re-exec state handed over by the old process, or undefined on a normal
 * start. Call it during the service's set-up, before the daemon binds its listeners.
 */
export function takeOver<S>(d: DaemonHost): Incoming<S> | undefined {
  const file = process.env[REEXEC_ENV]
  if (!file) return undefined
  Reflect.deleteProperty(process.env, REEXEC_ENV)
  let state: ReexecState<S>
  try {
    state = JSON.parse(readFileSync(file, 'utf8')) as ReexecState<S>
  } catch (err) {
    throw new Error(`re-exec: cannot read the state file ${file}: ${(err as Error).message}`, {cause: err})
  }
  if (state.version !== 1 || state.daemon !== d.name) throw new Error(`re-exec: ${file} is not a ${d.name} state file`)
  return {state, released: handshake(d, state)}
}

async function handshake(d: DaemonHost, state: ReexecState<unknown>): Promise<void> {
  let stopped = false
  void d.stopped.then(() => (stopped = true))
  const deadline = Date.now() + 60000
  while (d.listeners.length < state.listeners.length) {
    if (stopped || Date.now() > deadline) return new Promise<void>(() => {}) // never: this start failed
    await sleep(5)
  }
  state.listeners.forEach((s, i) => {
    const l = d.listeners[i]
    if (!l || l.role !== s.role) return
    l.address = s.address
    if (s.path) l.unlinkPath = s.path
  })
  const gotReleased = await new Promise<boolean>((resolve) => {
    const sock = connect(state.handover)
    let buf = ''
    let done = false
    sock.on('connect', () => sock.write(JSON.stringify({type: 'ready', pid: process.pid}) + '\n'))
    sock.on('data', (chunk) => {
      buf += chunk.toString('utf8')
      if (!done && buf.includes('"released"')) {
        done = true
        sock.destroy()
        resolve(true)
      }
    })
    sock.on('error', () => {})
    sock.on('close', () => {
      if (!done) resolve(false)
    })
  })
  if (gotReleased) return
  // No word from the old process: it may have died. Take over only once it is really gone.
  while (processRunning(state.oldPid)) {
    if (stopped) return new Promise<void>(() => {})
    await sleep(50)
  }
  d.log.warn(`re-exec: the old process (pid ${state.oldPid}) went away without releasing; taking over`)
}
