/**
 * A private `qemu:///system`: vctl's monolithic daemon runs under `--root ROOT` inside its own mount
 * namespace (`unshare -m --propagation private`), where ROOT/run/libvirt is bind-mounted over
 * /run/libvirt. A client started in the same namespace (through `nsenter`) that opens
 * `qemu:///system` finds vctl's libvirt-sock there and nothing else; the host's /run/libvirt is not
 * touched (when the host has no /run/libvirt, a tmpfs over /run inside the namespace holds the
 * mount point instead of creating the directory on the host).
 *
 * For comparison the same tests can run against Debian's libvirtd 9.0 instead
 * (`VCTL_UI_DAEMON=libvirtd`): it then gets a private copy of /etc/libvirt and private
 * /run/libvirt, /var/lib/libvirt, /var/log/libvirt, /var/cache/libvirt, with its own virtlogd.
 */
import {spawn, type ChildProcess, type SpawnOptions} from 'node:child_process'
import {closeSync, cpSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {BIN, connectUnix, isRunning, run, tempRoot, waitExit, type RunResult} from './daemon.js'
import {killGuestsUnder} from './guest.js'
import {addNetns, killInNetns, nsName} from './netns.js'

export interface SystemNamespace {
  /** The daemon's `--root`; temp files of the test may live here too. */
  root: string
  /** The daemon's PID; its mount namespace is the one clients enter. */
  pid: number
  /** The network namespace the daemon runs in (`ip netns exec`), when asked for one. */
  netns?: string
  /** Where the daemon's stdout and stderr go. */
  logFile: string
  /** Runs a command inside the namespace and collects its output. */
  run: (cmd: string, args: string[], opts?: {env?: NodeJS.ProcessEnv; timeout?: number}) => Promise<RunResult>
  /** Starts a long-running command inside the namespace; the caller stops it (see stopChild). */
  spawn: (cmd: string, args: string[], opts?: SpawnOptions) => ChildProcess
  /** The real virsh on `qemu:///system` inside the namespace. */
  virsh: (args: string[], timeout?: number) => Promise<RunResult>
  /** Kills the guests started under root, stops the daemon, removes root unless kept. */
  stop: (opts?: {keepRoot?: boolean}) => Promise<void>
}

/** The arguments that run `cmd args` in the mount namespace of `pid` (nsenter keeps the environment). */
export function nsenterArgs(pid: number, cmd: string, args: string[]): string[] {
  return [`--mount=/proc/${pid}/ns/mnt`, '--', cmd, ...args]
}

/** Sends SIGTERM to a child, then SIGKILL if it is still there after `ms`; resolves once it is gone. */
export async function stopChild(child: ChildProcess | undefined, ms = 5000): Promise<void> {
  const pid = child?.pid
  if (pid === undefined || !isRunning(pid)) return
  try {
    process.kill(pid, 'SIGTERM')
  } catch {
    return
  }
  if (await waitExit(pid, ms)) return
  try {
    process.kill(pid, 'SIGKILL')
  } catch {
    // gone meanwhile
  }
  await waitExit(pid, ms)
}

/** Which daemon serves qemu:///system in the namespace: vctl's, or Debian's libvirtd for comparison. */
export type SystemDaemon = 'vctl' | 'libvirtd'

export function systemDaemon(): SystemDaemon {
  return process.env.VCTL_UI_DAEMON === 'libvirtd' ? 'libvirtd' : 'vctl'
}

// Only a mount point is needed; without one on the host, make it on a private tmpfs.
const MOUNT_POINT = 'if [ ! -d /run/libvirt ]; then mount -t tmpfs -o mode=0755 vctl-run /run; mkdir /run/libvirt; fi'

/** The shell script that sets the namespace up and execs the daemon (whose PID is the script's). */
function enterScript(root: string, daemon: SystemDaemon): string {
  const runDir = join(root, 'run/libvirt')
  if (daemon === 'vctl') {
    return ['set -e', MOUNT_POINT, `mount --bind '${runDir}' /run/libvirt`, `exec '${process.execPath}' '${BIN}' daemon start --root '${root}'`].join(
      '\n',
    )
  }
  // Debian's libvirtd on a private copy of its tree; guests run as root, no autostart of anything.
  const tree = join(root, 'libvirtd')
  for (const d of ['lib', 'log', 'cache']) mkdirSync(join(tree, d), {recursive: true})
  cpSync('/etc/libvirt', join(tree, 'etc'), {recursive: true})
  for (const d of ['qemu/autostart', 'qemu/networks/autostart']) rmSync(join(tree, 'etc', d), {recursive: true, force: true})
  writeFileSync(join(tree, 'etc/libvirtd.conf'), 'auth_unix_rw = "none"\nauth_unix_ro = "none"\n')
  writeFileSync(join(tree, 'etc/qemu.conf'), `${readFileSync('/etc/libvirt/qemu.conf', 'utf8')}\nuser = "root"\ngroup = "root"\n`)
  return [
    'set -e',
    MOUNT_POINT,
    `mount --bind '${runDir}' /run/libvirt`,
    ...[
      ['etc', '/etc/libvirt'],
      ['lib', '/var/lib/libvirt'],
      ['log', '/var/log/libvirt'],
      ['cache', '/var/cache/libvirt'],
    ].map(([from, to]) => `mount --bind '${join(tree, from)}' ${to}`),
    `/usr/sbin/virtlogd -d -p '${join(root, 'virtlogd.pid')}'`,
    `exec /usr/sbin/libvirtd -p '${join(root, 'libvirtd.pid')}'`,
  ].join('\n')
}

/**
 * Starts the daemon in a new mount namespace and waits until `qemu:///system` answers in it. With
 * `netns`, the daemon runs in a network namespace of its own (`ip netns exec`), where it may make
 * bridges and start networks (vctl then defines and autostarts `default`); clients stay in the host's.
 */
export async function startSystemNamespace(
  prefix = 'vctl-ui-',
  which: SystemDaemon = systemDaemon(),
  {netns: ownNetns = false}: {netns?: boolean} = {},
): Promise<SystemNamespace> {
  const root = tempRoot(prefix)
  const runDir = join(root, 'run/libvirt')
  mkdirSync(runDir, {recursive: true})
  const script = join(root, 'enter.sh')
  writeFileSync(script, enterScript(root, which))
  const logFile = join(root, 'daemon.log')
  const fd = openSync(logFile, 'a')
  const netns = ownNetns ? nsName('ui') : undefined
  if (netns) await addNetns(netns)
  const enter = ['unshare', '-m', '--propagation', 'private', 'sh', script]
  // `ip netns exec` execs in place: the PID stays the daemon's.
  const daemon = netns
    ? spawn('ip', ['netns', 'exec', netns, ...enter], {stdio: ['ignore', fd, fd]})
    : spawn(enter[0], enter.slice(1), {stdio: ['ignore', fd, fd]})
  closeSync(fd)
  const pid = daemon.pid
  if (pid === undefined) throw new Error('unshare did not start')
  daemon.unref()

  const ns: SystemNamespace = {
    root,
    pid,
    netns,
    logFile,
    run: (cmd, args, opts = {}) => run('nsenter', nsenterArgs(pid, cmd, args), opts),
    spawn: (cmd, args, opts = {}) => spawn('nsenter', nsenterArgs(pid, cmd, args), opts),
    virsh: (args, timeout) => run('nsenter', nsenterArgs(pid, 'virsh', ['-c', 'qemu:///system', ...args]), {timeout, env: {LC_ALL: 'C'}}),
    stop: async (opts = {}) => {
      // Through the daemon first (libvirtd's guests have no path of ROOT on their command line).
      const running = await ns.virsh(['list', '--name'], 30000)
      for (const name of running.stdout.split('\n').filter((n) => n.trim() !== '')) await ns.virsh(['destroy', name.trim()], 30000)
      killGuestsUnder(root)
      try {
        process.kill(pid, 'SIGTERM')
      } catch {
        // already gone
      }
      await waitExit(pid)
      const logd = join(root, 'virtlogd.pid')
      if (existsSync(logd)) {
        const p = Number(readFileSync(logd, 'utf8').trim())
        try {
          process.kill(p, 'SIGTERM')
        } catch {
          // gone
        }
        await waitExit(p)
      }
      if (netns) {
        killInNetns(netns)
        await run('ip', ['netns', 'del', netns])
      }
      if (!opts.keepRoot) rmSync(root, {recursive: true, force: true})
    },
  }
  try {
    const sock = await connectUnix(join(runDir, 'libvirt-sock'), 60000)
    sock.destroy()
    // The same socket, reached the way a client in the namespace reaches it.
    const uri = await ns.virsh(['uri'])
    if (uri.code !== 0 || uri.stdout.trim() !== 'qemu:///system') throw new Error(`qemu:///system in the namespace: ${uri.stderr}${uri.stdout}`)
  } catch (err) {
    const log = existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''
    await ns.stop({keepRoot: true})
    throw new Error(`${String(err)}\ndaemon log:\n${log}`, {cause: err})
  }
  return ns
}
