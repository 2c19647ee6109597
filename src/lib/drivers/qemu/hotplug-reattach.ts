/**
 * Hot-plugged devices after a daemon restart: a removal QEMU finished while no daemon listened (its
 * DEVICE_DELETED lost) is completed from what QEMU still has (`qom-list /machine/peripheral`, as
 * libvirt's reconnect does), and a removal still pending completes when its DEVICE_DELETED arrives.
 */
import {aliasOf} from './hotplug-xml.js'
import {finishRemoval} from './hotplug-live.js'
import type {QemuContext, QemuDomain, Run} from './context.js'
import type {QmpClient, QmpEvent} from './qmp.js'

/** Aliases the live definition names explicitly (set when a hotplug touched the guest). */
function aliases(d: QemuDomain): string[] {
  const def = d.live
  if (!def) return []
  return [...def.devices.disks.map((x) => aliasOf(x.xml)), ...def.devices.interfaces.map((x) => aliasOf(x.xml))].filter(
    (a): a is string => a !== undefined,
  )
}

/** Called once the monitor of a reattached guest is up. Never throws: the guest is reattached either way. */
export async function reconcileDevices(ctx: QemuContext, d: QemuDomain, run: Run, qmp: QmpClient): Promise<void> {
  qmp.on('event', (ev: QmpEvent) => {
    const alias = ev.data.device
    if (ev.event !== 'DEVICE_DELETED' || typeof alias !== 'string' || !aliases(d).includes(alias)) return
    void ctx
      .withJob(d, () => finishRemoval(ctx, d, run, qmp, alias, undefined))
      .catch((err: unknown) => ctx.log.warn(`qemu: ${d.name}: ${(err as Error).message}`))
  })
  const want = aliases(d)
  if (want.length === 0) return
  try {
    const present = new Set((await qmp.execute<Array<{name: string}>>('qom-list', {path: '/machine/peripheral'})).map((p) => p.name))
    for (const alias of want) if (!present.has(alias)) await finishRemoval(ctx, d, run, qmp, alias, undefined)
  } catch (err) {
    ctx.log.warn(`qemu: ${d.name}: cannot check hot-plugged devices: ${(err as Error).message}`)
  }
}
