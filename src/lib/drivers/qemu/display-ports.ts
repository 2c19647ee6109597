/**
 * Display ports (VNC, SPICE) chosen at start: fixed ones as written, autoport ones from 5900 up,
 * skipping the ports of running guests and ports that do not bind. A port that binds now is QEMU's
 * only once QEMU binds it; in between, another vctl daemon on this host could pick it too. So each
 * pick is also reserved by a file created exclusively in a host-wide directory, held until the start
 * is over (or for a minute at most, should a daemon die meanwhile).
 */
import * as fs from 'node:fs'
import net from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {errors} from '../../errors.js'
import type {DomainDef} from '../../conf/domain.js'
import {D, type QemuContext} from './context.js'

const RESERVE_DIR = join(tmpdir(), 'vctl-display-ports')
const RESERVE_MS = 60_000

/** Reserves `port` among vctl daemons; false while another daemon's fresh reservation holds it. */
function reserve(port: number): boolean {
  const file = join(RESERVE_DIR, String(port))
  try {
    fs.mkdirSync(RESERVE_DIR, {recursive: true, mode: 0o700})
    fs.closeSync(fs.openSync(file, 'wx', 0o600))
    return true
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') return true // cannot reserve: bind check only
  }
  try {
    if (Date.now() - fs.statSync(file).mtimeMs < RESERVE_MS) return false
    const now = new Date()
    fs.utimesSync(file, now, now) // a stale reservation (its daemon died): take it over
    return true
  } catch {
    return true // released meanwhile
  }
}

/** Drops the reservations of a start that is over (QEMU holds the ports, or the start failed). */
export function releaseDisplayPorts(ports: readonly (number | undefined)[]): void {
  for (const p of ports) if (p !== undefined) fs.rmSync(join(RESERVE_DIR, String(p)), {force: true})
}

/** Whether a TCP port is free on `host` (bound and released at once). */
function canBind(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer()
    srv.once('error', () => resolve(false))
    srv.listen({port, host, exclusive: true}, () => srv.close(() => resolve(true)))
  })
}

export async function allocateGraphicsPorts(ctx: QemuContext, def: DomainDef): Promise<(number | undefined)[]> {
  if (def.devices.graphics.length === 0) return []
  const used = new Set<number>()
  for (const d of ctx.domains.values()) for (const p of d.run?.graphicsPorts ?? []) if (p !== undefined) used.add(p)
  const out: (number | undefined)[] = []
  for (const g of def.devices.graphics) {
    if (g.port !== undefined && g.port >= 5900 && !g.autoport) {
      out.push(g.port)
      used.add(g.port)
      continue
    }
    let port = 5900
    while (port < 65536 && (used.has(port) || !(await canBind(port, g.listen ?? '127.0.0.1')) || !reserve(port))) port++
    if (port >= 65536) throw errors.internal(D, 'Unable to find an unused port in range 5900-65535')
    used.add(port)
    out.push(port)
  }
  return out
}
