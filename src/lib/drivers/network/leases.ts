/**
 * DHCP leases of a network, read from its dnsmasq's lease file:
 *   IPv4: `EXPIRY MAC IP HOSTNAME|* CLIENTID|*`
 *   `duid SERVER-DUID`, then IPv6: `EXPIRY IAID IP HOSTNAME|* CLIENT-DUID`
 * Expired leases are left out, as libvirt does.
 */
import {readFileSync} from 'node:fs'
import {isIP} from 'node:net'

import type {NetworkDef} from '../../conf/network.js'
import type {NetworkDhcpLease} from '../network-port-types.js'
import {inSubnet, ipPrefix, subnetOf} from './addr.js'

export function parseLeases(text: string, def: NetworkDef, iface: string, now = Math.floor(Date.now() / 1000)): NetworkDhcpLease[] {
  const out: NetworkDhcpLease[] = []
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/)
    if (f.length < 4 || f[0] === 'duid') continue
    const expiry = Number(f[0])
    if (!Number.isFinite(expiry) || (expiry !== 0 && expiry < now)) continue
    const ipaddr = f[2]
    const fam = isIP(ipaddr)
    if (fam === 0) continue
    const ip = def.ips.find((i) => inSubnet(ipaddr, subnetOf(i.address, ipPrefix(i))))
    const v6 = fam === 6
    out.push({
      iface,
      expirytime: BigInt(expiry),
      type: v6 ? 1 : 0,
      mac: v6 ? null : f[1].toLowerCase(),
      iaid: v6 ? f[1] : null,
      ipaddr,
      prefix: ip ? ipPrefix(ip) : v6 ? 64 : 24,
      hostname: f[3] === '*' ? null : f[3],
      clientid: f[4] === undefined || f[4] === '*' ? null : f[4],
    })
  }
  return out
}

export function readLeases(file: string, def: NetworkDef, iface: string): NetworkDhcpLease[] {
  try {
    return parseLeases(readFileSync(file, 'utf8'), def, iface)
  } catch {
    return []
  }
}
