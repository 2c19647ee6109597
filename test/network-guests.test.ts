// Tiny QEMU guests on vctl's networks, in a network namespace with an "upstream" namespace beside
// it: DHCP leases (static and dynamic), pings between guests and to upstream (masqueraded), the
// isolated and bridge forward modes, domifaddr/domifstat/net-dhcp-leases, kill -9 of the daemon.
import test from 'ava'
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {virsh, waitExit, waitFor} from './helpers/daemon.js'
import {countInLog, guestXml, waitForLog} from './helpers/guest.js'
import {addUpstream, netnsDaemon, nsExec, type NetnsDaemon} from './helpers/netns.js'

const NFT = '/usr/sbin/nft'
const UPSTREAM = '10.99.0.2'
const UPLINK = '10.99.0.1'
let d: NetnsDaemon
let upstream: Awaited<ReturnType<typeof addUpstream>>

const NAT = `<network>
  <name>nat1</name>
  <forward mode='nat'/>
  <ip address='192.168.150.1' netmask='255.255.255.0'>
    <dhcp>
      <range start='192.168.150.100' end='192.168.150.199'/>
      <host mac='52:54:00:00:01:11' name='g1' ip='192.168.150.11'/>
    </dhcp>
  </ip>
</network>`
const ISO = `<network>
  <name>iso1</name>
  <ip address='192.168.160.1' netmask='255.255.255.0'>
    <dhcp>
      <range start='192.168.160.100' end='192.168.160.199'/>
      <host mac='52:54:00:00:02:11' name='g3' ip='192.168.160.11'/>
    </dhcp>
  </ip>
</network>`

test.before(async () => {
  d = await netnsDaemon('ng')
  upstream = await addUpstream(d.ns, UPLINK, UPSTREAM)
  // Upstream counts the pings it gets, by source address.
  const count = `table ip vctl_count {
  chain input {
    type filter hook input priority 0; policy accept;
    ip saddr ${UPLINK} icmp type echo-request counter
    ip saddr 192.168.0.0/16 icmp type echo-request counter
  }
}
`
  writeFileSync(join(d.root, 'count.nft'), count)
  const r = await nsExec(upstream.up, NFT, ['-f', join(d.root, 'count.nft')])
  if (r.code !== 0) throw new Error(r.stderr)
  await d.start()
  for (const [name, xml] of [
    ['nat1', NAT],
    ['iso1', ISO],
  ]) {
    writeFileSync(join(d.root, `${name}.xml`), xml)
    const def = await virsh(d.uri, ['net-define', join(d.root, `${name}.xml`)])
    if (def.code !== 0) throw new Error(def.stderr)
    const start = await virsh(d.uri, ['net-start', name])
    if (start.code !== 0) throw new Error(start.stderr)
  }
})

test.after.always(async () => {
  await d?.cleanup()
  await upstream?.cleanup()
})

/** Upstream's counters: [pings from the NAT address, pings from a guest subnet]. */
async function upstreamCounts(): Promise<[number, number]> {
  const out = (await nsExec(upstream.up, NFT, ['list', 'table', 'ip', 'vctl_count'])).stdout
  const packets = [...out.matchAll(/counter packets (\d+)/g)].map((m) => Number(m[1]))
  return [packets[0] ?? 0, packets[1] ?? 0]
}

function guest(name: string, iface: string, ping: string[]): {file: string; log: string} {
  const log = join(d.root, `serial-${name}.log`)
  const file = join(d.root, `${name}.xml`)
  const xml = guestXml(name, log, iface).replace('cryptomgr.notests', `cryptomgr.notests${ping.length ? ` vctl.ping=${ping.join(',')}` : ''}`)
  writeFileSync(file, xml)
  return {file, log}
}

const netIface = (network: string, mac: string) =>
  `    <interface type='network'>\n      <mac address='${mac}'/>\n      <source network='${network}'/>\n      <model type='virtio'/>\n    </interface>`

function leaseOf(log: string): string {
  return /VCTL-GUEST IP (\S+)/.exec(readFileSync(log, 'utf8'))?.[1] ?? ''
}

test.serial('two guests on a NAT network: leases, each other, upstream through NAT; restart safety', async (t) => {
  t.timeout(300000) // guests under TCG on a loaded machine: more than ava's default
  const g1 = guest('g1', netIface('nat1', '52:54:00:00:01:11'), [UPSTREAM])
  const g2 = guest('g2', netIface('nat1', '52:54:00:00:01:12'), ['192.168.150.11', UPSTREAM])
  for (const g of [g1, g2]) t.is((await virsh(d.uri, ['create', g.file])).code, 0)
  await Promise.all([waitForLog(g1.log, 'VCTL-GUEST IP', 1, 120000), waitForLog(g2.log, 'VCTL-GUEST IP', 1, 120000)])
  t.is(leaseOf(g1.log), '192.168.150.11', 'the static host entry')
  t.regex(leaseOf(g2.log), /^192\.168\.150\.1\d\d$/, 'an address of the range')

  await waitForLog(g2.log, 'VCTL-GUEST PING 192.168.150.11 OK', 1, 60000)
  await waitForLog(g1.log, `VCTL-GUEST PING ${UPSTREAM} OK`, 1, 60000)
  await waitForLog(g2.log, `VCTL-GUEST PING ${UPSTREAM} OK`, 1, 60000)
  const [nat, direct] = await upstreamCounts()
  t.true(nat > 0, 'upstream sees the masqueraded address')
  t.is(direct, 0, 'and never a guest address')

  // The guests print their address on the ACK; dnsmasq records the lease around the same moment.
  let leases = await virsh(d.uri, ['net-dhcp-leases', 'nat1'])
  await waitFor('both leases recorded', async () => {
    leases = await virsh(d.uri, ['net-dhcp-leases', 'nat1'])
    return leases.stdout.includes('52:54:00:00:01:11') && leases.stdout.includes('52:54:00:00:01:12')
  }).catch(() => undefined)
  t.regex(leases.stdout, /52:54:00:00:01:11\s+ipv4\s+192\.168\.150\.11\/24\s+g1/)
  t.regex(leases.stdout, /52:54:00:00:01:12\s+ipv4\s+192\.168\.150\.1\d\d\/24/)
  const one = await virsh(d.uri, ['net-dhcp-leases', 'nat1', '--mac', '52:54:00:00:01:12'])
  t.false(one.stdout.includes('52:54:00:00:01:11'))
  t.regex((await virsh(d.uri, ['domifaddr', 'g1'])).stdout, /vnet\d+\s+52:54:00:00:01:11\s+ipv4\s+192\.168\.150\.11\/24/)
  const iflist = (await virsh(d.uri, ['domiflist', 'g1'])).stdout
  const tap = /(vnet\d+)\s+network\s+nat1\s+virtio\s+52:54:00:00:01:11/.exec(iflist)?.[1]
  t.truthy(tap, iflist)
  const rx = async () => Number(/rx_packets (\d+)/.exec((await virsh(d.uri, ['domifstat', 'g1', tap ?? '']))?.stdout)?.[1] ?? -1)
  const rx1 = await rx()
  await waitFor('domifstat rx_packets to grow', async () => (await rx()) > rx1, 30000)
  t.is((await virsh(d.uri, ['net-port-list', 'nat1'])).stdout.match(/[0-9a-f]{8}-/g)?.length, 2, 'one port per guest')

  // kill -9 of the daemon: guests and network go on; the restarted daemon reattaches.
  process.kill(d.pid, 'SIGKILL')
  t.true(await waitExit(d.pid, 30000))
  const before = [countInLog(g2.log, 'PING 192.168.150.11 OK'), countInLog(g2.log, `PING ${UPSTREAM} OK`)]
  await d.start()
  await waitForLog(g2.log, 'PING 192.168.150.11 OK', before[0] + 2, 60000)
  await waitForLog(g2.log, `PING ${UPSTREAM} OK`, before[1] + 2, 60000)
  t.regex((await virsh(d.uri, ['domifaddr', 'g2'])).stdout, /192\.168\.150\.1\d\d/)

  for (const g of ['g1', 'g2']) t.is((await virsh(d.uri, ['destroy', g])).code, 0)
  t.is((await virsh(d.uri, ['net-port-list', 'nat1'])).stdout.match(/[0-9a-f]{8}-/g), null, 'ports released')
  if (tap) t.not((await d.exec('ip', ['link', 'show', tap])).code, 0, 'tap removed')
  const pid = Number(readFileSync(join(d.root, 'run/libvirt/network/nat1.pid'), 'utf8'))
  t.is((await virsh(d.uri, ['net-destroy', 'nat1'])).code, 0)
  t.true(await waitExit(pid, 30000), 'dnsmasq gone')
  t.not((await d.exec('ip', ['link', 'show', 'virbr1'])).code, 0, 'bridge gone')
  t.not((await d.exec(NFT, ['list', 'table', 'inet', 'vctl_virbr1'])).code, 0, 'nft table gone')
})

test.serial('an isolated network: guests reach each other, not upstream', async (t) => {
  t.timeout(300000) // guests under TCG on a loaded machine: more than ava's default
  const g3 = guest('g3', netIface('iso1', '52:54:00:00:02:11'), [])
  const g4 = guest('g4', netIface('iso1', '52:54:00:00:02:12'), ['192.168.160.11', UPSTREAM])
  for (const g of [g3, g4]) t.is((await virsh(d.uri, ['create', g.file])).code, 0)
  await waitForLog(g4.log, 'PING 192.168.160.11 OK', 1, 120000)
  await waitForLog(g4.log, `PING ${UPSTREAM} FAIL`, 2, 60000)
  t.is(countInLog(g4.log, `PING ${UPSTREAM} OK`), 0)
  t.is(leaseOf(g3.log), '192.168.160.11')
  for (const g of ['g3', 'g4']) await virsh(d.uri, ['destroy', g])
})

test.serial("forward mode='bridge': the guest's tap sits on the admin's bridge", async (t) => {
  t.timeout(300000) // guests under TCG on a loaded machine: more than ava's default
  t.is((await d.exec('ip', ['link', 'add', 'bradmin', 'type', 'bridge'])).code, 0)
  await d.exec('ip', ['link', 'set', 'bradmin', 'up'])
  const xml = join(d.root, 'br.xml')
  writeFileSync(xml, "<network><name>br1</name><forward mode='bridge'/><bridge name='bradmin'/></network>")
  t.is((await virsh(d.uri, ['net-create', xml])).code, 0)
  const g5 = guest('g5', netIface('br1', '52:54:00:00:03:11'), [])
  t.is((await virsh(d.uri, ['create', g5.file])).code, 0, 'guest started')
  const links = (await d.exec('ip', ['-o', 'link', 'show', 'master', 'bradmin'])).stdout
  t.regex(links, /vnet\d+/)
  t.regex((await virsh(d.uri, ['dumpxml', 'g5'])).stdout, /<source network='br1' portid='[0-9a-f-]+' bridge='bradmin'\/>/)
  await virsh(d.uri, ['destroy', 'g5'])
  t.is((await d.exec('ip', ['-o', 'link', 'show', 'master', 'bradmin'])).stdout, '', 'tap removed')
  await virsh(d.uri, ['net-destroy', 'br1'])
})

test.serial('bad input: a guest on a network that is not running, or on a bridge that does not exist; nothing left behind', async (t) => {
  t.timeout(300000) // guests under TCG on a loaded machine: more than ava's default
  const g6 = guest('g6', netIface('iso1', '52:54:00:00:04:11'), [])
  await virsh(d.uri, ['net-destroy', 'iso1'])
  const r = await virsh(d.uri, ['create', g6.file])
  t.is(r.code, 1)
  t.regex(r.stderr, /error: Requested operation is not valid: network 'iso1' is not active/)
  const g7 = guest('g7', "    <interface type='bridge'><source bridge='nosuchbr'/><model type='virtio'/></interface>", [])
  const r7 = await virsh(d.uri, ['create', g7.file])
  t.is(r7.code, 1)
  t.regex(r7.stderr, /Cannot get interface MTU on 'nosuchbr': No such device/)
  t.notRegex((await d.exec('ip', ['-o', 'link'])).stdout, /vnet\d+/, 'no tap left')
  t.is((await virsh(d.uri, ['net-port-list', 'nat1'])).stdout.match(/[0-9a-f]{8}-/g), null, 'no port left')
  t.is((await virsh(d.uri, ['list', '--all', '--name'])).stdout.trim(), '')
})
