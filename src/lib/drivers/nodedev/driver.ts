/**
 * The node device driver: the host's devices read from sysfs on demand (a scan is reused for a
 * second), and lifecycle events (created/deleted) and updates (changed XML) found by rescanning every
 * second while anyone listens. Read-only: libvirt's udev backend defines nothing itself for these devices.
 */
import {EventEmitter} from 'node:events'
import {ErrorCode, ErrorDomain, virError} from '../../errors.js'
import {NodeDeviceCapFlag, NodeDeviceEvent, NodeDeviceListFlags, type NodeDeviceDriver, type NodeDeviceEventMsg} from '../nodedev-types.js'
import type {NodeDev} from './device.js'
import {scanSysfs, type SysfsOptions} from './sysfs.js'
import {formatNodeDevice} from './xml.js'
import {noScsiHostByWwn, refuseNodeDeviceDestroy, refuseNodeDeviceXml} from './create.js'

export interface NodeDevDriverOptions extends SysfsOptions {
  /** How long a scan is reused, and the event poll period (ms). */
  refreshMs?: number
}

export function noNodeDevice(name: string) {
  return virError(ErrorCode.NO_NODE_DEVICE, ErrorDomain.NODEDEV, 'Node device not found', `no node device with matching name '${name}'`)
}

export function createNodeDevDriver(opts: NodeDevDriverOptions = {}): NodeDeviceDriver {
  const refreshMs = opts.refreshMs ?? 1000
  const events = new EventEmitter()
  let devices: NodeDev[] = []
  let scannedAt = -Infinity
  let timer: NodeJS.Timeout | undefined

  const scan = (): NodeDev[] => {
    if (Date.now() - scannedAt >= refreshMs) {
      devices = scanSysfs(opts)
      scannedAt = Date.now()
    }
    return devices
  }
  const find = (name: string): NodeDev => {
    const d = scan().find((x) => x.name === name)
    if (!d) throw noNodeDevice(name)
    return d
  }

  // Lifecycle events: rescan while there are listeners and report the names that came and went.
  // A device whose XML changed (a link going up, a driver bound) is reported on 'update'.
  let known = new Map<string, string>()
  const snapshot = () => new Map(scan().map((d) => [d.name, formatNodeDevice(d)]))
  const poll = () => {
    scannedAt = -Infinity
    const now = snapshot()
    for (const name of known.keys()) if (!now.has(name)) events.emit('lifecycle', {name, event: NodeDeviceEvent.DELETED} satisfies NodeDeviceEventMsg)
    for (const [name, xml] of now) {
      const before = known.get(name)
      if (before === undefined) events.emit('lifecycle', {name, event: NodeDeviceEvent.CREATED} satisfies NodeDeviceEventMsg)
      else if (before !== xml) events.emit('update', name)
    }
    known = now
  }
  events.on('newListener', (ev: string) => {
    if (ev !== 'lifecycle' || timer) return
    known = snapshot()
    timer = setInterval(poll, refreshMs)
    timer.unref()
  })
  events.on('removeListener', (ev: string) => {
    if (ev === 'lifecycle' && events.listenerCount('lifecycle') === 0 && timer) {
      clearInterval(timer)
      timer = undefined
    }
  })

  const capFlags = (d: NodeDev) => NodeDeviceCapFlag[d.cap.type] ?? 0
  return {
    events,
    listAllNodeDevices(flags) {
      const caps = flags & ~(NodeDeviceListFlags.ACTIVE | NodeDeviceListFlags.INACTIVE)
      // Every host device is active; asking for inactive ones only gives none.
      if (flags & NodeDeviceListFlags.INACTIVE && !(flags & NodeDeviceListFlags.ACTIVE)) return []
      return scan()
        .filter((d) => !caps || capFlags(d) & caps)
        .map((d) => d.name)
    },
    listNodeDevices(cap) {
      return scan()
        .filter((d) => cap === null || d.cap.type === cap)
        .map((d) => d.name)
    },
    lookupNodeDevice: (name) => find(name).name,
    nodeDeviceGetXMLDesc: (name) => formatNodeDevice(find(name)),
    nodeDeviceGetParent: (name) => find(name).parent,
    nodeDeviceListCaps: (name) => [find(name).cap.type],
    // libvirt 9.0 reports the computer as persistent and autostarted, the devices it found as neither.
    nodeDeviceIsPersistent: (name) => find(name).parent === null,
    nodeDeviceGetAutostart: (name) => find(name).parent === null,
    nodeDevicePciAddress(name) {
      const cap = find(name).cap
      if (cap.type !== 'pci') return null
      const h = (n: number, w: number) => n.toString(16).padStart(w, '0')
      return `${h(cap.domain, 4)}:${h(cap.bus, 2)}:${h(cap.slot, 2)}.${h(cap.func, 1)}`
    },
    nodeDeviceCreateXML: (xml) => refuseNodeDeviceXml(xml, false, (n) => find(n).name),
    nodeDeviceDefineXML: (xml) => refuseNodeDeviceXml(xml, true, (n) => find(n).name),
    nodeDeviceDestroy: (name) => refuseNodeDeviceDestroy(name, (n) => find(n).name),
    lookupScsiHostByWWN: () => noScsiHostByWwn(),
    close() {
      if (timer) clearInterval(timer)
      timer = undefined
      events.removeAllListeners()
    },
  }
}
