/**
 * Guest interfaces on host networks: `<interface type='network'>` gets a port of the named
 * network (through NetworkPorts: the network driver in libvirtd, virtnetworkd over RPC in modular
 * mode) and `type='bridge'` the admin's bridge; either way a tap device `vnetN` plugged into the
 * bridge, which QEMU opens by name (`-netdev tap,ifname=vnetN,script=no,downscript=no`). The tap
 * and the port go away when the guest stops. `type='user'` needs none of this.
 */
import {execFile} from 'node:child_process'
import {existsSync} from 'node:fs'
import {randomUUID} from 'node:crypto'

import type {DomainDef, DomainInterface} from '../../conf/domain.js'
import {attr, child, el, parseXml} from '../../conf/xml.js'
import {ErrorDomain, errors} from '../../errors.js'
import type {NetworkPorts} from '../network-port-types.js'
import type {NwFilterBindings} from '../nwfilter-types.js'
import {formatBindingXml, parseParams} from '../../conf/nwfilter.js'
import {NIC_MODELS, unsupported} from './argv.js'

const D = ErrorDomain.DOMAIN
const IFNAME_RE = /^[A-Za-z0-9_.+-]{1,15}$/

/** The interface types the QEMU driver runs. */
export function checkInterface(i: DomainInterface): void {
  if (i.type !== 'user' && i.type !== 'network' && i.type !== 'bridge') {
    throw unsupported(`interface type '${i.type}' is not supported by vctl's qemu driver (use type='network', 'bridge' or 'user')`)
  }
  if (i.type === 'network' && !i.source?.network)
    throw errors.xmlError(D, "No <source> 'network' attribute specified with <interface type='network'/>")
  if (i.type === 'bridge' && !i.source?.bridge) throw errors.xmlError(D, "No <source> 'bridge' attribute specified with <interface type='bridge'/>")
  const dev = targetDev(i)
  if (dev !== undefined && !IFNAME_RE.test(dev)) throw unsupported(`interface target dev '${dev}' is not a valid interface name`)
  if (i.model !== undefined && !(i.model in NIC_MODELS)) throw unsupported(`interface model '${i.model}' is not supported by vctl's qemu driver`)
}

export function targetDev(i: DomainInterface): string | undefined {
  return attr(child(i.xml, 'target'), 'dev')
}

function setTargetDev(i: DomainInterface, dev: string): void {
  if (!i.xml) i.xml = el('interface', {type: i.type})
  const t = child(i.xml, 'target')
  if (t) {
    t.attrs = t.attrs.filter(([k]) => k !== 'dev')
    t.attrs.push(['dev', dev])
  } else i.xml.children.push(el('target', {dev}))
}

/** The -netdev argument of interface `n`. */
export function netdevArg(i: DomainInterface, n: number): string {
  if (i.type === 'user') return `user,id=hostnet${n}`
  const dev = targetDev(i)
  if (!dev) throw errors.internal(D, `interface ${n} has no tap device`)
  return `tap,id=hostnet${n},ifname=${dev},script=no,downscript=no`
}

/** iproute2's ip, from the system directories (a PATH may have other things first). */
const IP = ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip'].find((p) => existsSync(p)) ?? 'ip'

function ip(lines: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = execFile(IP, ['-batch', '-'], {timeout: 30000}, (err, _out, stderr) => {
      if (err) reject(errors.systemError(D, `Unable to create tap device: ${stderr.trim() || err.message}`))
      else resolve()
    })
    c.stdin?.end(lines.join('\n') + '\n')
  })
}

async function deleteTap(dev: string): Promise<void> {
  if (!IFNAME_RE.test(dev) || !existsSync(`/sys/class/net/${dev}/tun_flags`)) return
  await ip([`link del dev ${dev}`]).catch(() => undefined)
}

/** libvirt's reserved prefix: a target dev starting with it is chosen by the driver. */
const TAP_PREFIX = 'vnet'
let nextTap = 0

function freeTap(): string {
  for (let tries = 0; ; tries++) {
    const name = `${TAP_PREFIX}${nextTap++}`
    if (nextTap > 65535) nextTap = 0
    if (!existsSync(`/sys/class/net/${name}`) || tries > 65536) return name
  }
}

function bridgeOfPort(xml: string): string {
  const plug = child(parseXml(xml, 'networkport_definition', ErrorDomain.NETWORK), 'plug')
  return attr(plug, 'bridge') ?? ''
}

/** Where guest taps get their network filters (`<filterref>`): the nwfilter driver, in process or over RPC. */
export type PortsAndFilters = NetworkPorts & {nwfilters?: NwFilterBindings}

/**
 * Instantiates the interface's `<filterref>` (if any) on its tap, as libvirt does once the tap
 * exists: a filter binding owned by the guest. Also for interfaces attached to a running guest.
 */
export async function instantiateFilter(ports: PortsAndFilters | undefined, owner: {name: string; uuid: string}, i: DomainInterface): Promise<void> {
  const ref = child(i.xml, 'filterref')
  const filter = attr(ref, 'filter')
  const dev = targetDev(i)
  if (!ref || filter === undefined || !dev) return
  if (!ports?.nwfilters) throw errors.noSupport(ErrorDomain.NWFILTER, 'no network filter driver: <filterref> needs libvirtd or virtnwfilterd')
  const xml = formatBindingXml({
    ownerName: owner.name,
    ownerUuid: owner.uuid,
    portdev: dev,
    mac: i.mac ?? '52:54:00:00:00:00',
    filter,
    params: parseParams(ref),
  })
  await ports.nwfilters.nwfilterBindingCreateXML(xml, 0)
}

/** Removes the filter binding of an interface's tap (nothing when it has none). */
export async function teardownFilter(ports: PortsAndFilters | undefined, i: DomainInterface): Promise<void> {
  const dev = targetDev(i)
  if (!dev || !child(i.xml, 'filterref') || !ports?.nwfilters) return
  await ports.nwfilters.nwfilterBindingDelete(dev).catch(() => undefined)
}

/**
 * Gives every network/bridge interface of `def` (the live definition about to start) its port and
 * tap, recording them in the definition (`<source portid= bridge=>`, `<target dev=>`). On failure,
 * what was made is removed before the error is rethrown.
 */
export async function plugInterfaces(ports: PortsAndFilters | undefined, def: DomainDef, uuid: string): Promise<void> {
  const made: DomainInterface[] = []
  try {
    for (const i of def.devices.interfaces) {
      if (i.type !== 'network' && i.type !== 'bridge') continue
      let bridge = i.source?.bridge ?? ''
      if (i.type === 'network') {
        if (!ports) throw errors.noSupport(D, 'no network driver: interface type network needs libvirtd or virtnetworkd')
        const network = i.source?.network ?? ''
        const net = await ports.lookupNetworkByName(network)
        const portXml = `<networkport><uuid>${randomUUID()}</uuid><owner><name>${escape(def.name)}</name><uuid>${uuid}</uuid></owner><mac address='${i.mac ?? ''}'/></networkport>`
        const port = await ports.networkPortCreateXML(net.uuid, portXml, 0)
        i.source = {...i.source, network, portid: port.uuid}
        made.push(i)
        bridge = bridgeOfPort(await ports.networkPortGetXMLDesc(net.uuid, port.uuid, 0))
        i.source.bridge = bridge
      } else if (!existsSync(`/sys/class/net/${bridge}/bridge`)) {
        throw errors.systemError(D, `Cannot get interface MTU on '${bridge}': No such device`)
      }
      const wanted = targetDev(i)
      const dev = wanted === undefined || wanted.startsWith(TAP_PREFIX) ? freeTap() : wanted
      const mac = i.mac ?? '52:54:00:00:00:00'
      await ip([
        `tuntap add dev ${dev} mode tap`,
        `link set dev ${dev} address fe${mac.slice(2)}`,
        `link set dev ${dev} master ${bridge}`,
        `link set dev ${dev} up`,
      ]).catch(async (err: unknown) => {
        await deleteTap(dev)
        throw err
      })
      setTargetDev(i, dev)
      if (!made.includes(i)) made.push(i)
      await instantiateFilter(ports, {name: def.name, uuid}, i)
    }
  } catch (err) {
    await unplugInterfaces(ports, {...def, devices: {...def.devices, interfaces: made}})
    throw err
  }
}

/** Removes the taps and ports of a guest that stopped (or failed to start). */
export async function unplugInterfaces(ports: PortsAndFilters | undefined, def: DomainDef | undefined): Promise<void> {
  for (const i of def?.devices.interfaces ?? []) {
    if (i.type !== 'network' && i.type !== 'bridge') continue
    await teardownFilter(ports, i)
    const dev = targetDev(i)
    if (dev) await deleteTap(dev)
    const portid = i.source?.portid
    if (i.type === 'network' && portid && ports) {
      try {
        const net = await ports.lookupNetworkByName(i.source?.network ?? '')
        await ports.networkPortDelete(net.uuid, portid, 0)
      } catch {
        /* the network is gone, and its ports with it */
      }
    }
  }
}

function escape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}
