/**
 * Starting and stopping a network's real parts, in order, undoing what was made when a step fails:
 * bridge (with its addresses), IP forwarding, the nft table, dnsmasq. And reattaching to them
 * after a daemon restart.
 */
import {isIP} from 'node:net'

import {ErrorCode, ErrorDomain, VirError, errors} from '../../errors.js'
import {cloneXml, child, el} from '../../conf/xml.js'
import {networkFromXml, networkToXml, type NetworkDef} from '../../conf/network.js'
import {createBridge, deleteLink, isBridge, linkExists, listRoutes, setSysctl} from './bridge.js'
import {cidrText, ipPrefix, overlaps, parseCidr, subnetOf} from './addr.js'
import {dnsmasqPaths, isOurDnsmasq, needsDnsmasq, readPid, removeDnsmasqFiles, startDnsmasq, stopDnsmasq, writeDnsmasqFiles} from './dnsmasq.js'
import {findTool} from './exec.js'
import {applyFirewall, firewallExists, needsFirewall, removeFirewall} from './nft.js'
import {bridgeOf, managesBridge, type NetCtx} from './context.js'

const N = ErrorDomain.NETWORK

export function pathsOf(ctx: NetCtx, name: string) {
  return dnsmasqPaths(ctx.opts.dirs.stateDir, ctx.opts.dirs.runDir, name)
}

/** The live definition: libvirt fills in the NAT port range of a running NAT network. */
export function liveDefOf(def: NetworkDef): NetworkDef {
  if (def.forward?.mode !== 'nat') return def
  const root = cloneXml(networkToXml(def))
  const fwd = child(root, 'forward')
  if (fwd && !child(fwd, 'nat')) fwd.children.push(el('nat', undefined, [el('port', {start: 1024, end: 65535})]))
  return networkFromXml(root)
}

function requireTools(def: NetworkDef): {dnsmasq?: string} {
  if (managesBridge(def) && !findTool('ip')) throw errors.internal(N, "Cannot find 'ip' binary in PATH (install iproute2)")
  if (needsFirewall(def) && !findTool('nft')) throw errors.internal(N, "Cannot find 'nft' binary in PATH (install nftables)")
  if (needsDnsmasq(def)) {
    const dnsmasq = findTool('dnsmasq')
    if (!dnsmasq) throw errors.internal(N, "Cannot find 'dnsmasq' binary in PATH (install dnsmasq-base)")
    return {dnsmasq}
  }
  return {}
}

/** libvirt refuses a network whose subnet is already routed on the host. */
function checkRouteCollision(def: NetworkDef): void {
  const routes = listRoutes()
  for (const ip of def.ips) {
    const mine = subnetOf(ip.address, ipPrefix(ip))
    for (const r of routes) {
      const s = parseCidr(r.dst)
      if (s && r.dev !== bridgeOf(def) && overlaps(s, mine)) {
        throw new VirError(ErrorCode.INTERNAL_ERROR, ErrorDomain.NONE, `internal error: Network is already in use by interface ${r.dev ?? r.dst}`, {
          str1: 'internal error: %s',
          str2: `Network is already in use by interface ${r.dev ?? r.dst}`,
        })
      }
    }
  }
}

/** Brings a network up; on failure everything it made is removed again and the error rethrown. */
export async function startNetwork(ctx: NetCtx, def: NetworkDef): Promise<void> {
  if (!ctx.opts.hostNetworkAllowed) {
    throw errors.operationInvalid(
      N,
      `network '${def.name}': a daemon under --root in the host's network namespace does not create networks; run it in a network namespace of its own (ip netns exec, or set VCTL_ALLOW_NETWORKS=1 in one made otherwise)`,
    )
  }
  if (!managesBridge(def)) {
    if (def.forward?.mode === 'bridge') return
    throw errors.configUnsupported(N, `forward mode '${def.forward?.mode ?? ''}' of network '${def.name}' is not supported by vctl`)
  }
  const tools = requireTools(def)
  const br = bridgeOf(def)
  if (linkExists(br)) throw errors.systemError(N, `error creating bridge interface ${br}: File exists`)
  checkRouteCollision(def)
  const undo: Array<() => Promise<unknown>> = []
  try {
    undo.push(() => deleteLink(br))
    await createBridge({
      name: br,
      mac: def.mac,
      stp: def.bridge?.stp ?? true,
      delay: def.bridge?.delay ?? 0,
      mtu: mtuOf(def),
      addresses: def.ips.map((ip) => `${ip.address}/${ipPrefix(ip)}`),
    })
    const mode = def.forward?.mode
    if (mode === 'nat' || mode === 'route') {
      if (def.ips.some((ip) => isIP(ip.address) === 4) && !setSysctl('net/ipv4/ip_forward', '1')) {
        throw errors.systemError(N, 'cannot enable /proc/sys/net/ipv4/ip_forward')
      }
      if (def.ips.some((ip) => isIP(ip.address) === 6)) setSysctl('net/ipv6/conf/all/forwarding', '1')
    }
    if (needsFirewall(def)) {
      undo.push(() => removeFirewall(br))
      await applyFirewall(def, br)
    }
    if (tools.dnsmasq) {
      const p = pathsOf(ctx, def.name)
      undo.push(() => stopDnsmasq(p))
      await writeDnsmasqFiles(def, br, p)
      await startDnsmasq(tools.dnsmasq, p)
    }
  } catch (err) {
    for (const u of undo.reverse()) await u().catch(() => undefined)
    removeDnsmasqFiles(pathsOf(ctx, def.name), false)
    throw err
  }
}

export async function stopNetwork(ctx: NetCtx, def: NetworkDef): Promise<void> {
  if (!managesBridge(def)) return
  const br = bridgeOf(def)
  const p = pathsOf(ctx, def.name)
  await stopDnsmasq(p)
  if (needsFirewall(def)) await removeFirewall(br, (m) => ctx.opts.log.warn(`network '${def.name}': ${m}`))
  await deleteLink(br)
  removeDnsmasqFiles(p, false)
}

/**
 * After a restart: whether the network's bridge is still there (else it is treated as stopped and
 * its leftovers removed); a dead dnsmasq is restarted and a missing nft table reloaded.
 */
export async function reattachNetwork(ctx: NetCtx, def: NetworkDef): Promise<boolean> {
  if (!managesBridge(def)) return true
  const br = bridgeOf(def)
  if (!isBridge(br)) {
    await stopNetwork(ctx, def).catch(() => undefined)
    return false
  }
  if (needsFirewall(def) && !(await firewallExists(br))) {
    ctx.opts.log.warn(`network '${def.name}': nft table missing, loading it again`)
    await applyFirewall(def, br)
  }
  if (needsDnsmasq(def)) {
    const p = pathsOf(ctx, def.name)
    const pid = readPid(p.pid)
    if (pid === undefined || !isOurDnsmasq(pid, p.conf)) {
      ctx.opts.log.warn(`network '${def.name}': dnsmasq is gone, starting it again`)
      const dnsmasq = requireTools(def).dnsmasq
      if (dnsmasq) {
        await writeDnsmasqFiles(def, br, p)
        await startDnsmasq(dnsmasq, p)
      }
    }
  }
  return true
}

export function mtuOf(def: NetworkDef): number | undefined {
  const m = child(def.root, 'mtu')
  const size = m?.attrs.find(([k]) => k === 'size')?.[1]
  return size === undefined ? undefined : Number(size)
}

/** Every subnet of a definition, as text (for messages). */
export function subnetsText(def: NetworkDef): string[] {
  return def.ips.map((ip) => cidrText(subnetOf(ip.address, ipPrefix(ip))))
}
