/**
 * The fleet over TLS: three vctl hosts listening on qemu+tls only (server certificate from a test CA),
 * the controller holding a client certificate from the same CA (libvirt's pkipath layout). virsh and an
 * Ansible playbook reach every host over TLS; plain TCP is not offered, and a controller whose
 * certificate comes from another CA is refused by every host.
 */
import test from 'ava'
import {appendFileSync, mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {tempRoot} from './helpers/daemon.js'
import {startFleet, type Fleet} from './helpers/fleet.js'
import {inventory, playbook} from './helpers/ansible.js'
import {CLIENT_EXT, issue, makeCa} from './helpers/pki.js'

let fleet: Fleet | undefined
let dir = ''

test.before(async () => {
  dir = tempRoot('vctl-fleet-tls-')
  fleet = await startFleet('ft', 3, {tls: true})
})

test.after.always(async () => {
  await fleet?.cleanup()
  rmSync(dir, {recursive: true, force: true})
})

function writeInventory(name: string, uris: string[]): string {
  const inv = join(dir, `${name}.ini`)
  writeFileSync(inv, inventory(uris.map((uri, i) => ({name: `h${i}`, vars: {libvirt_uri: uri}}))))
  return inv
}

test.serial('virsh over qemu+tls reaches each host; plain TCP is not offered', async (t) => {
  const f = fleet!
  for (const [i, h] of f.hosts.entries()) {
    const caps = await f.virsh(i, ['capabilities'])
    t.is(caps.code, 0, caps.stderr)
    t.true(caps.stdout.includes(`<uuid>${h.hostUuid}</uuid>`))
    const tcp = await f.exec('virsh', ['-c', h.tcpUri, 'list'])
    t.regex(tcp.stderr, new RegExp(`unable to connect to server at '${h.ip.replaceAll('.', '\\.')}:16509': Connection refused`))
  }
})

test.serial('a read-only playbook over qemu+tls reports every host, changing nothing', async (t) => {
  t.timeout(300000)
  const f = fleet!
  const run = await playbook(
    f.exec,
    dir,
    'fleet-facts.yml',
    writeInventory(
      'tls',
      f.hosts.map((h) => h.remoteUri),
    ),
  )
  t.is(run.code, 0, run.why)
  for (const h of ['h0', 'h1', 'h2']) {
    const r = run.recap[h]
    t.deepEqual([r.ok, r.changed, r.failures, r.unreachable], [6, 0, 0, 0], h)
  }
})

test.serial('a controller whose certificate another CA issued is refused by every host', async (t) => {
  t.timeout(300000)
  const f = fleet!
  // Its own CA issued its client certificate; it trusts that CA and the fleet's (to check the servers with).
  const rogue = join(dir, 'rogue')
  mkdirSync(rogue)
  await makeCa(rogue, 'ec')
  await issue(rogue, 'client', '/CN=rogue controller', CLIENT_EXT, {key: 'ec'})
  appendFileSync(join(rogue, 'cacert.pem'), readFileSync(join(f.pki!, 'cacert.pem')))
  const uris = f.hosts.map((h) => `qemu+tls://${h.ip}/system?pkipath=${rogue}`)
  const run = await playbook(f.exec, dir, 'fleet-facts.yml', writeInventory('rogue', uris))
  t.not(run.code, 0)
  for (const h of ['h0', 'h1', 'h2']) {
    t.is(run.recap[h].failures, 1, h)
    const failed = run.tasks.find((x) => x.host === h && x.failed)
    t.is(failed?.task, 'Node info')
    // The host checks the client certificate after the handshake and hangs up, as libvirtd does.
    t.is(failed?.result.msg, 'Unable to read TLS confirmation: Input/output error')
  }
})
