/**
 * A fleet of vctl hosts for the Ansible tests: N monolithic daemons (libvirtd, QEMU and network drivers),
 * each in its own network namespace under its own root with a TCP listener (auth none, or TLS with
 * certificates from a test CA), joined by a bridge in a namespace of the test's own. That namespace
 * also holds the controller's address (.254), so ansible-playbook and virsh run there reach every host
 * over qemu+tcp / qemu+tls, as a management machine would. Nothing of the host's network is touched:
 * cleanup() removes every namespace, process and file made here.
 */
import {mkdirSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {randomBytes, randomUUID} from 'node:crypto'
import {run, tempRoot, type RunResult} from './daemon.js'
import {addNetns, killInNetns, netnsDaemon, nsName} from './netns.js'
import {CLIENT_EXT, issue, makeCa} from './pki.js'
import type {Host} from './two-hosts.js'

export interface FleetHost extends Host {
  /** How the controller reaches this host: qemu+tcp://IP/system, or qemu+tls://IP/system?pkipath=DIR. */
  remoteUri: string
}

export interface Fleet {
  hosts: FleetHost[]
  /** The namespace of the bridge and the controller. */
  ctl: string
  ctlIp: string
  /** The test CA and the controller's client certificate (TLS fleets). */
  pki?: string
  /** Runs a command in the controller's namespace. */
  exec: (cmd: string, args: string[], opts?: {env?: NodeJS.ProcessEnv; timeout?: number}) => Promise<RunResult>
  /** virsh from the controller against host `i` over the network. */
  virsh: (i: number, args: string[]) => Promise<RunResult>
  cleanup: () => Promise<void>
}

export interface FleetOptions {
  /** TLS listeners (certificates from a test CA; the controller holds a client certificate) instead of TCP with auth none. */
  tls?: boolean
}

async function ip(args: string[]): Promise<void> {
  const r = await run('ip', args)
  if (r.code !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`)
}

function daemonConf(hostUuid: string, pki: string | undefined): string {
  const listen = pki
    ? `listen_tcp = 0\nlisten_tls = 1\nca_file = "${pki}/cacert.pem"\ncert_file = "${pki}/servercert.pem"\nkey_file = "${pki}/serverkey.pem"\n`
    : 'listen_tcp = 1\nlisten_tls = 0\nauth_tcp = "none"\n'
  return `${listen}host_uuid = "${hostUuid}"\n`
}

/** The test CA, one server certificate naming every host's address, and the controller's client certificate (pkipath layout). */
async function makePki(dir: string, ips: string[]): Promise<void> {
  await makeCa(dir, 'ec')
  const san = ips.map((a) => `IP:${a}`).join(',')
  const serverExt = `basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=${san}\n`
  await issue(dir, 'server', '/CN=fleet host', serverExt, {key: 'ec'})
  await issue(dir, 'client', '/CN=fleet controller', CLIENT_EXT, {key: 'ec'})
}

/** Starts `n` vctl hosts on a private subnet, a bridge joining them, and the controller's address on it. */
export async function startFleet(tag: string, n = 3, opts: FleetOptions = {}): Promise<Fleet> {
  const subnet = `10.${200 + (randomBytes(1)[0] % 50)}.${randomBytes(1)[0]}`
  const ctl = nsName(`${tag}c`)
  const ctlIp = `${subnet}.254`
  const hosts: FleetHost[] = []
  const pki = opts.tls ? tempRoot(`vctl-${tag}-pki-`) : undefined
  let ctlMade = false
  const cleanup = async () => {
    await Promise.all(hosts.map((h) => h.cleanup().catch(() => undefined)))
    if (ctlMade) {
      killInNetns(ctl)
      await run('ip', ['netns', 'del', ctl])
    }
    if (pki) rmSync(pki, {recursive: true, force: true})
  }
  const exec: Fleet['exec'] = (cmd, args, o = {}) => run('ip', ['netns', 'exec', ctl, cmd, ...args], {env: o.env, timeout: o.timeout ?? 120000})
  try {
    await addNetns(ctl)
    ctlMade = true
    await ip(['-n', ctl, 'link', 'add', 'br0', 'type', 'bridge'])
    await ip(['-n', ctl, 'addr', 'add', `${ctlIp}/24`, 'dev', 'br0'])
    await ip(['-n', ctl, 'link', 'set', 'br0', 'up'])
    for (let i = 0; i < n; i++) {
      const d = await netnsDaemon(`${tag}${i}`)
      const hostUuid = randomUUID()
      const addr = `${subnet}.${i + 1}`
      const remoteUri = pki ? `qemu+tls://${addr}/system?pkipath=${pki}` : `qemu+tcp://${addr}/system`
      const h: FleetHost = Object.assign(d, {
        ip: addr,
        hostUuid,
        tcpUri: `qemu+tcp://${addr}/system`,
        remoteUri,
        virsh: (args: string[], timeout = 120000) => run('virsh', ['-c', d.uri, ...args], {timeout}),
      })
      hosts.push(h)
      mkdirSync(join(d.root, 'etc/libvirt'), {recursive: true})
      writeFileSync(join(d.root, 'etc/libvirt/libvirtd.conf'), daemonConf(hostUuid, pki))
      const port = `p${i}`
      await ip(['-n', ctl, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'fleet0', 'netns', d.ns])
      await ip(['-n', ctl, 'link', 'set', port, 'master', 'br0'])
      await ip(['-n', ctl, 'link', 'set', port, 'up'])
      await ip(['-n', d.ns, 'addr', 'add', `${addr}/24`, 'dev', 'fleet0'])
      await ip(['-n', d.ns, 'link', 'set', 'fleet0', 'up'])
    }
    if (pki)
      await makePki(
        pki,
        hosts.map((h) => h.ip),
      )
    await Promise.all(hosts.map((h) => h.start(['--listen'])))
  } catch (err) {
    await cleanup()
    throw err
  }
  return {
    hosts,
    ctl,
    ctlIp,
    pki,
    exec,
    virsh: (i, args) => exec('virsh', ['-c', hosts[i].remoteUri, ...args]),
    cleanup,
  }
}
