/**
 * Interfaces of a running guest through QMP: the host side first (a tap on the network's or the
 * admin's bridge, net-interface.ts, or user-mode networking), then `netdev_add` and `device_add`;
 * unplugging is `device_del`, DEVICE_DELETED, `netdev_del`, and the tap and network port removed.
 */
import type {DomainDef, DomainInterface} from '../../conf/domain.js'
import {pciAddressOf, qemuPciAddr} from '../../conf/domain-address.js'
import {NIC_MODELS, isQ35} from './argv.js'
import type {NetworkPorts} from '../network-port-types.js'
import {checkInterface, plugInterfaces, targetDev, unplugInterfaces} from './net-interface.js'
import type {QmpClient} from './qmp.js'
import {deviceAdd} from './hotplug-disk.js'

const netdevId = (alias: string) => `host${alias}`

/** The host side of one interface (tap and port), recorded in the interface; undone by unplugHost. */
export async function plugHost(ports: NetworkPorts | undefined, def: DomainDef, uuid: string, i: DomainInterface): Promise<void> {
  checkInterface(i)
  await plugInterfaces(ports, {...def, devices: {...def.devices, interfaces: [i]}}, uuid)
}

export function unplugHost(ports: NetworkPorts | undefined, def: DomainDef, i: DomainInterface): Promise<void> {
  return unplugInterfaces(ports, {...def, devices: {...def.devices, interfaces: [i]}})
}

/** netdev_add + device_add of an interface whose host side is ready and whose PCI address is assigned. */
export async function plugNic(qmp: QmpClient, def: DomainDef, i: DomainInterface, alias: string): Promise<void> {
  const id = netdevId(alias)
  const netdev: Record<string, unknown> =
    i.type === 'user' ? {type: 'user', id} : {type: 'tap', id, ifname: targetDev(i), script: 'no', downscript: 'no'}
  await qmp.execute('netdev_add', netdev)
  const a = pciAddressOf(i.xml)
  const args: Record<string, unknown> = {driver: NIC_MODELS[i.model ?? 'rtl8139'] ?? 'rtl8139', netdev: id, id: alias}
  if (i.mac) args.mac = i.mac
  if (a) {
    args.bus = a.bus === 0 ? (isQ35(def.os.machine) ? 'pcie.0' : 'pci.0') : `pci.${a.bus}`
    args.addr = qemuPciAddr(a)
  }
  try {
    await deviceAdd(qmp, args)
  } catch (err) {
    await qmp.execute('netdev_del', {id}).catch(() => undefined)
    throw err
  }
}

/** What is left once QEMU has removed a NIC's frontend: its backend. */
export async function delNetdev(qmp: QmpClient, alias: string): Promise<void> {
  await qmp.execute('netdev_del', {id: netdevId(alias)}).catch(() => undefined)
}
