/**
 * The REMOTE handlers of node devices, and their lifecycle event callbacks. Detaching, re-attaching
 * and resetting a host device belong to the hypervisor driver in libvirt, so they answer as libvirt's
 * QEMU driver does (no IOMMU: VFIO assignment unsupported) or, without one, "not supported".
 */
import {readdirSync} from 'node:fs'
import {ErrorCode, ErrorDomain, VirError, errors, virError} from '../../errors.js'
import {remote} from '../../rpc/programs/remote.js'
import type {RpcConnection} from '../../rpc/server.js'
import {type NodeDeviceDriver, type NodeDeviceEventMsg} from '../../drivers/nodedev-types.js'
import {P, st, type On} from './context.js'

/** VIR_NODE_DEVICE_EVENT_ID_LAST: lifecycle (0) and update (1). */
const NODE_DEVICE_EVENT_ID_LAST = 2
const NODE_DEVICE_EVENT_ID_LIFECYCLE = 0
const NODE_DEVICE_EVENT_ID_UPDATE = 1

const unsupported = (api: string) => errors.noSupport(ErrorDomain.NODEDEV, api)

interface NodeDevCallback {
  eventID: number
  name?: string
}

function nodedevDrv(conn: RpcConnection, api?: string): NodeDeviceDriver {
  const n = st(conn).drivers.nodedev
  if (n && api && n.unsupported?.has(api)) throw unsupported(api)
  if (!n)
    throw new VirError(
      ErrorCode.NO_SUPPORT,
      ErrorDomain.NODEDEV,
      'this function is not supported by the connection driver: no node device driver on this connection',
    )
  return n
}

/** Whether the host has an IOMMU (VFIO device assignment needs one). */
function hasIommu(): boolean {
  try {
    return readdirSync('/sys/kernel/iommu_groups').length > 0
  } catch {
    return false
  }
}

/** The PCI address of a device a hypervisor call names, with libvirt's errors. */
function hostdevPci(conn: RpcConnection, name: string, api: string, detach: boolean): string {
  const drv = nodedevDrv(conn)
  if (!st(conn).drivers.hypervisor) throw unsupported(api)
  drv.lookupNodeDevice(name)
  if (detach && !hasIommu())
    throw virError(
      ErrorCode.ARGUMENT_UNSUPPORTED,
      ErrorDomain.QEMU,
      'argument unsupported',
      'VFIO device assignment is currently not supported on this system',
    )
  const addr = drv.nodeDevicePciAddress(name)
  if (!addr) throw errors.invalidArg(ErrorDomain.DOMAIN, `device ${name} is not a PCI device`)
  return addr
}

export function registerNodeDevices(on: On): void {
  on(P.CONNECT_LIST_ALL_NODE_DEVICES, (conn, {need_results, flags}) => {
    const list = nodedevDrv(conn).listAllNodeDevices(flags)
    return {devices: need_results ? list.map((name) => ({name})) : [], ret: list.length}
  })
  on(P.NODE_NUM_OF_DEVICES, (conn, {cap}) => ({num: nodedevDrv(conn).listNodeDevices(cap).length}))
  on(P.NODE_LIST_DEVICES, (conn, {cap, maxnames}) => ({names: nodedevDrv(conn).listNodeDevices(cap).slice(0, Math.max(0, maxnames))}))
  on(P.NODE_DEVICE_LOOKUP_BY_NAME, (conn, {name}) => ({dev: {name: nodedevDrv(conn).lookupNodeDevice(name)}}))
  on(P.NODE_DEVICE_GET_XML_DESC, (conn, {name}) => ({xml: nodedevDrv(conn).nodeDeviceGetXMLDesc(name)}))
  on(P.NODE_DEVICE_GET_PARENT, (conn, {name}) => ({parentName: nodedevDrv(conn).nodeDeviceGetParent(name)}))
  on(P.NODE_DEVICE_NUM_OF_CAPS, (conn, {name}) => ({num: nodedevDrv(conn).nodeDeviceListCaps(name).length}))
  on(P.NODE_DEVICE_LIST_CAPS, (conn, {name, maxnames}) => ({names: nodedevDrv(conn).nodeDeviceListCaps(name).slice(0, Math.max(0, maxnames))}))
  on(P.NODE_DEVICE_IS_ACTIVE, (conn, {name}) => ({active: nodedevDrv(conn, 'virNodeDeviceIsActive').lookupNodeDevice(name) ? 1 : 0}))
  on(P.NODE_DEVICE_IS_PERSISTENT, (conn, {name}) => ({
    persistent: nodedevDrv(conn, 'virNodeDeviceIsPersistent').nodeDeviceIsPersistent(name) ? 1 : 0,
  }))
  on(P.NODE_DEVICE_GET_AUTOSTART, (conn, {name}) => ({autostart: nodedevDrv(conn, 'virNodeDeviceGetAutostart').nodeDeviceGetAutostart(name) ? 1 : 0}))
  // Only mediated devices can be defined, started or autostarted; the host's own devices are not.
  on(P.NODE_DEVICE_SET_AUTOSTART, (conn, {name}) => {
    nodedevDrv(conn, 'virNodeDeviceSetAutostart').lookupNodeDevice(name)
    throw virError(ErrorCode.OPERATION_UNSUPPORTED, ErrorDomain.NODEDEV, 'Operation not supported', 'Unsupported device type')
  })
  on(P.NODE_DEVICE_UNDEFINE, (conn, {name}) => {
    nodedevDrv(conn, 'virNodeDeviceUndefine').lookupNodeDevice(name)
    throw errors.operationInvalid(ErrorDomain.NODEDEV, `Node device '${name}' is not defined`)
  })
  on(P.NODE_DEVICE_CREATE, (conn, {name}) => {
    nodedevDrv(conn, 'virNodeDeviceCreate').lookupNodeDevice(name)
    throw errors.operationInvalid(ErrorDomain.NODEDEV, 'Device is already active')
  })
  // No fibre channel HBAs are read (no SCSI hosts with WWNs): like libvirt with none.
  on(P.NODE_DEVICE_LOOKUP_SCSI_HOST_BY_WWN, (conn, {wwnn, wwpn, flags}) => {
    const drv = nodedevDrv(conn, 'virNodeDeviceLookupSCSIHostByWWN')
    if (!drv.lookupScsiHostByWWN) throw unsupported('virNodeDeviceLookupSCSIHostByWWN')
    return {dev: {name: drv.lookupScsiHostByWWN(wwnn, wwpn, flags)}}
  })
  on(P.NODE_DEVICE_DEFINE_XML, (conn, {xml_desc, flags}) => {
    const drv = nodedevDrv(conn, 'virNodeDeviceDefineXML')
    if (!drv.nodeDeviceDefineXML) throw unsupported('virNodeDeviceDefineXML')
    return {dev: {name: drv.nodeDeviceDefineXML(xml_desc, flags)}}
  })

  on(P.NODE_DEVICE_CREATE_XML, (conn, {xml_desc, flags}) => {
    const drv = nodedevDrv(conn, 'virNodeDeviceCreateXML')
    if (!drv.nodeDeviceCreateXML) throw unsupported('virNodeDeviceCreateXML')
    return {dev: {name: drv.nodeDeviceCreateXML(xml_desc, flags)}}
  })
  on(P.NODE_DEVICE_DESTROY, (conn, {name}) => {
    const drv = nodedevDrv(conn, 'virNodeDeviceDestroy')
    if (!drv.nodeDeviceDestroy) throw unsupported('virNodeDeviceDestroy')
    drv.nodeDeviceDestroy(name)
  })

  const refuseDetach = (conn: RpcConnection, name: string, api: string): never => {
    hostdevPci(conn, name, api, true)
    throw virError(
      ErrorCode.OPERATION_UNSUPPORTED,
      ErrorDomain.QEMU,
      'Operation not supported',
      'vctl does not detach host devices for assignment yet',
    )
  }
  on(P.NODE_DEVICE_DETTACH, (conn, {name}) => refuseDetach(conn, name, 'virNodeDeviceDettach'))
  on(P.NODE_DEVICE_DETACH_FLAGS, (conn, {name}) => refuseDetach(conn, name, 'virNodeDeviceDetachFlags'))
  // Nothing is ever detached, so a PCI device is already attached to its host driver.
  on(P.NODE_DEVICE_RE_ATTACH, (conn, {name}) => {
    hostdevPci(conn, name, 'virNodeDeviceReAttach', false)
  })
  on(P.NODE_DEVICE_RESET, (conn, {name}) => {
    const addr = hostdevPci(conn, name, 'virNodeDeviceReset', false)
    throw errors.internal(ErrorDomain.NONE, `Unable to reset PCI device ${addr}: no FLR, PM reset or bus reset available`)
  })

  on(P.CONNECT_NODE_DEVICE_EVENT_REGISTER_ANY, (conn, {eventID, dev}) => {
    const drv = nodedevDrv(conn)
    if (eventID < 0 || eventID >= NODE_DEVICE_EVENT_ID_LAST)
      throw new VirError(ErrorCode.INVALID_ARG, ErrorDomain.RPC, `invalid argument: unsupported event ID ${eventID}`)
    const cbs = callbacks(conn, drv)
    const s = st(conn)
    const id = s.nextCallback++
    cbs.set(id, {eventID, name: dev?.name})
    return {callbackID: id}
  })
  on(P.CONNECT_NODE_DEVICE_EVENT_DEREGISTER_ANY, (conn, {callbackID}) => {
    const cbs = conn.state.nodedevCallbacks as Map<number, NodeDevCallback> | undefined
    if (!cbs?.delete(callbackID))
      throw new VirError(ErrorCode.INVALID_ARG, ErrorDomain.RPC, `invalid argument: callback ${callbackID} not registered`)
  })
}

/** The connection's node-device callbacks; the first registration subscribes to the driver's events. */
function callbacks(conn: RpcConnection, drv: NodeDeviceDriver): Map<number, NodeDevCallback> {
  const existing = conn.state.nodedevCallbacks as Map<number, NodeDevCallback> | undefined
  if (existing) return existing
  const cbs = new Map<number, NodeDevCallback>()
  conn.state.nodedevCallbacks = cbs
  const onLifecycle = (msg: NodeDeviceEventMsg) => {
    for (const [callbackID, cb] of cbs) {
      if (cb.eventID !== NODE_DEVICE_EVENT_ID_LIFECYCLE || (cb.name && cb.name !== msg.name)) continue
      conn.sendEvent(remote, remote.events.NODE_DEVICE_EVENT_LIFECYCLE, {callbackID, dev: {name: msg.name}, event: msg.event, detail: 0})
    }
  }
  const onUpdate = (name: string) => {
    for (const [callbackID, cb] of cbs) {
      if (cb.eventID !== NODE_DEVICE_EVENT_ID_UPDATE || (cb.name && cb.name !== name)) continue
      conn.sendEvent(remote, remote.events.NODE_DEVICE_EVENT_UPDATE, {callbackID, dev: {name}})
    }
  }
  drv.events.on('lifecycle', onLifecycle)
  drv.events.on('update', onUpdate)
  st(conn).detach.push(() => {
    drv.events.off('update', onUpdate)
    drv.events.off('lifecycle', onLifecycle)
  })
  return cbs
}
