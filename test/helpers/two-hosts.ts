/**
 * Two (or more) vctl hosts for migration tests: each daemon (libvirtd, QEMU driver) in its own
 * network namespace under its own root, joined by a veth pair on a private subnet that exists only
 * inside those namespaces, each with a TCP listener (auth none) and its own host UUID. The file
 * system is shared, so a disk or serial log path stands for shared storage.
 */
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {randomBytes, randomUUID} from 'node:crypto'
import {run} from './daemon.js'
import {netnsDaemon, type NetnsDaemon} from './netns.js'

export interface Host extends NetnsDaemon {
  /** The host's address on the test subnet. */
  ip: string
  hostUuid: string
  /** qemu+tcp://IP/system: how the other host reaches this one. */
  tcpUri: string
  /** virsh against this host (over its UNIX socket). */
  virsh: (args: string[], timeout?: number) => Promise<{code: number; stdout: string; stderr: string}>
}

function writeConfig(root: string, hostUuid: string, extra: string): void {
  mkdirSync(join(root, 'etc/libvirt'), {recursive: true})
  writeFileSync(join(root, 'etc/libvirt/libvirtd.conf'), `listen_tcp = 1\nlisten_tls = 0\nauth_tcp = "none"\nhost_uuid = "${hostUuid}"\n${extra}`)
}

/** Starts `n` hosts on one subnet (a veth pair for two, a bridge namespace beyond). */
export async function startHosts(tag: string, n = 2, extraConf = ''): Promise<{hosts: Host[]; cleanup: () => Promise<void>}> {
  const subnet = `10.${200 + (randomBytes(1)[0] % 50)}.${randomBytes(1)[0]}`
  const hosts: Host[] = []
  const extraCleanups: Array<() => Promise<void>> = []
  const cleanup = async () => {
    for (const h of hosts) await h.cleanup().catch(() => undefined)
    for (const c of extraCleanups) await c().catch(() => undefined)
  }
  try {
    for (let i = 0; i < n; i++) {
      const d = await netnsDaemon(`${tag}${i}`)
      const hostUuid = randomUUID()
      const ip = `${subnet}.${i + 1}`
      const h: Host = Object.assign(d, {
        ip,
        hostUuid,
        tcpUri: `qemu+tcp://${ip}/system`,
        virsh: (args: string[], timeout = 120000) => run('virsh', ['-c', d.uri, ...args], {timeout}),
      })
      writeConfig(d.root, hostUuid, extraConf)
      hosts.push(h)
    }
    await link(hosts, subnet, extraCleanups)
    await Promise.all(hosts.map((h) => h.start(['--listen'])))
  } catch (err) {
    await cleanup()
    throw err
  }
  return {hosts, cleanup}
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
