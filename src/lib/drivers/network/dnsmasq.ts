/**
 * One dnsmasq per network, for its DHCP and DNS: the generated config, hosts files and lease file
 * live under the driver's state dir, the pid file under its run dir. dnsmasq daemonizes itself and
 * writes the pid file; vctl finds it again by that file after a restart (checking that the process
 * is still the dnsmasq of that config before signalling it).
 */
import {spawn} from 'node:child_process'
import {existsSync, readFileSync, rmSync} from 'node:fs'
import {isIP} from 'node:net'
import {join} from 'node:path'

import {ErrorDomain, errors} from '../../errors.js'
import {writeFileAtomic} from '../../fs-atomic.js'
import type {NetworkDef} from '../../conf/network.js'
import {attr, child, childrenNamed, textOf} from '../../conf/xml.js'
import {ipPrefix, prefixToNetmask, rangeSize} from './addr.js'

export interface DnsmasqPaths {
  conf: string
  hostsfile: string
  addnhosts: string
  leases: string
  pid: string
}

export function dnsmasqPaths(stateDir: string, runDir: string, name: string): DnsmasqPaths {
  const base = join(stateDir, 'dnsmasq', name)
  return {
    conf: `${base}.conf`,
    hostsfile: `${base}.hostsfile`,
    addnhosts: `${base}.addnhosts`,
    leases: `${base}.leases`,
    pid: join(runDir, `${name}.pid`),
  }
}

/** Whether a network needs a dnsmasq: it has addresses and vctl manages its bridge. */
export function needsDnsmasq(def: NetworkDef): boolean {
  const mode = def.forward?.mode
  if (mode !== undefined && mode !== 'nat' && mode !== 'route' && mode !== 'open') return false
  if (attr(child(def.root, 'dns'), 'enable') === 'no' && !def.ips.some((ip) => ip.dhcpRanges.length > 0)) return false
  return def.ips.length > 0
}

/** The static DHCP hosts of all `<ip>`s: `mac,ip,name` lines as dnsmasq's dhcp-hostsfile wants them. */
export function hostsFile(def: NetworkDef): string {
  const lines: string[] = []
  for (const ip of def.ips) {
    for (const h of childrenNamed(child(ip.xml, 'dhcp'), 'host')) {
      const mac = attr(h, 'mac')
      const addr = attr(h, 'ip')
      const name = attr(h, 'name')
      const id = attr(h, 'id')
      const v6 = addr !== undefined && isIP(addr) === 6
      const parts = [
        mac?.toLowerCase() ?? (id !== undefined ? `id:${id}` : undefined),
        addr === undefined ? undefined : v6 ? `[${addr}]` : addr,
        name,
      ]
      const fields = parts.filter((p): p is string => p !== undefined)
      if (fields.length) lines.push(fields.join(','))
    }
  }
  return lines.length ? lines.join('\n') + '\n' : ''
}

/** The `<dns>` `<host>` records: `ip\tname...` lines for addn-hosts. */
export function addnHosts(def: NetworkDef): string {
  const lines: string[] = []
  for (const h of childrenNamed(child(def.root, 'dns'), 'host')) {
    const ip = attr(h, 'ip')
    const names = childrenNamed(h, 'hostname').map((n) => textOf(n))
    if (ip !== undefined && names.length) lines.push(`${ip}\t${names.join('\t')}\t`)
  }
  return lines.length ? lines.join('\n') + '\n' : ''
}

/** dnsmasq's configuration for a network on `bridge`. */
export function dnsmasqConfig(def: NetworkDef, bridge: string, p: DnsmasqPaths): string {
  const out = [
    '## dnsmasq configuration written by vctl for network ' + def.name + '; changes are lost when the network restarts',
    'strict-order',
    `pid-file=${p.pid}`,
    'except-interface=lo',
    'bind-dynamic',
    `interface=${bridge}`,
    // vctl runs dnsmasq as root: its files stay private to the daemon's directories.
    'user=root',
    'group=root',
  ]
  const domain = child(def.root, 'domain')
  const domainName = attr(domain, 'name')
  if (domainName) {
    if (attr(domain, 'localOnly') === 'yes') out.push(`local=/${domainName}/`)
    out.push(`domain=${domainName}`, 'expand-hosts')
  }
  const dns = child(def.root, 'dns')
  if (attr(dns, 'enable') === 'no') out.push('port=0')
  const forwarders = childrenNamed(dns, 'forwarder')
  if (forwarders.length) {
    for (const f of forwarders) {
      const a = attr(f, 'addr')
      const d = attr(f, 'domain')
      if (a && d) out.push(`server=/${d}/${a}`)
      else if (a) out.push(`server=${a}`)
      else if (d) out.push(`server=/${d}/#`)
    }
    if (attr(dns, 'forwardPlainNames') === 'no') out.push('domain-needed')
  }
  let leaseMax = 0n
  let v6 = false
  for (const ip of def.ips) {
    const family = isIP(ip.address)
    const prefix = ipPrefix(ip)
    for (const r of ip.dhcpRanges) {
      if (family === 4) out.push(`dhcp-range=${r.start},${r.end},${prefixToNetmask(prefix)}`)
      else out.push(`dhcp-range=${r.start},${r.end},${prefix}`)
      leaseMax += rangeSize(r.start, r.end)
    }
    if (family === 6) v6 = true
    // A network with static hosts but no range still answers them.
    if (ip.dhcpRanges.length === 0 && childrenNamed(child(ip.xml, 'dhcp'), 'host').length) {
      out.push(family === 4 ? `dhcp-range=${ip.address},static` : `dhcp-range=${ip.address},static,${prefix}`)
    }
  }
  if (leaseMax > 0n || def.ips.some((ip) => child(ip.xml, 'dhcp'))) {
    out.push('dhcp-no-override', 'dhcp-authoritative')
    if (leaseMax > 0n) out.push(`dhcp-lease-max=${leaseMax > 1000000n ? 1000000n : leaseMax}`)
  }
  // An isolated network has no way out: its guests get no default route.
  if (def.forward === undefined && leaseMax > 0n) out.push('dhcp-option=3')
  if (v6) out.push('enable-ra')
  out.push(`dhcp-hostsfile=${p.hostsfile}`, `addn-hosts=${p.addnhosts}`, `dhcp-leasefile=${p.leases}`)
  return out.join('\n') + '\n'
}

/** Writes the config and hosts files (the lease file is dnsmasq's own and kept). */
export async function writeDnsmasqFiles(def: NetworkDef, bridge: string, p: DnsmasqPaths): Promise<void> {
  await writeFileAtomic(p.conf, dnsmasqConfig(def, bridge, p), 0o600)
  await writeHostsFiles(def, p)
}

export async function writeHostsFiles(def: NetworkDef, p: DnsmasqPaths): Promise<void> {
  await writeFileAtomic(p.hostsfile, hostsFile(def), 0o600)
  await writeFileAtomic(p.addnhosts, addnHosts(def), 0o600)
}

/** Starts dnsmasq on a written config; resolves its pid once it has daemonized. */
export function startDnsmasq(binary: string, p: DnsmasqPaths): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, [`--conf-file=${p.conf}`], {stdio: ['ignore', 'ignore', 'pipe']})
    let stderr = ''
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()))
    child.once('error', (err) => reject(errors.systemError(ErrorDomain.NETWORK, `Cannot start dnsmasq: ${err.message}`)))
    child.once('exit', (code) => {
      if (code !== 0) {
        reject(
          errors.internal(ErrorDomain.NETWORK, `Child process (${binary} --conf-file=${p.conf}) unexpected exit status ${code}: ${stderr.trim()}`),
        )
        return
      }
      const pid = readPid(p.pid)
      if (pid === undefined) reject(errors.internal(ErrorDomain.NETWORK, `dnsmasq did not write its pid file ${p.pid}`))
      else resolve(pid)
    })
  })
}

export function readPid(file: string): number | undefined {
  try {
    const n = Number(readFileSync(file, 'utf8').trim())
    return Number.isInteger(n) && n > 0 ? n : undefined
  } catch {
    return undefined
  }
}

/** Whether `pid` is a live dnsmasq started on `conf` (not a recycled pid). */
export function isOurDnsmasq(pid: number, conf: string): boolean {
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
    if (!cmd.includes(`--conf-file=${conf}`)) return false
    return !/^\d+ \(.*\) Z/s.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return false
  }
}

/** Asks a running dnsmasq to re-read its hosts files. */
export function reloadDnsmasq(pid: number): void {
  try {
    process.kill(pid, 'SIGHUP')
  } catch {
    /* gone: the next start writes the files anyway */
  }
}

/** Stops the network's dnsmasq (found by its pid file) and waits until it is gone. */
export async function stopDnsmasq(p: DnsmasqPaths): Promise<void> {
  const pid = readPid(p.pid)
  if (pid !== undefined && isOurDnsmasq(pid, p.conf)) {
    try {
      process.kill(pid, 'SIGTERM')
    } catch {
      /* already gone */
    }
    const end = Date.now() + 5000
    while (existsSync(`/proc/${pid}`) && isOurDnsmasq(pid, p.conf)) {
      if (Date.now() > end) {
        try {
          process.kill(pid, 'SIGKILL')
        } catch {
          /* gone */
        }
      }
      await new Promise((r) => setTimeout(r, 5))
    }
  }
  rmSync(p.pid, {force: true})
}

/** Removes the files of a network's dnsmasq; the lease file too when `leases` is set. */
export function removeDnsmasqFiles(p: DnsmasqPaths, leases: boolean): void {
  for (const f of [p.conf, p.hostsfile, p.addnhosts, p.pid, ...(leases ? [p.leases] : [])]) rmSync(f, {force: true})
}
