// Network filters applied for real: tiny QEMU guests with <filterref filter='clean-traffic'> on a
// vctl network inside a network namespace. The clean guest gets its lease and pings the bridge (its
// IP learned from the lease); the filter's rules are nftables chains on its tap that survive a
// daemon restart and go when the guest stops; a guest whose filter names another IP or MAC has its
// frames dropped (nft counters); an unknown filter fails the start with libvirt's error.
import test from 'ava'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {virsh, waitExit, waitFor} from './helpers/daemon.js'
import {countInLog, guestXml, waitForLog} from './helpers/guest.js'
import {netnsDaemon, type NetnsDaemon} from './helpers/netns.js'

const NFT = '/usr/sbin/nft'
const BRIDGE_IP = '192.168.171.1'
const MAC = '52:54:00:00:07:11'
const GUEST_IP = '192.168.171.11'
let d: NetnsDaemon

const NET = `<network>
  <name>filt</name>
  <forward mode='nat'/>
  <ip address='${BRIDGE_IP}' netmask='255.255.255.0'>
    <dhcp>
      <range start='192.168.171.100' end='192.168.171.199'/>
      <host mac='${MAC}' name='g' ip='${GUEST_IP}'/>
    </dhcp>
  </ip>
</network>`

test.before(async () => {
  d = await netnsDaemon('nwfg')
  await d.start()
  writeFileSync(join(d.root, 'net.xml'), NET)
  for (const args of [
    ['net-define', join(d.root, 'net.xml')],
    ['net-start', 'filt'],
  ]) {
    const r = await virsh(d.uri, args)
    if (r.code !== 0) throw new Error(r.stderr)
  }
})

test.after.always(async () => {
  await d?.cleanup()
})

function guest(name: string, filterref: string): {file: string; log: string} {
  const log = join(d.root, `serial-${name}.log`)
  const file = join(d.root, `${name}.xml`)
  const iface = `    <interface type='network'>
      <mac address='${MAC}'/>
      <source network='filt'/>
      <model type='virtio'/>
      ${filterref}
    </interface>`
  writeFileSync(file, guestXml(name, log, iface, {cmdline: `vctl.ping=${BRIDGE_IP}`}))
  return {file, log}
}

const nftTable = async () => (await d.exec(NFT, ['list', 'table', 'bridge', 'vctl_nwfilter'])).stdout

/** Packets counted by the drop rules of chain `chain` (0 when it has none). */
async function dropped(chain: string): Promise<number> {
  const out = (await d.exec(NFT, ['list', 'chain', 'bridge', 'vctl_nwfilter', chain])).stdout
  return [...out.matchAll(/counter packets (\d+) bytes \d+ drop/g)].reduce((n, m) => n + Number(m[1]), 0)
}

async function tapOf(name: string): Promise<string> {
  const out = (await virsh(d.uri, ['domiflist', name])).stdout
  return /(vnet\d+)\s+network/.exec(out)?.[1] ?? ''
}

test.serial('clean-traffic: the guest gets its lease and pings; rules on its tap survive a restart and go when it stops', async (t) => {
  t.timeout(300000) // guests under TCG on a loaded machine: more than ava's default
  const g = guest('clean', "<filterref filter='clean-traffic'/>")
  const start = await virsh(d.uri, ['create', g.file])
  t.is(start.code, 0, start.stderr)
  await waitForLog(g.log, `VCTL-GUEST IP ${GUEST_IP}`, 1, 120000)
  await waitForLog(g.log, `VCTL-GUEST PING ${BRIDGE_IP} OK`, 1, 90000)
  const tap = await tapOf('clean')
  t.regex(tap, /^vnet\d+$/)

  const list = await virsh(d.uri, ['nwfilter-binding-list'])
  t.regex(list.stdout, new RegExp(`${tap}\\s+clean-traffic`))
  const bxml = (await virsh(d.uri, ['nwfilter-binding-dumpxml', tap])).stdout
  t.true(
    bxml.includes(`<portdev name='${tap}'/>`) && bxml.includes(`<mac address='${MAC}'/>`) && bxml.includes("<filterref filter='clean-traffic'/>"),
    bxml,
  )
  const table = await nftTable()
  t.true(table.includes(`chain ${tap}-out-mac`), table)
  t.true(table.includes(`ether saddr ${MAC}`), 'no-mac-spoofing with the NIC MAC')
  // the IP variable was learned from the lease
  await waitFor('the learned IP in the rules', async () => (await nftTable()).includes(`ip saddr ${GUEST_IP}`), 30000)

  // a filter a running guest uses (here through clean-traffic) cannot go
  const inUse = await virsh(d.uri, ['nwfilter-undefine', 'no-mac-spoofing'])
  t.not(inUse.code, 0)
  t.regex(inUse.stderr, /Requested operation is not valid: nwfilter is in use/)

  // a daemon restart keeps the binding and its rules; the guest keeps pinging
  process.kill(d.pid, 'SIGTERM')
  t.true(await waitExit(d.pid, 30000))
  t.true((await nftTable()).includes(`chain ${tap}-out`), 'rules stay while the daemon is down')
  await d.start()
  t.regex((await virsh(d.uri, ['nwfilter-binding-list'])).stdout, new RegExp(`${tap}\\s+clean-traffic`))
  const after = countInLog(g.log, `PING ${BRIDGE_IP} OK`)
  await waitForLog(g.log, `PING ${BRIDGE_IP} OK`, after + 2, 60000)
  await waitFor('the learned IP in the re-applied rules', async () => (await nftTable()).includes(`ip saddr ${GUEST_IP}`), 30000)

  t.is((await virsh(d.uri, ['destroy', 'clean'])).code, 0)
  const gone = await nftTable()
  t.false(gone.includes(`${tap}-out`), gone)
  t.false((await virsh(d.uri, ['nwfilter-binding-list'])).stdout.includes(tap))
})

test.serial('a filter naming another IP drops the guest’s IP and ARP traffic', async (t) => {
  t.timeout(300000) // guests under TCG on a loaded machine: more than ava's default
  const g = guest('spoofip', "<filterref filter='clean-traffic'><parameter name='IP' value='192.168.171.55'/></filterref>")
  t.is((await virsh(d.uri, ['create', g.file])).code, 0)
  // DHCP still passes (from 0.0.0.0), everything sent from the leased address does not
  await waitForLog(g.log, `VCTL-GUEST IP ${GUEST_IP}`, 1, 120000)
  await waitForLog(g.log, `VCTL-GUEST PING ${BRIDGE_IP} FAIL`, 2, 60000)
  t.is(countInLog(g.log, `PING ${BRIDGE_IP} OK`), 0)
  const tap = await tapOf('spoofip')
  await waitFor('dropped ARP or IP frames', async () => (await dropped(`${tap}-out-arp-ip`)) + (await dropped(`${tap}-out-ipv4-ip`)) > 0, 30000)
  t.is((await virsh(d.uri, ['destroy', 'spoofip'])).code, 0)
  t.false((await nftTable()).includes(`${tap}-out`))
})

test.serial('a filter naming another MAC drops every frame the guest sends', async (t) => {
  t.timeout(300000) // guests under TCG on a loaded machine: more than ava's default
  const g = guest('spoofmac', "<filterref filter='clean-traffic'><parameter name='MAC' value='52:54:00:de:ad:01'/></filterref>")
  t.is((await virsh(d.uri, ['create', g.file])).code, 0)
  await waitForLog(g.log, 'VCTL-GUEST READY', 1, 120000)
  const tap = await tapOf('spoofmac')
  await waitFor('dropped frames in the mac chain', async () => (await dropped(`${tap}-out-mac`)) >= 3, 60000)
  t.is(countInLog(g.log, 'VCTL-GUEST IP '), 0, 'no DHCP lease: its requests never left the tap')
  t.is((await virsh(d.uri, ['destroy', 'spoofmac'])).code, 0)
})

test.serial('redefining a filter a running guest uses re-applies its rules', async (t) => {
  t.timeout(300000) // guests under TCG on a loaded machine: more than ava's default
  const uuid = 'c0ffee00-0000-4000-8000-000000000001'
  const allow = `<filter name='pingable' chain='root'><uuid>${uuid}</uuid><filterref filter='allow-arp'/><filterref filter='allow-ipv4'/></filter>`
  const deny = `<filter name='pingable' chain='root'><uuid>${uuid}</uuid><filterref filter='allow-arp'/><rule action='drop' direction='out'><mac protocolid='ipv4'/></rule></filter>`
  writeFileSync(join(d.root, 'allow.xml'), allow)
  writeFileSync(join(d.root, 'deny.xml'), deny)
  t.is((await virsh(d.uri, ['nwfilter-define', join(d.root, 'allow.xml')])).code, 0)
  const g = guest('redef', "<filterref filter='pingable'/>")
  t.is((await virsh(d.uri, ['create', g.file])).code, 0)
  await waitForLog(g.log, `VCTL-GUEST PING ${BRIDGE_IP} OK`, 1, 120000)
  const r = await virsh(d.uri, ['nwfilter-define', join(d.root, 'deny.xml')])
  t.is(r.code, 0, r.stderr)
  const fails = countInLog(g.log, `PING ${BRIDGE_IP} FAIL`)
  await waitForLog(g.log, `PING ${BRIDGE_IP} FAIL`, fails + 2, 60000)
  const tap = await tapOf('redef')
  t.true((await dropped(`${tap}-out`)) > 0, 'the new drop rule counts')
  t.is((await virsh(d.uri, ['destroy', 'redef'])).code, 0)
  t.is((await virsh(d.uri, ['nwfilter-undefine', 'pingable'])).code, 0)
})

test.serial('an unknown filter fails the start with libvirt’s error, leaving no tap or binding', async (t) => {
  t.timeout(300000) // guests under TCG on a loaded machine: more than ava's default
  const g = guest('nofilter', "<filterref filter='no-such-filter'/>")
  const r = await virsh(d.uri, ['create', g.file])
  t.not(r.code, 0)
  t.regex(r.stderr, /internal error: referenced filter 'no-such-filter' is missing/)
  t.is((await virsh(d.uri, ['list', '--name'])).stdout.trim(), '')
  t.false((await virsh(d.uri, ['nwfilter-binding-list'])).stdout.includes('vnet'))
  t.notRegex((await d.exec('ip', ['-o', 'link', 'show'])).stdout, /vnet\d+/)
})
