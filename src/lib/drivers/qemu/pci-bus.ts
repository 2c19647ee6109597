/**
 * The PCI address set libvirt's QEMU driver assigns device addresses from (the facts of
 * src/conf/domain_addr.c): buses by controller model with the connections each accepts, slots
 * with their used functions, the search for the next free slot, and the growth of the topology
 * (pci-bridge, pcie-root-port, pcie-to-pci-bridge) in the counting pass.
 */
import {ErrorDomain, errors} from '../../errors.js'
import type {PciAddress} from '../../conf/domain-address.js'

/** Connection flags (libvirt's virDomainPCIConnectFlags). */
export const PCI = {
  PCI_DEVICE: 1 << 0,
  PCIE_DEVICE: 1 << 1,
  PCIE_ROOT_PORT: 1 << 2,
  PCIE_SWITCH_UPSTREAM: 1 << 3,
  PCIE_SWITCH_DOWNSTREAM: 1 << 4,
  DMI_TO_PCI_BRIDGE: 1 << 5,
  PCIE_TO_PCI_BRIDGE: 1 << 6,
  PCI_BRIDGE: 1 << 7,
  PCI_EXPANDER: 1 << 8,
  PCIE_EXPANDER: 1 << 9,
  AUTOASSIGN: 1 << 10,
  HOTPLUG: 1 << 11,
  AGGREGATE: 1 << 12,
} as const
const TYPES_MASK = (1 << 10) - 1
const ENDPOINT = PCI.PCI_DEVICE | PCI.PCIE_DEVICE
const SLOT_LAST = 31

const D = ErrorDomain.QEMU

/** What a PCI controller model plugs into (its own connect flags). */
export function controllerConnectFlags(model: string | undefined): number {
  switch (model) {
    case 'pci-bridge':
      return PCI.PCI_BRIDGE
    case 'pci-expander-bus':
      return PCI.PCI_EXPANDER
    case 'pcie-expander-bus':
      return PCI.PCIE_EXPANDER
    case 'dmi-to-pci-bridge':
      return PCI.DMI_TO_PCI_BRIDGE
    case 'pcie-to-pci-bridge':
      return PCI.PCIE_TO_PCI_BRIDGE
    case 'pcie-root-port':
      return PCI.PCIE_ROOT_PORT | PCI.AGGREGATE
    case 'pcie-switch-upstream-port':
      return PCI.PCIE_SWITCH_UPSTREAM
    case 'pcie-switch-downstream-port':
      return PCI.PCIE_SWITCH_DOWNSTREAM
    default:
      return 0
  }
}

interface Slot {
  functions: number
  aggregate: boolean
}

export interface PciBus {
  model: string
  flags: number
  minSlot: number
  maxSlot: number
  slots: Slot[]
}

/** A bus of the given controller model, with what can plug into it (virDomainPCIAddressBusSetModel). */
export function newBus(model: string): PciBus {
  const hp = PCI.HOTPLUG
  let flags: number
  let minSlot = 1
  let maxSlot = SLOT_LAST
  switch (model) {
    case 'pci-root':
      flags = PCI.AUTOASSIGN | PCI.PCI_DEVICE | PCI.PCI_BRIDGE | PCI.PCI_EXPANDER | hp
      break
    case 'pci-bridge':
    case 'pcie-to-pci-bridge':
      flags = PCI.AUTOASSIGN | PCI.PCI_DEVICE | PCI.PCI_BRIDGE | hp
      break
    case 'pci-expander-bus':
      flags = PCI.AUTOASSIGN | PCI.PCI_DEVICE | PCI.PCI_BRIDGE | hp
      minSlot = 0
      break
    case 'pcie-root':
      flags = PCI.PCIE_DEVICE | PCI.PCIE_ROOT_PORT | PCI.DMI_TO_PCI_BRIDGE | PCI.PCIE_EXPANDER
      break
    case 'dmi-to-pci-bridge':
      flags = PCI.PCI_DEVICE | PCI.PCI_BRIDGE
      minSlot = 0
      break
    case 'pcie-root-port':
    case 'pcie-switch-downstream-port':
      flags = PCI.AUTOASSIGN | PCI.PCIE_DEVICE | PCI.PCIE_SWITCH_UPSTREAM | PCI.PCIE_TO_PCI_BRIDGE | hp
      minSlot = 0
      maxSlot = 0
      break
    case 'pcie-switch-upstream-port':
      flags = PCI.PCIE_SWITCH_DOWNSTREAM
      minSlot = 0
      break
    case 'pcie-expander-bus':
      flags = PCI.PCIE_ROOT_PORT | PCI.DMI_TO_PCI_BRIDGE
      minSlot = 0
      break
    default:
      throw errors.internal(D, 'PCI controller model was not set correctly')
  }
  return {model, flags, minSlot, maxSlot, slots: Array.from({length: SLOT_LAST + 1}, () => ({functions: 0, aggregate: false}))}
}

export function formatPciAddress(a: PciAddress): string {
  return `${a.domain.toString(16).padStart(4, '0')}:${a.bus.toString(16).padStart(2, '0')}:${a.slot.toString(16).padStart(2, '0')}.${a.function.toString(16)}`
}

function compatible(bus: PciBus, devFlags: number, fromConfig: boolean): boolean {
  let busFlags = bus.flags
  if (fromConfig) {
    if (busFlags & ENDPOINT) busFlags |= ENDPOINT
    if (devFlags & PCI.PCI_BRIDGE) devFlags |= PCI.PCI_DEVICE
  } else if (devFlags & PCI.AUTOASSIGN && !(busFlags & PCI.AUTOASSIGN)) {
    return false
  }
  return (devFlags & busFlags & TYPES_MASK) !== 0
}

/** The set of buses and used slots addresses are handed out from. */
export class PciAddressSet {
  buses: PciBus[]
  /** The counting pass: buses are added when a device finds no slot. */
  readonly dryRun: boolean
  /** QEMU has pcie-pci-bridge (every QEMU vctl supports does). */
  readonly pcieToPciBridge = true

  constructor(buses: PciBus[], dryRun: boolean) {
    this.buses = buses
    this.dryRun = dryRun
  }

  slotInUse(a: PciAddress): boolean {
    return (this.buses[a.bus]?.slots[a.slot]?.functions ?? 0) !== 0
  }

  busFullyReserved(bus: PciBus): boolean {
    for (let i = bus.minSlot; i <= bus.maxSlot; i++) if (!bus.slots[i].functions) return false
    return true
  }

  /** Checks an address against its bus (virDomainPCIAddressValidate); throws libvirt's errors. */
  validate(a: PciAddress, flags: number, fromConfig: boolean): void {
    const s = formatPciAddress(a)
    const err = (m: string) => (fromConfig ? errors.xmlError(D, m) : errors.internal(D, m))
    if (this.buses.length === 0) throw err('No PCI buses available')
    if (a.domain !== 0) throw err(`Invalid PCI address ${s}. Only PCI domain 0 is available`)
    if (a.bus >= this.buses.length) throw err(`Invalid PCI address ${s}. Only PCI buses up to ${this.buses.length - 1} are available`)
    const bus = this.buses[a.bus]
    if (!compatible(bus, flags, fromConfig)) {
      throw err(
        `The device at PCI address ${s} cannot be plugged into the PCI controller with index='${a.bus}'. It requires a controller that accepts a ${connectName(flags)}.`,
      )
    }
    if (bus.minSlot && a.slot < bus.minSlot) throw err(`Invalid PCI address ${s}. slot must be >= ${bus.minSlot}`)
    if (a.slot > bus.maxSlot) throw err(`Invalid PCI address ${s}. slot must be <= ${bus.maxSlot}`)
    if (a.function > 7) throw err(`Invalid PCI address ${s}. function must be <= 7`)
  }

  /** Marks one function as used (virDomainPCIAddressReserveAddrInternal). */
  reserve(a: PciAddress, flags: number, fromConfig: boolean): void {
    if (this.dryRun) this.grow(a, flags)
    this.validate(a, flags, fromConfig)
    const slot = this.buses[a.bus].slots[a.slot]
    if (slot.functions & (1 << a.function)) {
      const m = `Attempted double use of PCI Address ${formatPciAddress(a)}`
      throw fromConfig ? errors.xmlError(D, m) : errors.internal(D, m)
    }
    if (!slot.functions && flags & PCI.AGGREGATE) slot.aggregate = true
    slot.functions |= 1 << a.function
  }

  /** Finds and reserves the next free slot (function: -1 = any); the address is returned. */
  reserveNext(flags: number, fn = -1): PciAddress {
    const a = this.nextAddr(flags, fn)
    this.reserve(a, flags, false)
    return a
  }

  private findOnBus(bus: PciBus, a: PciAddress, fn: number, flags: number): boolean {
    if (!compatible(bus, flags, false)) return false
    while (a.slot <= bus.maxSlot) {
      const slot = bus.slots[a.slot]
      if (slot.functions === 0) return true
      if (flags & PCI.AGGREGATE && slot.aggregate) {
        if ((slot.functions & (1 << a.function)) === 0) return true
        if (fn === -1) {
          while (a.function < 8) {
            if ((slot.functions & (1 << a.function)) === 0) return true
            a.function++
          }
          a.function = 0
        }
      }
      a.slot++
    }
    return false
  }

  private nextAddr(flags: number, fn: number): PciAddress {
    if (this.buses.length === 0) throw errors.xmlError(D, 'No PCI buses available')
    const a: PciAddress = {domain: 0, bus: 0, slot: 0, function: fn === -1 ? 0 : fn}
    for (a.bus = 0; a.bus < this.buses.length; a.bus++) {
      const bus = this.buses[a.bus]
      a.slot = bus.minSlot
      if (this.findOnBus(bus, a, fn, flags)) return a
    }
    if (this.dryRun) {
      this.grow(a, flags)
      a.slot = this.buses[a.bus].minSlot
      return a
    }
    throw errors.internal(D, 'No more available PCI slots')
  }

  /** Adds buses so that `a.bus` exists, of a model that accepts `flags` (virDomainPCIAddressSetGrow). */
  private grow(a: PciAddress, flags: number): void {
    let add = a.bus - this.buses.length + 1
    if (add <= 0) return
    let model: string
    let needPcieToPci = false
    if (flags & PCI.PCI_DEVICE) {
      model = 'pci-bridge'
      needPcieToPci = !this.buses.some((b) => b.flags & PCI.PCI_BRIDGE)
      if (needPcieToPci && add === 1) {
        add++
        a.bus++
      }
    } else if (flags & (PCI.PCIE_DEVICE | PCI.PCIE_SWITCH_UPSTREAM)) {
      model = 'pcie-root-port'
    } else {
      throw errors.internal(
        D,
        `Cannot automatically add a new PCI bus for a device with connect flags ${(flags & 0xff).toString(16).padStart(2, '0')}`,
      )
    }
    const start = this.buses.length
    const total = start + add
    if (needPcieToPci) {
      const port = newBus('pcie-root-port')
      port.flags = PCI.PCIE_TO_PCI_BRIDGE
      this.buses.push(port, newBus('pcie-to-pci-bridge'))
    }
    while (this.buses.length < total) this.buses.push(newBus(model))
  }
}

function connectName(flags: number): string {
  if (flags & PCI.PCI_DEVICE) return 'standard PCI device'
  if (flags & PCI.PCIE_DEVICE) return 'PCI Express device'
  if (flags & PCI.PCIE_ROOT_PORT) return 'pcie-root-port'
  if (flags & PCI.PCIE_SWITCH_UPSTREAM) return 'pcie-switch-upstream-port'
  if (flags & PCI.PCIE_SWITCH_DOWNSTREAM) return 'pcie-switch-downstream-port'
  if (flags & PCI.DMI_TO_PCI_BRIDGE) return 'dmi-to-pci-bridge'
  if (flags & PCI.PCIE_TO_PCI_BRIDGE) return 'pcie-to-pci-bridge'
  if (flags & PCI.PCI_EXPANDER) return 'pci-expander-bus'
  if (flags & PCI.PCIE_EXPANDER) return 'pcie-expander-bus'
  return 'pci-bridge'
}
