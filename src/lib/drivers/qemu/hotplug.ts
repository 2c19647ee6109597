/**
 * Device hotplug of the QEMU driver (libvirt's virDomainAttachDevice* family): which of the running
 * guest and the persistent definition a call affects (libvirt's modification impact rules), with
 * the domain's job held throughout. The persistent part is checked before the live part runs and
 * written only after it succeeded. Live work is in hotplug-live.ts, definition work in
 * hotplug-config.ts, QMP in hotplug-disk.ts and hotplug-net.ts.
 */
import {isActive} from '../../conf/domain-list.js'
import type {DomainDef} from '../../conf/domain.js'
import {ErrorCode, ErrorDomain, VirError, errors} from '../../errors.js'
import {AffectFlags, type DeviceHotplug} from '../hotplug-types.js'
import {D, type QemuContext, type QemuDomain} from './context.js'
import {commitConfig, configWithDevice, configWithMedium, configWithoutAlias, configWithoutDevice, parseDiskDevice} from './hotplug-config.js'
import {attachLive, detachLive, detachLiveAlias, updateLive} from './hotplug-live.js'
import {parseDevice} from './hotplug-xml.js'

const {LIVE, CONFIG, FORCE} = AffectFlags

/** Which parts a call affects (virDomainObjUpdateModificationImpact), after libvirt's flag check. */
function impact(d: QemuDomain, flags: number, allowed: number, fn: string): {live: boolean; config: boolean} {
  const extra = flags & ~allowed
  if (extra !== 0) {
    const msg = `unsupported flags (0x${extra.toString(16)}) in function ${fn}`
    throw new VirError(ErrorCode.INVALID_ARG, D, msg, {str1: msg})
  }
  let live = (flags & LIVE) !== 0
  let config = (flags & CONFIG) !== 0
  if (!live && !config) {
    if (isActive(d)) live = true
    else config = true
  }
  if (live && !isActive(d)) throw errors.operationInvalid(ErrorDomain.DOMAIN, 'domain is not running')
  if (config && !d.config) throw errors.operationInvalid(ErrorDomain.DOMAIN, 'transient domains do not have any persistent config')
  return {live, config}
}

function persistent(d: QemuDomain): DomainDef {
  if (!d.config) throw errors.operationInvalid(ErrorDomain.DOMAIN, 'transient domains do not have any persistent config')
  return d.config
}

export class QemuHotplug implements DeviceHotplug {
  constructor(private readonly ctx: QemuContext) {}

  private job(uuid: string, fn: (d: QemuDomain) => Promise<void>): Promise<void> {
    const d = this.ctx.domains.get(uuid)
    return this.ctx.withJob(d, () => fn(d))
  }

  attachDevice(uuid: string, xml: string, flags: number): Promise<void> {
    return this.job(uuid, async (d) => {
      const {live, config} = impact(d, flags, LIVE | CONFIG, 'qemuDomainAttachDeviceLiveAndConfig')
      const dev = parseDevice(xml)
      const next = config ? configWithDevice(this.ctx, persistent(d), dev) : undefined
      if (live) await attachLive(this.ctx, d, dev)
      if (next) await commitConfig(this.ctx, d, next)
    })
  }

  detachDevice(uuid: string, xml: string, flags: number): Promise<void> {
    return this.job(uuid, async (d) => {
      const {live, config} = impact(d, flags, LIVE | CONFIG, 'qemuDomainDetachDeviceLiveAndConfig')
      const dev = parseDevice(xml)
      const next = config ? configWithoutDevice(persistent(d), dev) : undefined
      if (live) await detachLive(this.ctx, d, dev)
      if (next) await commitConfig(this.ctx, d, next)
    })
  }

  updateDevice(uuid: string, xml: string, flags: number): Promise<void> {
    return this.job(uuid, async (d) => {
      const {live, config} = impact(d, flags, LIVE | CONFIG | FORCE, 'qemuDomainUpdateDeviceFlags')
      const dev = parseDevice(xml)
      let next: DomainDef | undefined
      if (config) {
        if (dev.name !== 'disk') throw unsupported(`persistent update of device '${dev.name}' is not supported`)
        next = configWithMedium(persistent(d), parseDiskDevice(dev))
      }
      if (live) await updateLive(this.ctx, d, dev)
      if (next) await commitConfig(this.ctx, d, next)
    })
  }

  detachDeviceAlias(uuid: string, alias: string, flags: number): Promise<void> {
    return this.job(uuid, async (d) => {
      const {live, config} = impact(d, flags, LIVE | CONFIG, 'qemuDomainDetachDeviceAlias')
      const next = config ? configWithoutAlias(persistent(d), alias) : undefined
      if (live) await detachLiveAlias(this.ctx, d, alias)
      if (next) await commitConfig(this.ctx, d, next)
    })
  }
}

function unsupported(what: string): VirError {
  return new VirError(ErrorCode.OPERATION_UNSUPPORTED, D, `Operation not supported: ${what}`, {str1: 'Operation not supported: %s', str2: what})
}
