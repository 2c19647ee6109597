/**
 * Two (or more) vctl hosts for migration tests: each daemon (libvirtd, QEMU driver) in its own
 * network namespace under its own root, joined by a veth pair on a private subnet that exists only
 * inside those namespaces, each with a TCP listener (auth none) and its own host UUID. The file
 * system is shared, so a disk or serial log path stands for shared storage.
 */
import {appendFileSync, mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {randomBytes, randomUUID} from 'node:crypto'
import {BIN, run, tempRoot} from './daemon.js'
import {netnsDaemon, nsExec, type NetnsDaemon} from './netns.js'

export interface Host extends NetnsDaemon {
  /** The host's address on the test subnet. */
  ip: string
  hostUuid: string
  /** qemu+tcp://IP/system: how the other host reaches this one. */
  tcpUri: string
  /** virsh against this host (over its UNIX socket). */
  virsh: (args: string[], timeout?: number) => Promise<{code: number; stdout: string; stderr: string}>
  /** With `perHostDisks`: this host's own directory (as the test sees it) mounted at the hosts' common disk path. */
  disks?: string
}

/** Options of startHosts beyond the positional ones. */
export interface HostsOptions {
  /**
   * Local storage: each vctl daemon (and its QEMU) sees its own `ROOT/disks` at one common path
   * (a bind mount in the daemon's mount namespace), so one disk path names a different file on each host.
   */
  perHostDisks?: boolean
}

function writeConfig(root: string, hostUuid: string, extra: string): void {
  mkdirSync(join(root, 'etc/libvirt'), {recursive: true})
  const tls = extra.includes('listen_tls') ? '' : 'listen_tls = 0\n'
  writeFileSync(join(root, 'etc/libvirt/libvirtd.conf'), `listen_tcp = 1\n${tls}auth_tcp = "none"\nhost_uuid = "${hostUuid}"\n${extra}`)
}

/** Starts `n` hosts on one subnet (a veth pair for two, a bridge namespace beyond); `kinds` makes some of them Debian's real libvirtd. */
export async function startHosts(
  tag: string,
  n = 2,
  extraConf = '',
  kinds: Array<'vctl' | 'libvirtd'> = [],
  beforeStart?: (hosts: Host[]) => Promise<void>,
  opts: HostsOptions = {},
): Promise<{hosts: Host[]; cleanup: () => Promise<void>; diskPath?: string}> {
  const subnet = `10.${200 + (randomBytes(1)[0] % 50)}.${randomBytes(1)[0]}`
  const hosts: Host[] = []
  let diskPath: string | undefined
  const extraCleanups: Array<() => Promise<void>> = []
  const cleanup = async () => {
    for (const h of hosts) await h.cleanup().catch(() => undefined)
    for (const c of extraCleanups) await c().catch(() => undefined)
  }
  try {
    for (let i = 0; i < n; i++) {
      const d = kinds[i] === 'libvirtd' ? await realDaemon(`${tag}${i}`) : await netnsDaemon(`${tag}${i}`)
      const hostUuid = randomUUID()
      const ip = `${subnet}.${i + 1}`
      const h: Host = Object.assign(d, {
        ip,
        hostUuid,
        tcpUri: `qemu+tcp://${ip}/system`,
        virsh: (args: string[], timeout = 120000) => run('virsh', ['-c', d.uri, ...args], {timeout}),
      })
      if (kinds[i] === 'libvirtd') writeRealConfig(d.root, hostUuid)
      else writeConfig(d.root, hostUuid, extraConf)
      hosts.push(h)
    }
    await link(hosts, subnet, extraCleanups)
    if (opts.perHostDisks) {
      diskPath = tempRoot('vctl-migdisks-')
      const common = diskPath
      extraCleanups.push(() => Promise.resolve(rmSync(common, {recursive: true, force: true})))
      for (const [i, h] of hosts.entries()) if (kinds[i] !== 'libvirtd') withOwnDisks(h, common)
    }
    if (beforeStart) await beforeStart(hosts)
    await Promise.all(hosts.map((h) => h.start(['--listen'])))
  } catch (err) {
    await cleanup()
    throw err
  }
  return {hosts, cleanup, diskPath}
}

const shq = (s: string): string => `'${s.replace(/'/g, "'\\''")}'`

/** The daemon of `h` starts with ROOT/disks bind-mounted on `common` (`ip netns exec` gives it a mount namespace of its own). */
function withOwnDisks(h: Host, common: string): void {
  const own = join(h.root, 'disks')
  mkdirSync(own, {recursive: true})
  h.disks = own
  h.start = async (extra = []) => {
    const daemon = [process.execPath, BIN, 'daemon', 'start', '--root', h.root, '-d', ...extra].map(shq).join(' ')
    const r = await nsExec(h.ns, 'sh', ['-c', `mount --bind ${shq(own)} ${shq(common)} && exec ${daemon}`], 120000)
    if (r.code !== 0) throw new Error(`daemon start failed (${r.code}): ${r.stderr}${r.stdout}`)
    h.pid = Number(readFileSync(join(h.root, 'run', 'libvirtd.pid'), 'utf8').trim())
  }
}

async function ip(args: string[]): Promise<void> {
  const r = await run('ip', args)
  if (r.code !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`)
}

async function link(hosts: Host[], subnet: string, cleanups: Array<() => Promise<void>>): Promise<void> {
  if (hosts.length === 2) {
    const [a, b] = hosts
    const va = `vm${randomBytes(3).toString('hex')}`
    await ip(['-n', a.ns, 'link', 'add', va, 'type', 'veth', 'peer', 'name', 'mig0', 'netns', b.ns])
    await ip(['-n', a.ns, 'link', 'set', va, 'name', 'mig0'])
    for (const h of hosts) {
      await ip(['-n', h.ns, 'addr', 'add', `${h.ip}/24`, 'dev', 'mig0'])
      await ip(['-n', h.ns, 'link', 'set', 'mig0', 'up'])
    }
    return
  }
  // More than two: a bridge in a namespace of its own.
  const {addNetns, nsName, killInNetns} = await import('./netns.js')
  const br = nsName('br')
  await addNetns(br)
  cleanups.push(async () => {
    killInNetns(br)
    await run('ip', ['netns', 'del', br])
  })
  await ip(['-n', br, 'link', 'add', 'br0', 'type', 'bridge'])
  await ip(['-n', br, 'link', 'set', 'br0', 'up'])
  for (const [i, h] of hosts.entries()) {
    const port = `p${i}`
    await ip(['-n', br, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'mig0', 'netns', h.ns])
    await ip(['-n', br, 'link', 'set', port, 'master', 'br0'])
    await ip(['-n', br, 'link', 'set', port, 'up'])
    await ip(['-n', h.ns, 'addr', 'add', `${h.ip}/24`, 'dev', 'mig0'])
    await ip(['-n', h.ns, 'link', 'set', 'mig0', 'up'])
  }
}

/** Debian's libvirtd (QEMU driver, with its virtlogd) on a private copy of /etc/libvirt, as a Host-like daemon in a fresh namespace. */
async function realDaemon(tag: string): Promise<NetnsDaemon> {
  const {cpSync, existsSync} = await import('node:fs')
  const {spawn} = await import('node:child_process')
  const {addNetns, killInNetns, killUnder, nsExec, nsName} = await import('./netns.js')
  const {tempRoot} = await import('./daemon.js')
  const ns = nsName(tag)
  await addNetns(ns)
  const base = tempRoot(`vctl-real-${tag}-`)
  for (const dir of ['etc', 'run', 'lib', 'log', 'cache']) mkdirSync(join(base, dir))
  cpSync('/etc/libvirt', join(base, 'etc'), {recursive: true})
  const script = join(base, 'start.sh')
  const mounts = ['etc:/etc/libvirt', 'run:/run/libvirt', 'lib:/var/lib/libvirt', 'log:/var/log/libvirt', 'cache:/var/cache/libvirt'].map((m) => {
    const [from, to] = m.split(':')
    return `mount --bind ${base}/${from} ${to}`
  })
  writeFileSync(
    script,
    [
      'mkdir -p /run/libvirt /var/lib/libvirt /var/log/libvirt /var/cache/libvirt',
      ...mounts,
      `/usr/sbin/virtlogd -d -p ${base}/virtlogd.pid`,
      `exec /usr/sbin/libvirtd --listen -p ${base}/libvirtd.pid`,
    ].join('\n'),
  )
  const sock = join(base, 'run/libvirt-sock')
  const d: NetnsDaemon = {
    ns,
    root: base,
    pid: 0,
    sock,
    uri: `qemu:///system?socket=${sock}`,
    exec: (cmd, args) => nsExec(ns, cmd, args),
    start: async () => {
      const child = spawn('ip', ['netns', 'exec', ns, 'unshare', '-m', '--propagation', 'private', 'sh', script], {stdio: 'ignore', detached: true})
      child.unref()
      d.pid = child.pid ?? 0
      const deadline = Date.now() + 90000
      for (;;) {
        if (existsSync(sock) && (await run('virsh', ['-c', d.uri, 'version'])).code === 0) return
        if (Date.now() > deadline) throw new Error('real libvirtd does not answer')
        await new Promise((r) => setTimeout(r, 200))
      }
    },
    cleanup: async () => {
      killUnder(base)
      killInNetns(ns)
      await run('ip', ['netns', 'del', ns])
      const {rmSync} = await import('node:fs')
      rmSync(base, {recursive: true, force: true})
    },
  }
  return d
}

function writeRealConfig(base: string, hostUuid: string): void {
  writeFileSync(
    join(base, 'etc/libvirtd.conf'),
    `auth_unix_rw = "none"\nauth_unix_ro = "none"\nlisten_tcp = 1\nlisten_tls = 0\nauth_tcp = "none"\nhost_uuid = "${hostUuid}"\n`,
  )
  appendFileSync(join(base, 'etc/qemu.conf'), '\nuser = "root"\ngroup = "root"\nsecurity_driver = "none"\n')
}
