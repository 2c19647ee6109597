/** What the migration files of the QEMU driver share: the jobs in progress per domain, tunables, identity. */
import {hostname} from 'node:os'
import type {DomainDef} from '../../../conf/domain.js'
import type {QemuContext} from '../context.js'
import type {MigrationParam} from '../../migration-types.js'
import type {MigrationJob} from './job.js'
import {BANDWIDTH_MAX} from './qemu-stream.js'
import type {IncomingStorage} from './nbd-dest.js'

export interface Outgoing {
  job: MigrationJob
  flags: number
  /** The state to go back to when the migration is cancelled. */
  wasRunning: boolean
  /** Peer-to-peer: the connection to the destination was lost. */
  lost?: boolean
  /** QEMU switched to post-copy: the destination runs the guest, this side serves its missing pages. */
  postcopy?: boolean
}

export interface Incoming {
  job: MigrationJob
  flags: number
  def: DomainDef
  port?: number
  /** Storage migration: images created here, the NBD server's port. */
  storage?: IncomingStorage
}

export interface Tunables {
  /** MiB/s. */
  speed: bigint
  /** ms. */
  downtime: bigint
}

export class MigrationState {
  readonly outgoing = new Map<string, Outgoing>()
  readonly incoming = new Map<string, Incoming>()
  readonly tunables = new Map<string, Tunables>()
  /** The last finished job of each domain (domjobinfo --completed). */
  readonly completed = new Map<string, MigrationJob>()

  constructor(
    readonly ctx: QemuContext,
    readonly hostUuid: () => string,
  ) {}

  tune(uuid: string): Tunables {
    let t = this.tunables.get(uuid)
    if (!t) {
      t = {speed: BANDWIDTH_MAX, downtime: 300n}
      this.tunables.set(uuid, t)
    }
    return t
  }

  identity(name: string, uuid: string): {name: string; uuid: string; hostname: string; hostuuid: string} {
    return {name, uuid, hostname: hostname(), hostuuid: this.hostUuid()}
  }
}

export function param(params: MigrationParam[], field: string): MigrationParam['value'] | undefined {
  return params.find((p) => p.field === field)?.value
}

export function stringParam(params: MigrationParam[], field: string): string | undefined {
  const v = param(params, field)
  return typeof v === 'string' ? v : undefined
}

export function withParam(params: MigrationParam[], p: MigrationParam): MigrationParam[] {
  return [...params.filter((x) => x.field !== p.field), p]
}
