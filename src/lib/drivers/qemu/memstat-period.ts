/**
 * virDomainSetMemoryStatsPeriod on the QEMU driver, as libvirt 9.0: the live balloon's
 * guest-stats-polling-interval set with qom-set, and the period kept in `<memballoon><stats period=N/>`
 * of the live and/or persistent definition (period 0 turns polling off and drops the element).
 */
import {errors} from '../../errors.js'
import type {DomainDef} from '../../conf/domain.js'
import {child, el, removeChildren} from '../../conf/xml.js'
import {checkFlags, resolveImpact} from '../tuning-impact.js'
import {hasVirtioBalloon} from './argv.js'
import {D, type QemuContext} from './context.js'
import {updatePersistent} from './memstat-period-store.js'

const AFFECT_LIVE = 1
const AFFECT_CONFIG = 2
const BALLOON_PATH = '/machine/peripheral/balloon0'

function setPeriodXml(def: DomainDef, period: number): void {
  const mb = child(child(def.root, 'devices'), 'memballoon')
  if (!mb) return
  removeChildren(mb, 'stats')
  if (period > 0) mb.children.unshift(el('stats', {period}))
}

function requireBalloon(def: DomainDef): void {
  if (!hasVirtioBalloon(def)) throw errors.operationInvalid(D, 'No memory balloon device configured, can not set the collection period')
}

export async function setMemoryStatsPeriod(ctx: QemuContext, uuid: string, period: number, flags: number): Promise<void> {
  checkFlags(flags, AFFECT_LIVE | AFFECT_CONFIG, 'qemuDomainSetMemoryStatsPeriod', D)
  const d = ctx.domains.get(uuid)
  await ctx.withJob(d, async () => {
    const i = resolveImpact(d, flags)
    if (period < 0) throw errors.invalidArg(D, 'period for memory balloon statistics must be a non-negative number')
    if (i.live) {
      requireBalloon(i.live)
      const run = ctx.requireActive(d)
      await ctx.requireMonitor(run).execute('qom-set', {path: BALLOON_PATH, property: 'guest-stats-polling-interval', value: period})
      setPeriodXml(i.live, period)
      await ctx.saveStatus(d)
    }
    if (i.config) {
      requireBalloon(i.config)
      await updatePersistent(ctx, d, (def) => setPeriodXml(def, period))
    }
  })
}
