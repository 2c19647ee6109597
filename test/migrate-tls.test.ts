/**
 * Peer-to-peer live migration over TLS: the source daemon reaches the destination with
 * qemu+tls://IP/system?pkipath=DIR (its client certificate from the test CA), the destination's
 * listener requires it. The counter guest goes on without a reboot.
 */
import test from 'ava'
import {mkdirSync} from 'node:fs'
import {join} from 'node:path'
import {countInLog, READY} from './helpers/guest.js'
import {tempRoot} from './helpers/daemon.js'
import {CLIENT_EXT, issue, makeCa} from './helpers/pki.js'
import {startHosts, type Host} from './helpers/two-hosts.js'
import {lastCount, startCounter, waitCountAbove} from './helpers/migrate-guest.js'

let A: Host
let B: Host
let pki = ''
let cleanup: () => Promise<void> = () => Promise.resolve()

test.before(async () => {
  pki = tempRoot('vctl-migtls-')
  mkdirSync(pki, {recursive: true})
  const conf = `listen_tls = 1\nca_file = "${pki}/cacert.pem"\ncert_file = "${pki}/servercert.pem"\nkey_file = "${pki}/serverkey.pem"\n`
  const r = await startHosts('mgt', 2, conf, [], async (hosts) => {
    await makeCa(pki, 'ec')
    const san = hosts.map((h) => `IP:${h.ip}`).join(',')
    const serverExt = `basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=${san}\n`
    await issue(pki, 'server', '/CN=migration host', serverExt, {key: 'ec'})
    await issue(pki, 'client', '/CN=migration source', CLIENT_EXT, {key: 'ec'})
  })
  ;[A, B] = r.hosts
  cleanup = r.cleanup
})

test.after.always(async () => {
  await cleanup()
  const {rmSync} = await import('node:fs')
  rmSync(pki, {recursive: true, force: true})
})

test.serial('virsh migrate --live --p2p over qemu+tls, there and back', async (t) => {
  t.timeout(300000)
  const log = await startCounter(A, 'tl1')
  const uri = (h: Host) => `qemu+tls://${h.ip}/system?pkipath=${join(pki)}`
  const there = await A.virsh(['migrate', '--live', '--p2p', 'tl1', uri(B)])
  t.is(there.code, 0, there.stderr)
  t.is((await B.virsh(['domstate', '--reason', 'tl1'])).stdout.trim(), 'running (migrated)')
  await waitCountAbove(log, lastCount(log) + 5, 60000)
  const back = await B.virsh(['migrate', '--live', '--p2p', 'tl1', uri(A)])
  t.is(back.code, 0, back.stderr)
  t.is((await A.virsh(['domstate', '--reason', 'tl1'])).stdout.trim(), 'running (migrated)')
  await waitCountAbove(log, lastCount(log) + 5, 60000)
  t.is(countInLog(log, READY), 1)
  // Without a client certificate the destination refuses the source daemon, and the guest stays.
  const bare = await A.virsh(['migrate', '--live', '--p2p', 'tl1', `qemu+tls://${B.ip}/system?pkipath=${join(pki, 'nowhere')}`])
  t.regex(bare.stderr, /error: operation failed: Failed to connect to remote libvirt URI qemu\+tls:/)
  t.is((await A.virsh(['domstate', 'tl1'])).stdout.trim(), 'running')
  await A.virsh(['destroy', 'tl1'])
})
