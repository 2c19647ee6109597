/**
 * domifstat and domifaddr of QEMU guests: a tap's counters from sysfs (swapped: what the tap
 * sends, the guest receives), and addresses from the DHCP leases of the interface's network.
 */
import {readFileSync} from 'node:fs'
import {isIP} from 'node:net'

import {ErrorCode, ErrorDomain, errors, virError} from '../../errors.js'
import type {DomainInterfaceAddrs, InterfaceStats} from '../domain-net-types.js'
import {InterfaceAddrSource} from '../domain-net-types.js'
import type {QemuContext, QemuDomain} from './context.js'
import {targetDev} from './net-interface.js'
import {agentError} from './agent.js'

/** The host's neighbour table (/proc/net/arp): MAC -> IPv4 addresses it answered for. */
function arpTable(): Map<string, string[]> {
  const out = new Map<string, string[]>()
  let text: string
  try {
    text = readFileSync('/proc/net/arp', 'utf8')
  } catch {
    return out
  }
  for (const line of text.split('\n').slice(1)) {
    const [ip, , flags, mac] = line.trim().split(/\s+/)
    if (!ip || !mac || flags === '0x0') continue
    const list = out.get(mac.toLowerCase()) ?? []
    list.push(ip)
    out.set(mac.toLowerCase(), list)
  }
  return out
}

/** domifaddr --source arp: the guest's MACs looked up in the host's ARP table. */
function arpAddresses(dom: QemuDomain): DomainInterfaceAddrs[] {
  const table = arpTable()
  const out: DomainInterfaceAddrs[] = []
  for (const i of dom.live?.devices.interfaces ?? []) {
    const ips = i.mac ? table.get(i.mac) : undefined
    if (!ips?.length) continue
    out.push({name: targetDev(i) ?? '', hwaddr: i.mac ?? null, addrs: ips.map((addr) => ({type: 0, addr, prefix: 0}))})
  }
  return out
}

const D = ErrorDomain.DOMAIN

function counter(dev: string, name: string): bigint {
  try {
    return BigInt(readFileSync(`/sys/class/net/${dev}/statistics/${name}`, 'utf8').trim())
  } catch {
    throw errors.systemError(D, `Unable to read statistics of interface '${dev}': No such device`)
  }
}

export function interfaceStats(dom: QemuDomain, device: string): InterfaceStats {
  if (!dom.live) throw errors.operationInvalid(D, 'domain is not running')
  const want = device.toLowerCase()
  const i = dom.live.devices.interfaces.find((x) => targetDev(x) === device || x.mac === want)
  const dev = i ? targetDev(i) : undefined
  if (!i) throw errors.invalidArg(D, `'${device}' is not a known interface`)
  // A user-mode NIC has no host device to count on (libvirt's words).
  if (!dev) throw errors.internal(D, 'Interface name not provided')
  return {
    rx_bytes: counter(dev, 'tx_bytes'),
    rx_packets: counter(dev, 'tx_packets'),
    rx_errs: counter(dev, 'tx_errors'),
    rx_drop: counter(dev, 'tx_dropped'),
    tx_bytes: counter(dev, 'rx_bytes'),
    tx_packets: counter(dev, 'rx_packets'),
    tx_errs: counter(dev, 'rx_errors'),
    tx_drop: counter(dev, 'rx_dropped'),
  }
}

export async function interfaceAddresses(ctx: QemuContext, dom: QemuDomain, source: number): Promise<DomainInterfaceAddrs[]> {
  if (!dom.live) throw errors.operationInvalid(D, 'domain is not running')
  if (source === InterfaceAddrSource.AGENT && dom.live) throw agentError(dom.live)
  if (source === InterfaceAddrSource.ARP) return arpAddresses(dom)
  if (source !== InterfaceAddrSource.LEASE) {
    throw virError(ErrorCode.ARGUMENT_UNSUPPORTED, D, 'argument unsupported', `Unknown IP address data source ${source}`)
  }
  const out: DomainInterfaceAddrs[] = []
  for (const i of dom.live.devices.interfaces) {
    const network = i.source?.network
    if (i.type !== 'network' || !network || !ctx.networkPorts) continue
    let leases
    try {
      const net = await ctx.networkPorts.lookupNetworkByName(network)
      leases = await ctx.networkPorts.networkGetDhcpLeases(net.uuid, i.mac ?? null, 0)
    } catch {
      continue
    }
    if (!leases.length) continue
    out.push({
      name: targetDev(i) ?? '',
      hwaddr: i.mac ?? null,
      addrs: leases.map((l) => ({type: isIP(l.ipaddr) === 6 ? 1 : 0, addr: l.ipaddr, prefix: l.prefix})),
    })
  }
  return out
}
