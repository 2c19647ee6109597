/**
 * The firewall of a network: one nftables table of vctl's own per network (`inet vctl_<bridge>`),
 * loaded in one `nft -f` transaction and deleted as a whole when the network stops. Nothing else in
 * the ruleset is read, changed or flushed.
 *
 * nat: guests reach out (masqueraded), replies come back, nothing else comes in;
 * route: the same without masquerading, and the network's subnet is reachable from outside;
 * isolated (no `<forward>`): no forwarding in or out of the bridge at all;
 * open: no table (the admin's rules apply); bridge: not vctl's bridge, no table.
 * In every case the bridge's own DHCP and DNS (dnsmasq) are let in.
 */
import {isIP} from 'node:net'

import type {NetworkDef} from '../../conf/network.js'
import {run, tryRun} from './exec.js'
import {cidrText, ipPrefix, subnetOf} from './addr.js'

export function nftTableName(bridge: string): string {
  return `vctl_${bridge.replace(/[^A-Za-z0-9_]/g, '_')}`
}

/** Whether a network gets a table at all. */
export function needsFirewall(def: NetworkDef): boolean {
  const mode = def.forward?.mode
  return mode === undefined || mode === 'nat' || mode === 'route'
}

/** The ruleset of a network's table (an `nft -f` script that replaces any older table of that name). */
export function nftRuleset(def: NetworkDef, bridge: string): string {
  const table = nftTableName(bridge)
  const mode = def.forward?.mode
  const dev = def.forward?.dev
  const br = JSON.stringify(bridge)
  const forward: string[] = []
  const post: string[] = []
  for (const ip of def.ips) {
    const fam = isIP(ip.address) === 6 ? 'ip6' : 'ip'
    const net = cidrText(subnetOf(ip.address, ipPrefix(ip)))
    const out = dev ? ` oifname ${JSON.stringify(dev)}` : ''
    const inn = dev ? ` iifname ${JSON.stringify(dev)}` : ''
    if (mode === 'nat' || mode === 'route') forward.push(`iifname ${br}${out} ${fam} saddr ${net} accept`)
    if (mode === 'nat') forward.push(`oifname ${br}${inn} ${fam} daddr ${net} ct state related,established accept`)
    if (mode === 'route') forward.push(`oifname ${br}${inn} ${fam} daddr ${net} accept`)
    if (mode === 'nat' && fam === 'ip') {
      post.push(`${fam} saddr ${net} ${fam} daddr 224.0.0.0/24 return`)
      post.push(`${fam} saddr ${net} ${fam} daddr 255.255.255.255 return`)
      post.push(`${fam} saddr ${net} ${fam} daddr != ${net}${out} meta l4proto { tcp, udp } masquerade to :1024-65535`)
      post.push(`${fam} saddr ${net} ${fam} daddr != ${net}${out} masquerade`)
    }
  }
  forward.push(`iifname ${br} oifname ${br} accept`, `iifname ${br} reject`, `oifname ${br} reject`)
  const lines = [
    `table inet ${table} {}`,
    `delete table inet ${table}`,
    `table inet ${table} {`,
    `  chain input {`,
    `    type filter hook input priority filter - 1; policy accept;`,
    `    iifname ${br} udp dport { 53, 67, 547 } accept`,
    `    iifname ${br} tcp dport 53 accept`,
    `  }`,
    `  chain forward {`,
    `    type filter hook forward priority filter - 1; policy accept;`,
    ...forward.map((r) => `    ${r}`),
    `  }`,
    `  chain output {`,
    `    type filter hook output priority filter - 1; policy accept;`,
    `    oifname ${br} udp dport 68 accept`,
    `  }`,
  ]
  if (post.length) {
    lines.push(`  chain postrouting {`, `    type nat hook postrouting priority srcnat - 1; policy accept;`, ...post.map((r) => `    ${r}`), `  }`)
  }
  lines.push('}')
  return lines.join('\n') + '\n'
}

export async function applyFirewall(def: NetworkDef, bridge: string): Promise<void> {
  await run('nft', ['-f', '-'], nftRuleset(def, bridge))
}

/** Deletes the network's table; resolves false (with the reason logged) when it cannot. */
export async function removeFirewall(bridge: string, warn?: (m: string) => void): Promise<boolean> {
  try {
    await run('nft', ['delete', 'table', 'inet', nftTableName(bridge)])
    return true
  } catch (err) {
    warn?.((err as Error).message)
    return false
  }
}

export async function firewallExists(bridge: string): Promise<boolean> {
  return tryRun('nft', ['list', 'table', 'inet', nftTableName(bridge)])
}
