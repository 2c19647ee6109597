/**
 * Balloon statistics of QEMU guests (dommemstat and the `balloon` group of domstats): the balloon
 * size from `query-balloon`, the guest's own figures from the virtio balloon's `guest-stats`
 * property (polled by the guest every `<memballoon><stats period=N/>` seconds, which the driver
 * sets at start with `qom-set`, as libvirt does), and the QEMU process's RSS.
 */
import {readFileSync} from 'node:fs'
import type {DomainDef} from '../../conf/domain.js'
import {currentDef} from '../../conf/domain-list.js'
import {attr, child} from '../../conf/xml.js'
import {MemoryStatTag as T, type MemoryStat, type StatParam} from '../stats-types.js'
import {hasVirtioBalloon} from './argv.js'
import type {QemuContext, QemuDomain, Run} from './context.js'
import type {QmpClient} from './qmp.js'

const BALLOON_PATH = '/machine/peripheral/balloon0'
const TIMEOUT = {timeoutMs: 5000}

/** guest-stats keys, their tags, the names the balloon group uses, and whether QEMU gives bytes. */
const GUEST_STATS: Array<[string, number, string, boolean]> = [
  ['stat-swap-in', T.SWAP_IN, 'swap_in', true],
  ['stat-swap-out', T.SWAP_OUT, 'swap_out', true],
  ['stat-major-faults', T.MAJOR_FAULT, 'major_fault', false],
  ['stat-minor-faults', T.MINOR_FAULT, 'minor_fault', false],
  ['stat-free-memory', T.UNUSED, 'unused', true],
  ['stat-total-memory', T.AVAILABLE, 'available', true],
  ['stat-available-memory', T.USABLE, 'usable', true],
  ['last-update', T.LAST_UPDATE, 'last-update', false],
  ['stat-disk-caches', T.DISK_CACHES, 'disk_caches', true],
  ['stat-htlb-pgalloc', T.HUGETLB_PGALLOC, 'hugetlb_pgalloc', false],
  ['stat-htlb-pgfail', T.HUGETLB_PGFAIL, 'hugetlb_pgfail', false],
]

/** The `<memballoon><stats period=.../>` of a definition, or undefined. */
export function statsPeriod(def: DomainDef): number | undefined {
  const p = attr(child(child(child(def.root, 'devices'), 'memballoon'), 'stats'), 'period')
  return p !== undefined && /^\d+$/.test(p) ? Number(p) : undefined
}

/** At start: turn on the guest's balloon statistics when the definition asks for a period. */
export async function setupBalloonStats(ctx: QemuContext, def: DomainDef, qmp: QmpClient): Promise<void> {
  const period = statsPeriod(def)
  if (!hasVirtioBalloon(def) || !period) return
  await qmp
    .execute('qom-set', {path: BALLOON_PATH, property: 'guest-stats-polling-interval', value: period}, TIMEOUT)
    .catch((e: unknown) => ctx.log.warn(`qemu: ${def.name}: cannot set the balloon stats period: ${(e as Error).message}`))
}

/** RSS of the QEMU process in KiB (field 24 of /proc/PID/stat, in pages). */
function rssKiB(pid: number): bigint | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ')
    return (BigInt(f[21]) * 4096n) / 1024n
  } catch {
    return undefined
  }
}

interface GuestStatsReply {
  stats?: Record<string, number>
  'last-update'?: number
}

/** The balloon's actual size (KiB) and the guest's statistics, in libvirt's order. */
async function balloonFigures(d: QemuDomain, run: Run): Promise<{actual: bigint; guest: Array<[number, string, bigint]>}> {
  const def = currentDef(d)
  let actual = BigInt(run.balloonKiB ?? def.currentMemoryKiB)
  const guest: Array<[number, string, bigint]> = []
  const qmp = run.qmp
  if (!qmp || qmp.closed || !hasVirtioBalloon(def)) return {actual, guest}
  try {
    const b = await qmp.execute<{actual: number}>('query-balloon', undefined, TIMEOUT)
    actual = BigInt(Math.floor(b.actual / 1024))
    run.balloonKiB = Number(actual)
  } catch {
    // keep the last known size
  }
  try {
    const r = await qmp.execute<GuestStatsReply>('qom-get', {path: BALLOON_PATH, property: 'guest-stats'}, TIMEOUT)
    const values: Record<string, number> = {...(r.stats ?? {}), 'last-update': r['last-update'] ?? 0}
    for (const [key, tag, name, bytes] of GUEST_STATS) {
      const v = values[key]
      // QEMU answers -1 (as an unsigned 64-bit number) for what the guest never reported, and last-update 0 before the first report.
      if (typeof v !== 'number' || v < 0 || v >= 2 ** 63 || (key === 'last-update' && v === 0)) continue
      guest.push([tag, name, bytes ? BigInt(Math.floor(v / 1024)) : BigInt(v)])
    }
  } catch {
    // no guest statistics
  }
  return {actual, guest}
}

/** virDomainMemoryStats of a running guest. */
export async function memoryStats(ctx: QemuContext, d: QemuDomain): Promise<MemoryStat[]> {
  const run = ctx.requireActive(d)
  const {actual, guest} = await balloonFigures(d, run)
  const out: MemoryStat[] = [{tag: T.ACTUAL_BALLOON, val: actual}, ...guest.map(([tag, , val]) => ({tag, val}))]
  const rss = rssKiB(run.pid)
  if (rss !== undefined) out.push({tag: T.RSS, val: rss})
  return out
}

/** The `balloon` group of domstats. */
export async function balloonGroup(d: QemuDomain): Promise<StatParam[]> {
  const def = currentDef(d)
  const out: StatParam[] = []
  const run = d.run
  if (!run) {
    out.push({field: 'balloon.current', type: 'ullong', value: BigInt(def.currentMemoryKiB)})
    out.push({field: 'balloon.maximum', type: 'ullong', value: BigInt(def.memoryKiB)})
    return out
  }
  const {actual, guest} = await balloonFigures(d, run)
  out.push({field: 'balloon.current', type: 'ullong', value: actual}, {field: 'balloon.maximum', type: 'ullong', value: BigInt(def.memoryKiB)})
  for (const [, name, val] of guest) out.push({field: `balloon.${name}`, type: 'ullong', value: val})
  const rss = rssKiB(run.pid)
  if (rss !== undefined) out.push({field: 'balloon.rss', type: 'ullong', value: rss})
  return out
}
