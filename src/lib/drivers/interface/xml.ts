/**
 * libvirt's interface XML (virsh iface-dumpxml) for a kernel interface definition. A top-level
 * interface carries its MTU; every interface but a bridge its link state; ethernet ones their MAC;
 * bridges, bonds and VLANs their members.
 */
import {escapeAttr} from '../../conf/xml.js'
import type {IfaceDef, LinkInfo} from './sysfs.js'

const BOND_MODES = ['', 'balance-rr', 'active-backup', 'balance-xor', 'broadcast', '802.3ad', 'balance-tlb', 'balance-alb']
const ARP_VALIDATE = ['', 'active', 'backup', 'all']
const CARRIER = ['', 'ioctl', 'netif']

function linkXml(link: LinkInfo): string[] {
  if (!link.speed && !link.state) return []
  return [`<link${link.speed ? ` speed='${link.speed}'` : ''}${link.state ? ` state='${link.state}'` : ''}/>`]
}

const indent = (lines: string[]) => lines.map((l) => `  ${l}`)

function devXml(def: IfaceDef, topLevel: boolean): string[] {
  const body: string[] = []
  if (topLevel && def.mtu) body.push(`<mtu size='${def.mtu}'/>`)
  if (def.type !== 'bridge') body.push(...linkXml(def.link))
  if (def.type === 'ethernet' && def.mac) body.push(`<mac address='${escapeAttr(def.mac)}'/>`)
  if (def.bridge) {
    const b = def.bridge
    const stp = b.stp === 1 ? " stp='on'" : b.stp === 0 ? " stp='off'" : ''
    body.push(`<bridge${stp} delay='${escapeAttr(b.delay)}'>`, ...indent(b.ports.flatMap((p) => devXml(p, false))), '</bridge>')
  }
  if (def.bond) {
    const b = def.bond
    body.push(`<bond${BOND_MODES[b.mode] ? ` mode='${BOND_MODES[b.mode]}'` : ''}>`)
    const mon: string[] = []
    if (b.arpInterval > 0) {
      const validate = ARP_VALIDATE[b.arpValidate] ? ` validate='${ARP_VALIDATE[b.arpValidate]}'` : ''
      mon.push(`<arpmon interval='${b.arpInterval}' target='${escapeAttr(b.arpTarget)}'${validate}/>`)
    } else if (b.miimon > 0) {
      const down = b.downdelay > 0 ? ` downdelay='${b.downdelay}'` : ''
      const up = b.updelay > 0 ? ` updelay='${b.updelay}'` : ''
      const carrier = CARRIER[b.carrier] ? ` carrier='${CARRIER[b.carrier]}'` : ''
      mon.push(`<miimon freq='${b.miimon}'${down}${up}${carrier}/>`)
    }
    body.push(...indent([...mon, ...b.slaves.flatMap((s) => devXml(s, false))]), '</bond>')
  }
  if (def.vlan) {
    const v = def.vlan
    if (v.dev) body.push(`<vlan tag='${escapeAttr(v.tag)}'>`, `  <interface name='${escapeAttr(v.dev)}'/>`, '</vlan>')
    else body.push(`<vlan tag='${escapeAttr(v.tag)}'/>`)
  }
  return [`<interface type='${def.type}' name='${escapeAttr(def.name)}'>`, ...indent(body), '</interface>']
}

/** The XML document of a top-level interface, newline-terminated as libvirt prints it. */
export function interfaceXml(def: IfaceDef): string {
  return devXml(def, true).join('\n') + '\n'
}
