/**
 * net-update on the driver's objects: the persistent definition, the running one, or both (libvirt's
 * flags), then the running dnsmasq told: hosts changes by SIGHUP (it re-reads its hosts files),
 * range changes by a restart with the new config.
 */
import {ErrorDomain, errors} from '../../errors.js'
import {applyNetworkUpdate, NetworkUpdateFlags, NetworkUpdateSection} from '../../conf/network-update.js'
import {bridgeOf, type NetCtx, type NetObj} from './context.js'
import {isOurDnsmasq, needsDnsmasq, readPid, reloadDnsmasq, startDnsmasq, stopDnsmasq, writeDnsmasqFiles, writeHostsFiles} from './dnsmasq.js'
import {findTool} from './exec.js'
import {pathsOf} from './lifecycle.js'
import {saveConfig, saveLive} from './store.js'

const N = ErrorDomain.NETWORK

export interface UpdateArgs {
  command: number
  section: number
  parentIndex: number
  xml: string
  flags: number
}

export async function updateNetwork(ctx: NetCtx, n: NetObj, a: UpdateArgs): Promise<void> {
  let flags = a.flags
  if (flags & ~(NetworkUpdateFlags.LIVE | NetworkUpdateFlags.CONFIG)) {
    throw errors.invalidArg(N, `unsupported flags (0x${(flags & ~3).toString(16)}) in function networkUpdate`)
  }
  if (!(flags & (NetworkUpdateFlags.LIVE | NetworkUpdateFlags.CONFIG))) flags = n.live ? NetworkUpdateFlags.LIVE : NetworkUpdateFlags.CONFIG
  if (flags & NetworkUpdateFlags.LIVE && !n.live) throw errors.operationInvalid(N, 'network is not running')
  if (flags & NetworkUpdateFlags.CONFIG && !n.config) throw errors.operationInvalid(N, 'cannot change persistent config of a transient network')
  // Compute both results before changing anything, so a failure leaves both as they were.
  const config = flags & NetworkUpdateFlags.CONFIG && n.config ? applyNetworkUpdate(n.config, a.command, a.section, a.parentIndex, a.xml) : undefined
  const live = flags & NetworkUpdateFlags.LIVE && n.live ? applyNetworkUpdate(n.live, a.command, a.section, a.parentIndex, a.xml) : undefined
  if (config) {
    await saveConfig(ctx.opts.dirs, config)
    n.config = config
  }
  if (live) {
    n.live = live
    await saveLive(ctx.opts.dirs, n)
    if (!needsDnsmasq(live)) return
    const p = pathsOf(ctx, live.name)
    if (a.section === NetworkUpdateSection.IP_DHCP_RANGE) {
      await stopDnsmasq(p)
      await writeDnsmasqFiles(live, bridgeOf(live), p)
      const bin = findTool('dnsmasq')
      if (bin) await startDnsmasq(bin, p)
      return
    }
    await writeHostsFiles(live, p)
    const pid = readPid(p.pid)
    if (pid !== undefined && isOurDnsmasq(pid, p.conf)) reloadDnsmasq(pid)
  }
}
