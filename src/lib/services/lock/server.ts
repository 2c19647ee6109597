/**
 * virtlockd (`vctl daemon start --driver lock`): serves the lockspace program on virtlockd-sock
 * and re-executes itself on SIGUSR1 (see ../reexec.ts); the lock table lives in
 * RUNDIR/virtlockd/locks.json (RUNDIR = paths.runDir, e.g. /run/libvirt), so locks survive both a
 * restart and a re-exec. Locks are bookkeeping between vctl daemons, not OS-level file locks
 * (QEMU takes its own fcntl locks on the images it opens).
 */
import {realpathSync} from 'node:fs'
import {basename, dirname, isAbsolute, join, normalize} from 'node:path'
import type {ArgsOf} from '../../rpc/program.js'
import type {ServedProgram} from '../../rpc/server.js'
import {ErrorDomain, errors} from '../../errors.js'
import {uuidToBytes, uuidToString} from '../../uuid.js'
import type {DaemonHost, ServiceSetup} from '../host.js'
import {makeReexec, takeOver} from '../reexec.js'
import {lockProgram} from './protocol.js'
import {LockTable, type LockOwner} from './table.js'

export interface LockService extends ServiceSetup {
  table: LockTable
}

/** The run directory of virtlockd's state. */
export function lockRunDir(d: Pick<DaemonHost, 'paths'>): string {
  return join(d.paths.runDir, 'virtlockd')
}

/** Canonical form of a disk path: realpath, or realpath of its directory for a missing file. */
export function canonicalDiskPath(p: string): string {
  if (!isAbsolute(p) || p.includes('\0')) throw errors.invalidArg(ErrorDomain.LOCKING, `disk path '${p}' must be absolute`)
  try {
    return realpathSync(p)
  } catch {
    try {
      return join(realpathSync(dirname(p)), basename(p))
    } catch {
      return normalize(p)
    }
  }
}

class Gate {
  private p: Promise<void> | undefined
  private open: (() => void) | undefined
  close(): void {
    if (!this.p) this.p = new Promise<void>((r) => (this.open = r))
  }
  release(): void {
    const o = this.open
    this.p = undefined
    this.open = undefined
    o?.()
  }
  async pass(): Promise<void> {
    while (this.p) await this.p
  }
}

type WireOwner = {name: string; uuid: Buffer; pid: number}

function owner(o: WireOwner): LockOwner {
  return {name: o.name, uuid: uuidToString(o.uuid), pid: o.pid}
}

function checkFlags(flags: number): void {
  if (flags !== 0) throw errors.invalidArg(ErrorDomain.LOCKING, `unsupported flags (0x${flags.toString(16)})`)
}

/** The decoded arguments of one of virtlockd's procedures. */
type Args<K extends keyof typeof lockProgram.procs> = ArgsOf<(typeof lockProgram.procs)[K]>

export function setupLockDaemon(d: DaemonHost): LockService {
  const dir = lockRunDir(d)
  const table = new LockTable(join(dir, 'locks.json'), d.log)
  const gate = new Gate()
  const incoming = takeOver<Record<string, never>>(d)
  // The old process froze its table (and saved it) before starting us: loading it is the hand-over.
  const dropped = table.load()
  if (dropped) d.log.info(`dropped ${dropped} lock(s) of guests that are gone`)
  if (incoming) {
    gate.close()
    void incoming.released.then(() => gate.release())
  }
  let handedOver = false
  const changing = async () => {
    await gate.pass()
    if (handedOver) await new Promise<void>(() => {}) // the client retries on the new daemon
  }

  const program: ServedProgram = {
    program: lockProgram,
    handle: async (_conn, def, args) => {
      switch (def.name) {
        case 'ACQUIRE': {
          const a = args as Args<'ACQUIRE'>
          checkFlags(a.flags)
          const path = canonicalDiskPath(a.path)
          await changing()
          table.acquire(owner(a.owner), path, a.shared !== 0)
          return
        }
        case 'RELEASE': {
          const a = args as Args<'RELEASE'>
          checkFlags(a.flags)
          const path = canonicalDiskPath(a.path)
          await changing()
          table.release(owner(a.owner), path)
          return
        }
        case 'RELEASE_OWNER': {
          const a = args as Args<'RELEASE_OWNER'>
          checkFlags(a.flags)
          await changing()
          table.releaseOwner(owner(a.owner))
          return
        }
        case 'LIST':
          checkFlags((args as Args<'LIST'>).flags)
          return {
            locks: table.list().map((l) => ({
              path: l.path,
              shared: l.shared ? 1 : 0,
              owners: l.owners.map((o) => ({name: o.name, uuid: uuidToBytes(o.uuid), pid: o.pid})),
            })),
          }
        default:
          throw new Error(`unhandled procedure ${def.name}`)
      }
    },
  }
  const reexec = makeReexec<Record<string, never>>(
    d,
    {
      freeze: () => {
        gate.close()
        return {}
      },
      release: () => {
        handedOver = true
      },
      thaw: () => gate.release(),
    },
    {stateDir: dir},
  )
  return {program, reexec, hasActive: () => table.size > 0, table}
}
