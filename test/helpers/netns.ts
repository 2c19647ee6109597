/**
 * Network namespaces for the network tests: the daemon runs under `ip netns exec`, so its bridges,
 * taps, dnsmasq and nft tables live there; an "upstream" namespace joined by a veth pair plays the
 * outside world. Everything made here is removed by cleanup(), never anything of the host's.
 */
import {readFileSync, readdirSync, rmSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {randomBytes} from 'node:crypto'
import {BIN, run, tempRoot, waitExit, type RunResult} from './daemon.js'

export interface NetnsDaemon {
  ns: string
  root: string
  pid: number
  sock: string
  uri: string
  /** Runs a command inside the daemon's namespace. */
  exec: (cmd: string, args: string[]) => Promise<RunResult>
  /** Starts (or restarts) the daemon in the namespace. */
  start: (extra?: string[]) => Promise<void>
  cleanup: () => Promise<void>
}

export function nsName(tag: string): string {
  return `vctl-t-${tag}-${randomBytes(3).toString('hex')}`
}

export async function addNetns(name: string): Promise<void> {
  const r = await run('ip', ['netns', 'add', name])
  if (r.code !== 0) throw new Error(`ip netns add ${name}: ${r.stderr}`)
  await run('ip', ['-n', name, 'link', 'set', 'lo', 'up'])
}

export function nsExec(ns: string, cmd: string, args: string[], timeout = 60000): Promise<RunResult> {
  return run('ip', ['netns', 'exec', ns, cmd, ...args], {timeout})
}

/** Kills every process whose command line mentions `marker` (dnsmasq, QEMU, the daemon of a test root). */
export function killUnder(marker: string): void {
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
      if (cmd.includes(marker)) process.kill(Number(pid), 'SIGKILL')
    } catch {
      /* gone */
    }
  }
}

/** Kills every process living in network namespace `ns` (daemons, dnsmasq, QEMU), before the namespace goes. */
export function killInNetns(ns: string): void {
  let want
  try {
    want = statSync(`/run/netns/${ns}`)
  } catch {
    return
  }
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue
    try {
      const st = statSync(`/proc/${pid}/ns/net`)
      if (st.ino === want.ino && st.dev === want.dev) process.kill(Number(pid), 'SIGKILL')
    } catch {
      /* gone, or not ours to see */
    }
  }
}

/** A daemon (libvirtd unless `--driver` is given) in a fresh namespace under a fresh root. */
export async function netnsDaemon(tag: string, driverArgs: string[] = []): Promise<NetnsDaemon> {
  const ns = nsName(tag)
  await addNetns(ns)
  const root = tempRoot(`vctl-${tag}-`)
  const driver = driverArgs.includes('--driver') ? driverArgs[driverArgs.indexOf('--driver') + 1] : undefined
  const base = driver ? `virt${driver}d` : 'libvirt'
  const sock = join(root, 'run/libvirt', `${base}-sock`)
  const d: NetnsDaemon = {
    ns,
    root,
    pid: 0,
    sock,
    uri: `${driver === 'network' ? 'network' : 'qemu'}:///system?socket=${sock}`,
    exec: (cmd, args) => nsExec(ns, cmd, args),
    start: async (extra = []) => {
      const r = await nsExec(ns, process.execPath, [BIN, 'daemon', 'start', '--root', root, '-d', ...driverArgs, ...extra], 120000)
      if (r.code !== 0) throw new Error(`daemon start failed (${r.code}): ${r.stderr}${r.stdout}`)
      d.pid = Number(readFileSync(join(root, 'run', driver ? `virt${driver}d.pid` : 'libvirtd.pid'), 'utf8').trim())
    },
    cleanup: async () => {
      if (d.pid) {
        try {
          process.kill(d.pid, 'SIGTERM')
        } catch {
          /* gone */
        }
        await waitExit(d.pid, 10000)
      }
      killUnder(root)
      killInNetns(ns)
      await run('ip', ['netns', 'del', ns])
      rmSync(root, {recursive: true, force: true})
    },
  }
  return d
}

/** A veth pair from `ns` (address `inner`) to a new upstream namespace (address `outer`), and a default route through it. */
export async function addUpstream(ns: string, inner: string, outer: string): Promise<{up: string; cleanup: () => Promise<void>}> {
  const up = nsName('up')
  await addNetns(up)
  const a = `vu${randomBytes(3).toString('hex')}`
  const lines = [
    ['-n', ns, 'link', 'add', a, 'type', 'veth', 'peer', 'name', 'uplink', 'netns', up],
    ['-n', ns, 'addr', 'add', `${inner}/24`, 'dev', a],
    ['-n', ns, 'link', 'set', a, 'up'],
    ['-n', up, 'addr', 'add', `${outer}/24`, 'dev', 'uplink'],
    ['-n', up, 'link', 'set', 'uplink', 'up'],
    ['-n', ns, 'route', 'add', 'default', 'via', outer],
  ]
  for (const l of lines) {
    const r = await run('ip', l)
    if (r.code !== 0) throw new Error(`ip ${l.join(' ')}: ${r.stderr}`)
  }
  return {
    up,
    cleanup: async () => {
      killInNetns(up)
      await run('ip', ['netns', 'del', up])
    },
  }
}

/**
 * Debian's real libvirtd 9.0 in a namespace of its own, on a private copy of /etc/libvirt (bind
 * mounts in a private mount namespace, as bench/private-libvirtd.mjs does), for side-by-side runs.
 */
export async function realLibvirtd(tag: string): Promise<{ns: string; uri: string; cleanup: () => Promise<void>}> {
  const {cpSync, mkdirSync, writeFileSync, existsSync} = await import('node:fs')
  const {spawn} = await import('node:child_process')
  const ns = nsName(tag)
  await addNetns(ns)
  const base = tempRoot(`vctl-real-${tag}-`)
  for (const dir of ['etc', 'run', 'lib', 'log', 'cache']) mkdirSync(join(base, dir))
  cpSync('/etc/libvirt', join(base, 'etc'), {recursive: true})
  writeFileSync(join(base, 'etc/libvirtd.conf'), 'unix_sock_dir = "/run/libvirt"\n')
  const script = join(base, 'start.sh')
  writeFileSync(
    script,
    [
      'mkdir -p /run/libvirt /var/lib/libvirt /var/log/libvirt /var/cache/libvirt',
      ...['etc:/etc/libvirt', 'run:/run/libvirt', 'lib:/var/lib/libvirt', 'log:/var/log/libvirt', 'cache:/var/cache/libvirt'].map((m) => {
        const [from, to] = m.split(':')
        return `mount --bind ${base}/${from} ${to}`
      }),
      `exec /usr/sbin/libvirtd -p ${base}/libvirtd.pid`,
    ].join('\n'),
  )
  const child = spawn('ip', ['netns', 'exec', ns, 'unshare', '-m', '--propagation', 'private', 'sh', script], {stdio: 'ignore', detached: true})
  child.unref()
  const sock = join(base, 'run/libvirt-sock')
  const deadline = Date.now() + 60000
  while (!existsSync(sock)) {
    if (Date.now() > deadline) throw new Error('real libvirtd did not create its socket')
    await new Promise((r) => setTimeout(r, 100))
  }
  // It accepts once virsh can talk to it.
  const uri = `qemu:///system?socket=${sock}`
  for (;;) {
    if ((await run('virsh', ['-c', uri, 'version'])).code === 0) break
    if (Date.now() > deadline) throw new Error('real libvirtd does not answer')
    await new Promise((r) => setTimeout(r, 200))
  }
  return {
    ns,
    uri,
    cleanup: async () => {
      killUnder(base)
      killInNetns(ns)
      if (child.pid) {
        try {
          process.kill(child.pid, 'SIGKILL')
        } catch {
          /* gone */
        }
      }
      await run('ip', ['netns', 'del', ns])
      rmSync(base, {recursive: true, force: true})
    },
  }
}
