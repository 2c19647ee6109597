/**
 * The host's network interfaces as the kernel shows them in sysfs (/sys/class/net), read the way
 * libvirt's udev interface backend reads them: type from DEVTYPE (bridge, bond, vlan; ethernet
 * otherwise), MAC, MTU, link state and speed, bridge ports, bond slaves and settings, VLAN tag.
 */
import {readFile, readdir} from 'node:fs/promises'
import {join} from 'node:path'

export interface LinkInfo {
  /** operstate (unknown, notpresent, down, lowerlayerdown, testing, dormant, up). */
  state?: string
  /** Mb/s, only when the link is up and the driver reports one. */
  speed?: number
}

export interface BondInfo {
  /** libvirt's numbering: the kernel's mode + 1 (1 balance-rr .. 7 balance-alb). */
  mode: number
  miimon: number
  updelay: number
  downdelay: number
  arpInterval: number
  arpTarget: string
  /** The kernel's arp_validate number (0 none, 1 active, 2 backup, 3 all). */
  arpValidate: number
  /** use_carrier + 1 (1 ioctl, 2 netif). */
  carrier: number
  slaves: IfaceDef[]
}

export interface IfaceDef {
  name: string
  type: 'ethernet' | 'bridge' | 'bond' | 'vlan'
  mac: string
  mtu: number
  link: LinkInfo
  bridge?: {stp: number; delay: string; ports: IfaceDef[]}
  bond?: BondInfo
  vlan?: {tag: string; dev: string}
}

/** Libvirt's tap devices for guests (vnet0, vnet1, ...): left out of a bridge's ports. */
const GUEST_TAP = /^vnet\d/

export class SysfsNet {
  /** `root`: the kernel's net class directory; `vlanDir`: where the 8021q module describes VLANs. */
  constructor(
    readonly root = '/sys/class/net',
    readonly vlanDir = '/proc/net/vlan',
  ) {}

  private async attr(name: string, attr: string): Promise<string | undefined> {
    try {
      return (await readFile(join(this.root, name, attr), 'utf8')).replace(/\n$/, '')
    } catch {
      return undefined
    }
  }

  private async num(name: string, attr: string): Promise<number> {
    const v = await this.attr(name, attr)
    const n = v === undefined ? NaN : Number.parseInt(v, 10)
    return Number.isFinite(n) ? n : 0
  }

  private async entries(name: string, sub: string): Promise<string[]> {
    try {
      return await readdir(join(this.root, name, sub))
    } catch {
      return []
    }
  }

  async exists(name: string): Promise<boolean> {
    if (!name || name.includes('/') || name === '.' || name === '..') return false
    return (await this.attr(name, 'ifindex')) !== undefined
  }

  async names(): Promise<string[]> {
    try {
      return (await readdir(this.root)).sort()
    } catch {
      return []
    }
  }

  /** The interfaces the list calls show: not bridge ports, not tun/tap devices. */
  async listed(): Promise<string[]> {
    const out: string[] = []
    for (const name of await this.names()) {
      if ((await this.attr(name, 'brport/state')) !== undefined) continue
      if ((await this.attr(name, 'tun_flags')) !== undefined) continue
      if ((await this.attr(name, 'ifindex')) === undefined) continue
      out.push(name)
    }
    return out
  }

  async mac(name: string): Promise<string> {
    return (await this.attr(name, 'address')) ?? ''
  }

  async operstate(name: string): Promise<string> {
    return (await this.attr(name, 'operstate')) ?? 'unknown'
  }

  private async devtype(name: string): Promise<string | undefined> {
    const uevent = (await this.attr(name, 'uevent')) ?? ''
    return /^DEVTYPE=(.*)$/m.exec(uevent)?.[1]
  }

  private async link(name: string): Promise<LinkInfo> {
    const state = await this.operstate(name)
    if (state !== 'up') return {state}
    const speed = await this.attr(name, 'speed')
    const n = speed === undefined ? NaN : Number(speed)
    return Number.isInteger(n) && n > 0 && n < 0xffffffff ? {state, speed: n} : {state}
  }

  /** The definition of one interface, or undefined when the kernel has no such interface. */
  async def(name: string): Promise<IfaceDef | undefined> {
    if (!(await this.exists(name))) return undefined
    const devtype = await this.devtype(name)
    let type: IfaceDef['type'] = 'ethernet'
    if (devtype === 'vlan') type = 'vlan'
    else if (devtype === 'bridge') type = 'bridge'
    else if (devtype === 'bond') type = 'bond'
    else if (name.includes('.')) type = 'vlan'
    if (type === 'ethernet' && (await this.attr(name, 'bonding/mode')) !== undefined) type = 'bond'
    const def: IfaceDef = {name, type, mac: await this.mac(name), mtu: await this.num(name, 'mtu'), link: await this.link(name)}
    if (type === 'bridge') def.bridge = await this.bridgeInfo(name)
    else if (type === 'bond') def.bond = await this.bondInfo(name)
    else if (type === 'vlan') def.vlan = await this.vlanInfo(name)
    return def
  }

  private async members(names: string[]): Promise<IfaceDef[]> {
    const out: IfaceDef[] = []
    for (const n of names.sort()) {
      const d = await this.def(n)
      if (d) out.push(d)
    }
    return out
  }

  private async bridgeInfo(name: string): Promise<IfaceDef['bridge']> {
    const ports = (await this.entries(name, 'brif')).filter((p) => !GUEST_TAP.test(p))
    const stp = await this.num(name, 'bridge/stp_state')
    return {stp: stp === 0 ? 0 : stp > 0 ? 1 : -1, delay: (await this.attr(name, 'bridge/forward_delay')) ?? '0', ports: await this.members(ports)}
  }

  private async bondInfo(name: string): Promise<BondInfo> {
    const second = async (attr: string) => Number.parseInt(((await this.attr(name, attr)) ?? '').split(' ')[1] ?? '0', 10) || 0
    const slaves = (await this.entries(name, '')).filter((e) => e.startsWith('slave_')).map((e) => e.slice('slave_'.length))
    return {
      mode: (await second('bonding/mode')) + 1,
      miimon: await this.num(name, 'bonding/miimon'),
      updelay: await this.num(name, 'bonding/updelay'),
      downdelay: await this.num(name, 'bonding/downdelay'),
      arpInterval: await this.num(name, 'bonding/arp_interval'),
      arpTarget: (await this.attr(name, 'bonding/arp_ip_target')) ?? '',
      arpValidate: await second('bonding/arp_validate'),
      carrier: (await this.num(name, 'bonding/use_carrier')) + 1,
      slaves: await this.members(slaves),
    }
  }

  /** Tag and parent as the 8021q module reports them ("VID: 5", "Device: eth0"), else from the name (DEV.VID). */
  private async vlanInfo(name: string): Promise<IfaceDef['vlan']> {
    const proc = await readFile(join(this.vlanDir, name), 'utf8').catch(() => '')
    const vid = /VID: (\d+)\s/.exec(proc)?.[1]
    const dev = /\nDevice: (\S+)/.exec(proc)?.[1]
    if (vid && dev) return {tag: vid, dev}
    const dot = name.lastIndexOf('.')
    return {tag: dot >= 0 ? name.slice(dot + 1) : '', dev: dot >= 0 ? name.slice(0, dot) : ''}
  }
}
