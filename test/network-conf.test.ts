// Pure parts of the network driver: net-update on definitions, the dnsmasq and nft files, leases, subnets.
import test, {type ExecutionContext} from 'ava'
import {ErrorCode, VirError} from '../src/lib/errors.js'
import {formatNetworkXml, parseNetworkXml} from '../src/lib/conf/network.js'
import {applyNetworkUpdate, NetworkUpdateCommand as C, NetworkUpdateSection as S} from '../src/lib/conf/network-update.js'
import {formatNetworkPortXml, parseNetworkPortXml} from '../src/lib/conf/network-port.js'
import {addnHosts, dnsmasqConfig, dnsmasqPaths, hostsFile} from '../src/lib/drivers/network/dnsmasq.js'
import {nftRuleset, nftTableName} from '../src/lib/drivers/network/nft.js'
import {parseLeases} from '../src/lib/drivers/network/leases.js'
import {overlaps, parseCidr, subnetOf, cidrText} from '../src/lib/drivers/network/addr.js'

const NET = `<network>
  <name>n1</name>
  <uuid>c081a82e-1eef-4e28-8bdb-bd9a8bd5f8b2</uuid>
  <forward mode='nat'/>
  <bridge name='virbr7' stp='on' delay='0'/>
  <mac address='52:54:00:5f:f0:58'/>
  <ip address='192.168.150.1' netmask='255.255.255.0'>
    <dhcp>
      <range start='192.168.150.2' end='192.168.150.254'/>
      <host mac='52:54:00:00:00:11' name='g1' ip='192.168.150.11'/>
    </dhcp>
  </ip>
</network>
`

function fails(t: ExecutionContext, fn: () => unknown, code: number, message: string): void {
  const err = t.throws(fn, {instanceOf: VirError})
  t.is(err?.code, code)
  t.is(err?.message, message)
}

test('the definition keeps its bridge MAC and formats as libvirt does', (t) => {
  const def = parseNetworkXml(NET)
  t.is(def.mac, '52:54:00:5f:f0:58')
  t.is(formatNetworkXml(def), NET)
})

test('net-update ip-dhcp-host: add, modify, delete, with libvirt errors', (t) => {
  const def = parseNetworkXml(NET)
  const added = applyNetworkUpdate(def, C.ADD_LAST, S.IP_DHCP_HOST, -1, "<host mac='52:54:00:00:00:12' name='g2' ip='192.168.150.12'/>")
  t.regex(formatNetworkXml(added), /name='g1' ip='192.168.150.11'\/>\n\s+<host mac='52:54:00:00:00:12' name='g2' ip='192.168.150.12'\/>/)
  t.false(formatNetworkXml(def).includes('g2'), 'the original is untouched')
  const first = applyNetworkUpdate(def, C.ADD_FIRST, S.IP_DHCP_HOST, -1, "<host mac='52:54:00:00:00:14' name='g4' ip='192.168.150.14'/>")
  t.true(formatNetworkXml(first).indexOf('g4') < formatNetworkXml(first).indexOf('g1'))
  fails(
    t,
    () => applyNetworkUpdate(def, C.ADD_LAST, S.IP_DHCP_HOST, -1, "<host mac='52:54:00:00:00:77' name='g1' ip='192.168.150.11'/>"),
    ErrorCode.OPERATION_INVALID,
    `Requested operation is not valid: there is an existing dhcp host entry in network 'n1' that matches "<host mac='52:54:00:00:00:77' name='g1' ip='192.168.150.11'/>"`,
  )
  const modified = applyNetworkUpdate(def, C.MODIFY, S.IP_DHCP_HOST, -1, "<host mac='52:54:00:00:00:11' name='g1' ip='192.168.150.21'/>")
  t.true(formatNetworkXml(modified).includes("ip='192.168.150.21'"))
  fails(
    t,
    () => applyNetworkUpdate(def, C.MODIFY, S.IP_DHCP_HOST, -1, "<host mac='52:54:00:00:00:13' name='g3' ip='192.168.150.13'/>"),
    ErrorCode.OPERATION_INVALID,
    `Requested operation is not valid: couldn't locate an existing dhcp host entry with "mac='52:54:00:00:00:13'" "name='g3'" "ip='192.168.150.13'" in network 'n1'`,
  )
  const deleted = applyNetworkUpdate(def, C.DELETE, S.IP_DHCP_HOST, -1, "<host mac='52:54:00:00:00:11'/>")
  t.false(formatNetworkXml(deleted).includes('g1'))
  fails(
    t,
    () => applyNetworkUpdate(def, C.DELETE, S.IP_DHCP_HOST, -1, "<host mac='52:54:00:00:00:99'/>"),
    ErrorCode.OPERATION_INVALID,
    "Requested operation is not valid: couldn't locate a matching dhcp host entry in network 'n1'",
  )
  fails(
    t,
    () => applyNetworkUpdate(def, C.ADD_LAST, S.IP_DHCP_HOST, -1, '<foo/>'),
    ErrorCode.XML_ERROR,
    "XML error: unexpected element <foo>, expecting <host>, while updating network 'n1'",
  )
  fails(
    t,
    () => applyNetworkUpdate(def, C.ADD_LAST, S.BRIDGE, -1, "<bridge name='x'/>"),
    ErrorCode.NO_SUPPORT,
    "this function is not supported by the connection driver: can't update 'bridge' section of network 'n1'",
  )
})

test('net-update dns-host and dhcp range', (t) => {
  const def = parseNetworkXml(NET)
  const dns = applyNetworkUpdate(def, C.ADD_LAST, S.DNS_HOST, -1, "<host ip='192.168.150.50'><hostname>foo</hostname></host>")
  t.regex(formatNetworkXml(dns), /<dns>\n\s+<host ip='192.168.150.50'>\n\s+<hostname>foo<\/hostname>/)
  t.is(addnHosts(dns), '192.168.150.50\tfoo\t\n')
  fails(
    t,
    () => applyNetworkUpdate(def, C.ADD_LAST, S.DNS_HOST, -1, "<host mac='52:54:00:00:00:14' ip='192.168.150.14'/>"),
    ErrorCode.XML_DETAIL,
    "Missing hostname in network 'n1' DNS HOST record",
  )
  t.false(formatNetworkXml(applyNetworkUpdate(dns, C.DELETE, S.DNS_HOST, -1, "<host ip='192.168.150.50'/>")).includes('foo'))
  const range = applyNetworkUpdate(def, C.ADD_LAST, S.IP_DHCP_RANGE, -1, "<range start='192.168.150.200' end='192.168.150.210'/>")
  t.regex(formatNetworkXml(range), /end='192.168.150.254'\/>\n\s+<range start='192.168.150.200' end='192.168.150.210'\/>\n\s+<host/)
})

test('dnsmasq config and hosts file of a NAT network', (t) => {
  const def = parseNetworkXml(NET)
  const p = dnsmasqPaths('/st', '/rn', 'n1')
  const conf = dnsmasqConfig(def, 'virbr7', p)
  for (const line of [
    'interface=virbr7',
    'bind-dynamic',
    'except-interface=lo',
    'pid-file=/rn/n1.pid',
    'dhcp-range=192.168.150.2,192.168.150.254,255.255.255.0',
    'dhcp-lease-max=253',
    'dhcp-hostsfile=/st/dnsmasq/n1.hostsfile',
    'dhcp-leasefile=/st/dnsmasq/n1.leases',
  ]) {
    t.true(conf.split('\n').includes(line), line)
  }
  t.false(conf.includes('dhcp-option=3'), 'a NAT network announces its router')
  t.is(hostsFile(def), '52:54:00:00:00:11,192.168.150.11,g1\n')
  const isolated = parseNetworkXml(NET.replace("<forward mode='nat'/>", ''))
  t.true(dnsmasqConfig(isolated, 'virbr7', p).split('\n').includes('dhcp-option=3'), 'an isolated network gives no default route')
})

test('nft ruleset: one table of our own, masquerade only for NAT, rejects for isolated', (t) => {
  const nat = parseNetworkXml(NET)
  const rules = nftRuleset(nat, 'virbr7')
  t.is(nftTableName('virbr7'), 'vctl_virbr7')
  t.true(rules.startsWith('table inet vctl_virbr7 {}\ndelete table inet vctl_virbr7\n'))
  t.regex(rules, /ip saddr 192.168.150.0\/24 ip daddr != 192.168.150.0\/24 masquerade/)
  t.false(/flush|table ip |table inet (?!vctl_virbr7)/.test(rules), 'touches no other table')
  const routed = nftRuleset(parseNetworkXml(NET.replace("mode='nat'", "mode='route'")), 'virbr7')
  t.false(routed.includes('masquerade'))
  t.regex(routed, /oifname "virbr7" ip daddr 192.168.150.0\/24 accept/)
  const isolated = nftRuleset(parseNetworkXml(NET.replace("<forward mode='nat'/>", '')), 'virbr7')
  t.false(isolated.includes('saddr 192.168.150.0/24 accept'))
  t.regex(isolated, /iifname "virbr7" reject/)
})

test('leases from the dnsmasq lease file, expired ones left out', (t) => {
  const def = parseNetworkXml(NET)
  const now = 1_800_000_000
  const text = [
    `${now + 3600} 52:54:00:00:00:11 192.168.150.11 g1 01:52:54:00:00:00:11`,
    `${now - 10} 52:54:00:00:00:12 192.168.150.12 * *`,
    'duid 00:01:00:01:2c:00:00:00:52:54:00:00:00:01',
  ].join('\n')
  const leases = parseLeases(text, def, 'virbr7', now)
  t.is(leases.length, 1)
  t.like(leases[0], {iface: 'virbr7', mac: '52:54:00:00:00:11', ipaddr: '192.168.150.11', prefix: 24, hostname: 'g1', type: 0})
  t.is(leases[0].expirytime, BigInt(now + 3600))
})

test('subnet overlap and text', (t) => {
  const a = subnetOf('192.168.122.1', 24)
  t.is(cidrText(a), '192.168.122.0/24')
  t.true(overlaps(a, parseCidr('192.168.0.0/16')!))
  t.false(overlaps(a, parseCidr('192.168.123.0/24')!))
  t.false(overlaps(a, parseCidr('fd00::/64')!))
  t.is(parseCidr('default'), undefined)
})

test('network port XML round trip', (t) => {
  const xml = `<networkport>
  <uuid>0b6d5b0c-5f1a-4bd2-9c1e-1a2b3c4d5e6f</uuid>
  <owner>
    <name>g1</name>
    <uuid>7e0d2b0c-5f1a-4bd2-9c1e-1a2b3c4d5e6f</uuid>
  </owner>
  <mac address='52:54:00:00:00:11'/>
  <plug type='network' bridge='virbr7' macTableManager='kernel'/>
</networkport>
`
  const p = parseNetworkPortXml(xml)
  t.deepEqual(p.plug, {type: 'network', bridge: 'virbr7'})
  t.is(formatNetworkPortXml(p), xml)
})
