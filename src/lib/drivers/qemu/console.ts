/**
 * Guest consoles (virDomainOpenConsole) on the QEMU driver: the guest's serial port or console
 * is a `-chardev pty`; the daemon opens the pty's slave side (its path comes from QMP
 * `query-chardev` at start, see start.ts) and hands it out as a byte stream. One client per
 * device, as libvirt's chardev locks do: another client is refused, or with FORCE takes the
 * console over (the previous client's stream then fails).
 */
import {constants, openSync} from 'node:fs'
import tty from 'node:tty'
import type {DomainChr, DomainDef} from '../../conf/domain.js'
import {ErrorCode, ErrorDomain, VirError, errors} from '../../errors.js'
import {ConsoleFlags, type GuestConsole} from '../console-types.js'
import {D, type QemuContext, type QemuDomain, type Run} from './context.js'

/** The console held on each pty of a run (the lock), by pty path. */
const held = new WeakMap<Run, Map<string, tty.ReadStream>>()

/** Raised on a console's stream when another client takes it over. */
export class ConsoleTakenOver extends Error {
  constructor() {
    super('console taken over by another client')
  }
}

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
  if (flags & ~known) throw errors.invalidArg(D, `unsupported flags (0x${(flags & ~known).toString(16)}) in function qemuDomainOpenConsole`)
  const run = ctx.requireActive(d)
  const def = d.live
  const chr = def ? pickDevice(def, devName) : undefined
  if (!def || !chr) throw errors.internal(D, `cannot find character device ${devName ?? '<null>'}`)
  if (chr.type !== 'pty' || !chr.path) {
    const name = devName ?? alias(def, chr, def.devices.consoles.includes(chr) ? 'console' : 'serial')
    throw errors.internal(D, `character device ${name} is not using a PTY`)
  }
  let locks = held.get(run)
  if (!locks) {
    locks = new Map()
    held.set(run, locks)
  }
  const path = chr.path
  const previous = locks.get(path)
  if (previous && !previous.destroyed) {
    if (!(flags & ConsoleFlags.FORCE))
      throw new VirError(ErrorCode.OPERATION_FAILED, D, 'operation failed: Active console session exists for this domain')
    locks.delete(path)
    previous.destroy(new ConsoleTakenOver())
  }
  let fd: number
  try {
    fd = openSync(path, constants.O_RDWR | constants.O_NOCTTY | constants.O_NONBLOCK)
  } catch (err) {
    throw errors.systemError(ErrorDomain.NONE, `Unable to open tty ${path}: ${(err as Error).message}`)
  }
  const stream = new tty.ReadStream(fd)
  // raw mode, as libvirt sets the pty before handing it out
  stream.setRawMode(true)
  const lockMap = locks
  lockMap.set(path, stream)
  stream.once('close', () => {
    if (lockMap.get(path) === stream) lockMap.delete(path)
  })
  return {stream}
}
