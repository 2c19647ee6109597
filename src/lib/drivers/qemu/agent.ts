/**
 * What needs the QEMU guest agent (domhostname, domtime, domifaddr --source agent): vctl does not
 * talk to an agent, so these answer as libvirt 9.0 does for a guest whose agent is absent: "not
 * configured" without an org.qemu.guest_agent.0 channel, "not responding" with one. domhostname
 * --source lease looks in the DHCP leases of the guest's networks instead.
 */
import type {DomainDef} from '../../conf/domain.js'
import {attr, child} from '../../conf/xml.js'
import {ErrorCode, ErrorDomain, VirError, errors, virError} from '../../errors.js'
import {elems} from './argv-devices.js'
import {D, type QemuContext, type QemuDomain} from './context.js'

const AGENT_UNRESPONSIVE = 86
const NO_HOSTNAME = 108
const HOSTNAME_LEASE = 1
const HOSTNAME_AGENT = 2
const TIME_SYNC = 1

export function hasAgentChannel(def: DomainDef): boolean {
  return elems(def, 'channel').some((c) => attr(child(c, 'target'), 'name') === 'org.qemu.guest_agent.0')
}

/** libvirt's error for a call that needs the agent. */
export function agentError(def: DomainDef): VirError {
  if (!hasAgentChannel(def)) return virError(ErrorCode.ARGUMENT_UNSUPPORTED, D, 'argument unsupported', 'QEMU guest agent is not configured')
  return virError(AGENT_UNRESPONSIVE, D, 'Guest agent is not responding', 'QEMU guest agent is not connected')
}

function checkFlags(flags: number, allowed: number, fn: string): void {
  const extra = flags & ~allowed
  if (extra) throw new VirError(ErrorCode.INVALID_ARG, D, `unsupported flags (0x${extra.toString(16)}) in function ${fn}`, {str1: fn})
}

function liveDef(ctx: QemuContext, d: QemuDomain): DomainDef {
  ctx.requireActive(d)
  if (!d.live) throw errors.operationInvalid(ErrorDomain.DOMAIN, 'domain is not running')
  return d.live
}

export async function getHostname(ctx: QemuContext, d: QemuDomain, flags: number): Promise<string> {
  checkFlags(flags, HOSTNAME_LEASE | HOSTNAME_AGENT, 'qemuDomainGetHostname')
  if (flags & HOSTNAME_LEASE && flags & HOSTNAME_AGENT) {
    throw errors.invalidArg(D, "Flags 'VIR_DOMAIN_GET_HOSTNAME_LEASE' and 'VIR_DOMAIN_GET_HOSTNAME_AGENT' are mutually exclusive")
  }
  const def = liveDef(ctx, d)
  if (!(flags & HOSTNAME_LEASE)) throw agentError(def)
  for (const i of def.devices.interfaces) {
    const network = i.source?.network
    if (i.type !== 'network' || !network || !ctx.networkPorts || !i.mac) continue
    try {
      const net = await ctx.networkPorts.lookupNetworkByName(network)
      const leases = await ctx.networkPorts.networkGetDhcpLeases(net.uuid, i.mac, 0)
      const named = leases.find((l) => l.hostname)
      if (named?.hostname) return named.hostname
    } catch {
      // network gone: no lease there
    }
  }
  throw virError(NO_HOSTNAME, D, 'no hostname found', `no hostname found for domain ${d.name}`)
}

export function getTime(ctx: QemuContext, d: QemuDomain, flags: number): never {
  checkFlags(flags, 0, 'qemuDomainGetTime')
  throw agentError(liveDef(ctx, d))
}

export function setTime(ctx: QemuContext, d: QemuDomain, flags: number): never {
  checkFlags(flags, TIME_SYNC, 'qemuDomainSetTime')
  throw agentError(liveDef(ctx, d))
}
