/**
 * The host-interface driver, like libvirt's udev backend: read-only, straight from the kernel.
 * Lists leave out bridge ports and tun/tap devices; an interface is active when its operstate is
 * "up". Defining, starting, stopping and transactions are not provided (the caller refuses them
 * as libvirt does for a driver without those functions).
 */
import {ErrorDomain, VirError, errors} from '../../errors.js'
import {InterfaceXmlFlags, ListInterfacesFlags, type IfaceRef, type InterfaceDriver} from '../interface-types.js'
import type {DriverRegistry} from '../registry.js'
import {SysfsNet} from './sysfs.js'
import {interfaceXml} from './xml.js'

/** VIR_FROM_INTERFACE. */
export const FROM_INTERFACE = ErrorDomain.INTERFACE
const NO_INTERFACE = 57
const MULTIPLE_INTERFACES = 59

function noInterface(detail: string): VirError {
  return new VirError(NO_INTERFACE, FROM_INTERFACE, `Interface not found: ${detail}`, {str1: 'Interface not found: %s', str2: detail})
}

function checkFlags(flags: number, allowed: number, fn: string): void {
  const extra = flags & ~allowed
  if (extra !== 0) throw errors.invalidArg(FROM_INTERFACE, `unsupported flags (0x${extra.toString(16)}) in function ${fn}`)
}

export class UdevInterfaceDriver implements InterfaceDriver {
  readonly sysfs: SysfsNet

  constructor(root?: string, vlanDir?: string) {
    this.sysfs = new SysfsNet(root, vlanDir)
  }

  async listAllInterfaces(flags: number): Promise<IfaceRef[]> {
    checkFlags(flags, ListInterfacesFlags.ACTIVE | ListInterfacesFlags.INACTIVE, 'udevConnectListAllInterfaces')
    const want = flags & (ListInterfacesFlags.ACTIVE | ListInterfacesFlags.INACTIVE) || ListInterfacesFlags.ACTIVE | ListInterfacesFlags.INACTIVE
    const out: IfaceRef[] = []
    for (const name of await this.sysfs.listed()) {
      const up = (await this.sysfs.operstate(name)) === 'up'
      if (want & (up ? ListInterfacesFlags.ACTIVE : ListInterfacesFlags.INACTIVE)) out.push({name, mac: await this.sysfs.mac(name)})
    }
    return out
  }

  /** Active: operstate "up"; inactive: operstate "down" (libvirt's older list calls match exactly). */
  async listInterfaceNames(active: boolean): Promise<string[]> {
    const out: string[] = []
    for (const name of await this.sysfs.listed()) if ((await this.sysfs.operstate(name)) === (active ? 'up' : 'down')) out.push(name)
    return out
  }

  async interfaceLookupByName(name: string): Promise<IfaceRef> {
    if (!(await this.sysfs.exists(name))) throw noInterface(`couldn't find interface named '${name}'`)
    return {name, mac: await this.sysfs.mac(name)}
  }

  async interfaceLookupByMAC(mac: string): Promise<IfaceRef> {
    const found: string[] = []
    for (const name of await this.sysfs.listed()) if ((await this.sysfs.mac(name)) === mac) found.push(name)
    if (found.length === 0) throw noInterface(`couldn't find interface with MAC address '${mac}'`)
    if (found.length > 1) {
      const detail = `the MAC address '${mac}' matches multiple interfaces`
      throw new VirError(MULTIPLE_INTERFACES, FROM_INTERFACE, `multiple matching interfaces found: ${detail}`, {
        str1: 'multiple matching interfaces found: %s',
        str2: detail,
      })
    }
    return {name: found[0], mac}
  }

  async interfaceGetXMLDesc(name: string, flags: number): Promise<string> {
    checkFlags(flags, InterfaceXmlFlags.INACTIVE, 'udevInterfaceGetXMLDesc')
    const def = await this.sysfs.def(name)
    if (!def) throw noInterface(`couldn't find interface named '${name}'`)
    return interfaceXml(def)
  }

  async interfaceIsActive(name: string): Promise<boolean> {
    if (!(await this.sysfs.exists(name))) throw noInterface(`couldn't find interface named '${name}'`)
    return (await this.sysfs.operstate(name)) === 'up'
  }
}

/** Serves the host's interfaces on the daemon's connections (libvirtd, virtinterfaced). */
export function setupInterfaceDriver(registry: Pick<DriverRegistry, 'interface'>): void {
  const driver = new UdevInterfaceDriver()
  registry.interface = () => driver
}
