/**
 * Guest consoles (virDomainOpenConsole) on the QEMU driver: the guest's serial port or console
 * is a `-chardev pty`; the daemon holds the pty's slave side (its path comes from QMP
 * `query-chardev` at start, see start.ts; console-pty.ts) and hands out a session on it as a
 * byte stream. One client per device, as libvirt's chardev locks do: another client is refused,
 * or with FORCE takes the console over (the previous client's stream then fails).
 */
import type {DomainChr, DomainDef} from '../../conf/domain.js'
import {ErrorCode, ErrorDomain, VirError, errors} from '../../errors.js'
import {ConsoleFlags, unsupportedFlags, type GuestConsole} from '../console-types.js'
import {D, type QemuContext, type QemuDomain, type Run} from './context.js'
import {ConsoleTakenOver, PtyHolder} from './console-pty.js'

/** The daemon's hold on each pty of a run, by pty path (see console-pty.ts). */
const held = new WeakMap<Run, Map<string, PtyHolder>>()

/** libvirt's alias of a character device: serial ports and the consoles showing them are serialN. */
function alias(def: DomainDef, chr: DomainChr, kind: 'serial' | 'console'): string {
  if (kind === 'serial' || chr.targetType === 'serial' || chr.targetType === undefined) return `serial${chr.targetPort ?? 0}`
  return `console${def.devices.consoles.indexOf(chr)}`
}

/** The device a console call means, as qemuDomainOpenConsole picks it. */
function pickDevice(def: DomainDef, devName: string | null): DomainChr | undefined {
  if (devName === null) return def.devices.consoles[0] ?? def.devices.serials[0]
  return (
    def.devices.consoles.find((c) => alias(def, c, 'console') === devName) ?? def.devices.serials.find((s) => alias(def, s, 'serial') === devName)
  )
}

export function openConsole(ctx: QemuContext, d: QemuDomain, devName: string | null, flags: number): GuestConsole {
  const known = ConsoleFlags.FORCE | ConsoleFlags.SAFE
  if (flags & ~known) throw unsupportedFlags(D, flags & ~known, 'qemuDomainOpenConsole')
  const run = ctx.requireActive(d)
  const def = d.live
  const chr = def ? pickDevice(def, devName) : undefined
  if (!def || !chr) throw errors.internal(D, `cannot find character device ${devName ?? '<null>'}`)
  if (chr.type !== 'pty' || !chr.path) {
    const name = devName ?? alias(def, chr, def.devices.consoles.includes(chr) ? 'console' : 'serial')
    throw errors.internal(D, `character device ${name} is not using a PTY`)
  }
  let holders = held.get(run)
  if (!holders) {
    holders = new Map()
    held.set(run, holders)
  }
  const path = chr.path
  let holder = holders.get(path)
  if (holder && !holder.closed && holder.attached && !holder.attached.destroyed) {
    if (!(flags & ConsoleFlags.FORCE))
      throw new VirError(ErrorCode.OPERATION_FAILED, D, 'operation failed: Active console session exists for this domain')
    holder.attached.destroy(new ConsoleTakenOver())
  }
  if (!holder || holder.closed) {
    const map = holders
    try {
      const h: PtyHolder = new PtyHolder(path, () => {
        if (map.get(path) === h) map.delete(path)
      })
      holder = h
    } catch (err) {
      throw errors.systemError(ErrorDomain.NONE, `Unable to open tty ${path}: ${(err as Error).message}`)
    }
    holders.set(path, holder)
  }
  return {stream: holder.attach()}
}
