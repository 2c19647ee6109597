// Modular mode: virtqemud asks virtnwfilterd (over the RPC protocol, NWFILTER_BINDING_*) to filter
// its guest's tap, and virtnwfilterd learns the guest's IP address from virtnetworkd's DHCP leases,
// all three daemons in one network namespace.
import test from 'ava'
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {BIN, virsh, waitFor} from './helpers/daemon.js'
import {guestXml, waitForLog} from './helpers/guest.js'
import {netnsDaemon, nsExec, type NetnsDaemon} from './helpers/netns.js'

let net: NetnsDaemon
let qemuUri: string
let filterUri: string

test.before(async () => {
  net = await netnsDaemon('nwfm', ['--driver', 'network'])
  await net.start()
  for (const driver of ['nwfilter', 'qemu']) {
    const r = await nsExec(net.ns, process.execPath, [BIN, 'daemon', 'start', '--root', net.root, '-d', '--driver', driver], 120000)
    if (r.code !== 0) throw new Error(r.stderr)
  }
  qemuUri = `qemu:///system?socket=${join(net.root, 'run/libvirt/virtqemud-sock')}`
  filterUri = `nwfilter:///system?socket=${join(net.root, 'run/libvirt/virtnwfilterd-sock')}`
})

test.after.always(async () => {
  await net?.cleanup()
})

test.serial('a guest of virtqemud is filtered by virtnwfilterd, its IP learned through virtnetworkd', async (t) => {
  t.timeout(600000) // guests booted under TCG and many processes: minutes on a loaded machine
  const log = join(net.root, 'm1.log')
  const file = join(net.root, 'm1.xml')
  const iface = `    <interface type='network'><mac address='52:54:00:00:08:11'/><source network='default'/><model type='virtio'/><filterref filter='clean-traffic'/></interface>`
  writeFileSync(file, guestXml('m1', log, iface, {cmdline: 'vctl.ping=192.168.122.1'}))
  const r = await virsh(qemuUri, ['create', file])
  t.is(r.code, 0, r.stderr)
  const list = (await virsh(filterUri, ['nwfilter-binding-list'])).stdout
  const tap = /(vnet\d+)\s+clean-traffic/.exec(list)?.[1] ?? ''
  t.regex(tap, /^vnet\d+$/, list)
  t.regex((await virsh(filterUri, ['nwfilter-binding-dumpxml', tap])).stdout, /<name>m1<\/name>/)
  await waitForLog(log, 'VCTL-GUEST IP', 1, 120000)
  const ip = /VCTL-GUEST IP (\S+)/.exec(readFileSync(log, 'utf8'))?.[1] ?? ''
  t.regex(ip, /^192\.168\.122\.\d+$/)
  await waitFor(
    'the learned IP in the rules',
    async () =>
      (await net.exec('/usr/sbin/nft', ['list', 'chain', 'bridge', 'vctl_nwfilter', `${tap}-out-ipv4-ip`])).stdout.includes(`ip saddr ${ip}`),
    60000,
  )
  await waitForLog(log, 'VCTL-GUEST PING 192.168.122.1 OK', 1, 90000)
  t.is((await virsh(qemuUri, ['destroy', 'm1'])).code, 0)
  t.false((await virsh(filterUri, ['nwfilter-binding-list'])).stdout.includes(tap))
  t.false((await net.exec('/usr/sbin/nft', ['list', 'table', 'bridge', 'vctl_nwfilter'])).stdout.includes(`${tap}-out`))
})
