// Modular mode: virtnetworkd (vctl daemon start --driver network, network:///system) and virtqemud
// in one network namespace; virtqemud gets its guests' ports from virtnetworkd over the RPC
// protocol (the network port API), as libvirt's modular daemons do.
import test from 'ava'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {BIN, virsh} from './helpers/daemon.js'
import {guestXml} from './helpers/guest.js'
import {netnsDaemon, nsExec, type NetnsDaemon} from './helpers/netns.js'

let net: NetnsDaemon
let qemuUri: string

test.before(async () => {
  net = await netnsDaemon('nm', ['--driver', 'network'])
  await net.start()
  const r = await nsExec(net.ns, process.execPath, [BIN, 'daemon', 'start', '--root', net.root, '-d', '--driver', 'qemu'], 120000)
  if (r.code !== 0) throw new Error(r.stderr)
  qemuUri = `qemu:///system?socket=${join(net.root, 'run/libvirt/virtqemud-sock')}`
})

test.after.always(async () => {
  await net?.cleanup()
})

test.serial('virtnetworkd serves network:///system with the default network', async (t) => {
  const r = await virsh(net.uri, ['net-list', '--all'])
  t.is(r.code, 0, r.stderr)
  t.regex(r.stdout, /default\s+active\s+yes\s+yes/)
  t.regex((await virsh(net.uri, ['uri'])).stdout, /^network:\/\/\/system/)
})

test.serial('a guest of virtqemud gets its port from virtnetworkd, and gives it back', async (t) => {
  const log = join(net.root, 'm1.log')
  const file = join(net.root, 'm1.xml')
  const iface = "    <interface type='network'><mac address='52:54:00:00:05:11'/><source network='default'/><model type='virtio'/></interface>"
  writeFileSync(file, guestXml('m1', log, iface))
  const r = await virsh(qemuUri, ['create', file])
  t.is(r.code, 0, r.stderr)
  const ports = (await virsh(net.uri, ['net-port-list', 'default'])).stdout.match(/[0-9a-f]{8}-[0-9a-f-]{27}/g) ?? []
  t.is(ports.length, 1)
  const xml = await virsh(net.uri, ['net-port-dumpxml', 'default', ports[0] ?? ''])
  t.regex(xml.stdout, /<owner>\n\s+<name>m1<\/name>/)
  t.regex(xml.stdout, /<mac address='52:54:00:00:05:11'\/>/)
  t.regex(xml.stdout, /<plug type='network' bridge='virbr0' macTableManager='kernel'\/>/)
  t.regex((await virsh(qemuUri, ['dumpxml', 'm1'])).stdout, new RegExp(`<source network='default' portid='${ports[0] ?? ''}' bridge='virbr0'/>`))
  t.regex((await net.exec('ip', ['-o', 'link', 'show', 'master', 'virbr0'])).stdout, /vnet\d+/)
  t.is((await virsh(qemuUri, ['destroy', 'm1'])).code, 0)
  t.is((await virsh(net.uri, ['net-port-list', 'default'])).stdout.match(/[0-9a-f]{8}-/g), null)
  t.notRegex((await net.exec('ip', ['-o', 'link'])).stdout, /vnet\d+/)
})
