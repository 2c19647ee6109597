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
  if (!i || !dev) throw errors.invalidArg(D, `invalid path, '${device}' is not a known interface`)
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
  if (source !== InterfaceAddrSource.LEASE) {
    const why = source === InterfaceAddrSource.AGENT ? 'QEMU guest agent is not configured' : `Unknown IP address data source ${source}`
    throw virError(ErrorCode.ARGUMENT_UNSUPPORTED, D, 'argument unsupported', why)
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
