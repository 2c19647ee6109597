/**
 * Hotplug on the running guest (VIR_DOMAIN_AFFECT_LIVE): the live definition gets the device (with
 * libvirt's alias and a PCI address assigned by libvirt's rules) only once QEMU has it; a detach
 * asks QEMU to remove the device and waits a few seconds for DEVICE_DELETED, as libvirt does, then
 * returns with the removal left pending, finished whenever QEMU reports it. Each change is written
 * to the live status file, which a restarted daemon reads back.
 */
import {cloneXml, type XmlElement} from '../../conf/xml.js'
import type {DomainDef} from '../../conf/domain.js'
import {ErrorCode, ErrorDomain, VirError, errors} from '../../errors.js'
import {DEVICE_EVENT, type DeviceEventMsg} from '../hotplug-types.js'
import {D, type QemuContext, type QemuDomain, type Run} from './context.js'
import {parseForQemu} from './definitions.js'
import {checkRemovable, parseDiskDevice} from './hotplug-config.js'
import {changeMedium, checkSource, delNodes, formatNodeOf, orphanFormatNode} from './hotplug-disk.js'
import {attachDisk} from './hotplug-disk-attach.js'
import {unpluggableBus} from './hotplug-disk-bus.js'
import {checkPciBuses} from './hotplug-pci.js'
import {lockPluggedDisk, unlockUnpluggedDisk} from './hotplug-lockd.js'
import {delNetdev, plugHost, plugNic, unplugHost} from './hotplug-net.js'
import {
  aliasOf,
  deviceByAlias,
  deviceMissing,
  diskByTarget,
  findInterface,
  nextNetAlias,
  setAlias,
  stampAliases,
  userAlias,
  withDevice,
} from './hotplug-xml.js'
import {attr, child} from '../../conf/xml.js'
import type {QmpClient, QmpEvent} from './qmp.js'

/** How long a detach waits for the guest to let go of the device (libvirt: 5 s). */
export const UNPLUG_WAIT_MS = 5000

function unsupported(what: string): VirError {
  return new VirError(ErrorCode.OPERATION_UNSUPPORTED, D, `Operation not supported: ${what}`, {str1: 'Operation not supported: %s', str2: what})
}

function emit(ctx: QemuContext, d: QemuDomain, kind: DeviceEventMsg['kind'], alias: string): void {
  if (!ctx.closed) ctx.events.emit(DEVICE_EVENT, {kind, dom: ctx.ref(d), alias} satisfies DeviceEventMsg)
}

function live(ctx: QemuContext, d: QemuDomain): {run: Run; qmp: QmpClient; def: DomainDef} {
  const run = ctx.requireActive(d)
  const qmp = ctx.requireMonitor(run)
  if (!d.live) throw errors.operationInvalid(ErrorDomain.DOMAIN, 'domain is not running')
  stampAliases(d.live)
  return {run, qmp, def: d.live}
}

/** The new live definition: the current one with `dev` added, defaults and addresses filled in. */
function liveWith(ctx: QemuContext, def: DomainDef, dev: XmlElement): DomainDef {
  return parseForQemu(ctx, withDevice(def, dev, {}))
}

export async function attachLive(ctx: QemuContext, d: QemuDomain, given: XmlElement): Promise<void> {
  const {run, qmp, def} = live(ctx, d)
  const dev = cloneXml(given)
  if (dev.name === 'disk') {
    const {next, alias} = await attachDisk(ctx, qmp, def, dev, (disk) => lockPluggedDisk(ctx, d, run, def, disk))
    await commitLive(ctx, d, next)
    emit(ctx, d, 'added', alias)
    return
  }
  if (dev.name === 'interface') {
    const alias = userAlias(dev) ?? nextNetAlias(def)
    setAlias(dev, alias)
    const next = liveWith(ctx, def, dev)
    checkPciBuses(def, next)
    const iface = next.devices.interfaces.find((i) => aliasOf(i.xml) === alias)
    if (!iface) throw errors.internal(D, `interface ${alias} vanished`)
    await plugHost(ctx.networkPorts, next, d.uuid, iface)
    try {
      await plugNic(qmp, next, iface, alias)
    } catch (err) {
      await unplugHost(ctx.networkPorts, next, iface)
      throw err
    }
    await commitLive(ctx, d, next)
    emit(ctx, d, 'added', alias)
    return
  }
  throw unsupported(`live attach of device '${dev.name}' is not supported`)
}

async function commitLive(ctx: QemuContext, d: QemuDomain, def: DomainDef): Promise<void> {
  d.live = def
  await ctx.saveStatus(d)
}

/** The alias of the live device `dev` names (checking it can be unplugged). */
function liveTarget(def: DomainDef, dev: XmlElement): string {
  if (dev.name === 'disk') {
    const target = attr(child(dev, 'target'), 'dev') ?? ''
    const disk = diskByTarget(def, target)
    if (!disk) throw deviceMissing(D, `disk ${target} not found`)
    if (!unpluggableBus(disk.bus)) throw unsupported(`disk bus '${disk.bus ?? ''}' cannot be hotunplugged.`)
    return aliasOf(disk.xml) ?? ''
  }
  if (dev.name === 'interface') return aliasOf(findInterface(def, dev, ErrorDomain.DOMAIN).xml) ?? ''
  if (dev.name === 'controller') throw unsupported(`'${attr(dev, 'type') ?? ''}' controller cannot be hot unplugged.`)
  throw unsupported(`live detach of device '${dev.name}' is not supported`)
}

export async function detachLive(ctx: QemuContext, d: QemuDomain, dev: XmlElement): Promise<void> {
  const {def} = live(ctx, d)
  await unplug(ctx, d, liveTarget(def, dev))
}

export async function detachLiveAlias(ctx: QemuContext, d: QemuDomain, alias: string): Promise<void> {
  const {def} = live(ctx, d)
  const e = deviceByAlias(def, alias)
  if (!e) throw errors.internal(ErrorDomain.DOMAIN, `no device found with alias ${alias}`)
  await unplug(ctx, d, liveTarget(def, e))
}

/**
 * device_del, then the rest of the removal once QEMU reports DEVICE_DELETED: within UNPLUG_WAIT_MS
 * the call waits for it; after that the removal is left pending and finished when the event comes.
 * A guest that refuses (DEVICE_UNPLUG_GUEST_ERROR) fails the call, or later sends DEVICE_REMOVAL_FAILED.
 */
async function unplug(ctx: QemuContext, d: QemuDomain, alias: string): Promise<void> {
  const {run, qmp} = live(ctx, d)
  // The disk's nodes, while query-block still shows them under the frontend.
  const format = d.live?.devices.disks.some((x) => aliasOf(x.xml) === alias) ? await formatNodeOf(qmp, alias) : undefined
  let waiting = true
  let resolve!: (o: 'deleted' | 'rejected' | 'pending') => void
  const outcome = new Promise<'deleted' | 'rejected' | 'pending'>((r) => (resolve = r))
  const onEvent = (ev: QmpEvent) => {
    if (ev.data.device !== alias || (ev.event !== 'DEVICE_DELETED' && ev.event !== 'DEVICE_UNPLUG_GUEST_ERROR')) return
    qmp.off('event', onEvent)
    const deleted = ev.event === 'DEVICE_DELETED'
    if (waiting) resolve(deleted ? 'deleted' : 'rejected')
    else if (!deleted) emit(ctx, d, 'removal-failed', alias)
    else {
      void ctx
        .withJob(d, () => finishRemoval(ctx, d, run, qmp, alias, format))
        .catch((err: unknown) => ctx.log.warn(`qemu: ${d.name}: ${(err as Error).message}`))
    }
  }
  qmp.on('event', onEvent)
  try {
    await qmp.execute('device_del', {id: alias})
  } catch (err) {
    qmp.off('event', onEvent)
    throw err
  }
  const timer = setTimeout(() => {
    waiting = false
    resolve('pending')
  }, UNPLUG_WAIT_MS)
  const o = await outcome
  waiting = false
  clearTimeout(timer)
  if (o === 'deleted') return finishRemoval(ctx, d, run, qmp, alias, format)
  if (o === 'rejected') {
    emit(ctx, d, 'removal-failed', alias)
    throw errors.operationFailed(D, 'unplug of device was rejected by the guest')
  }
}

/** QEMU removed the frontend: drop its backend and host side, then the device from the live definition. */
export async function finishRemoval(
  ctx: QemuContext,
  d: QemuDomain,
  run: Run,
  qmp: QmpClient,
  alias: string,
  format: string | undefined,
): Promise<void> {
  const def = d.live
  if (d.run !== run || !def) return
  const disk = def.devices.disks.find((x) => aliasOf(x.xml) === alias)
  const iface = def.devices.interfaces.find((x) => aliasOf(x.xml) === alias)
  if (!disk && !iface && !deviceByAlias(def, alias)) return
  if (disk) {
    await delNodes(qmp, format ?? (await orphanFormatNode(qmp, disk.source).catch(() => undefined)))
    def.devices.disks = def.devices.disks.filter((x) => x !== disk)
    await unlockUnpluggedDisk(ctx, d, run, def, disk)
  } else if (iface) {
    await delNetdev(qmp, alias)
    await unplugHost(ctx.networkPorts, def, iface)
    def.devices.interfaces = def.devices.interfaces.filter((x) => x !== iface)
  } else {
    const e = deviceByAlias(def, alias)
    const devs = child(def.root, 'devices')
    if (e && devs) devs.children = devs.children.filter((x) => x !== e)
  }
  await ctx.saveStatus(d)
  emit(ctx, d, 'removed', alias)
}

/** Changes the medium of a removable drive of the running guest. */
export async function updateLive(ctx: QemuContext, d: QemuDomain, dev: XmlElement): Promise<void> {
  const {qmp, def} = live(ctx, d)
  if (dev.name !== 'disk') throw unsupported(`live update of device '${dev.name}' is not supported`)
  const nd = parseDiskDevice(dev)
  const disk = diskByTarget(def, nd.target)
  if (!disk) throw errors.internal(D, `disk '${nd.target}' not found`)
  checkRemovable(disk)
  if (nd.source === disk.source && nd.type === disk.type) return
  if (nd.source !== undefined && (nd.type === 'file' || nd.type === 'block')) checkSource(nd.source)
  const alias = aliasOf(disk.xml) ?? ''
  await changeMedium(qmp, alias, {...disk, source: nd.source, type: nd.type})
  disk.source = nd.source
  disk.type = nd.type
  await ctx.saveStatus(d)
}
