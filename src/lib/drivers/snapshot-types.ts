/**
 * Domain snapshots (libvirt's virDomainSnapshot* driver calls). A hypervisor driver that has them
 * exposes this as `snapshots`; the daemon maps the DOMAIN_SNAPSHOT_* procedures onto it. Domains
 * are addressed by UUID, snapshots by name within their domain.
 */

/** virDomainSnapshotCreateFlags. */
export const SnapshotCreateFlags = {
  REDEFINE: 1,
  CURRENT: 2,
  NO_METADATA: 4,
  HALT: 8,
  DISK_ONLY: 16,
  REUSE_EXT: 32,
  QUIESCE: 64,
  ATOMIC: 128,
  LIVE: 256,
  VALIDATE: 512,
} as const

/** virDomainSnapshotRevertFlags. */
export const SnapshotRevertFlags = {RUNNING: 1, PAUSED: 2, FORCE: 4, RESET_NVRAM: 8} as const

/** virDomainSnapshotDeleteFlags. */
export const SnapshotDeleteFlags = {CHILDREN: 1, METADATA_ONLY: 2, CHILDREN_ONLY: 4} as const

/** virDomainSnapshotXMLFlags. */
export const SnapshotXmlFlags = {SECURE: 1} as const

/** virDomainUndefineFlagsValues: SNAPSHOTS_METADATA. */
export const UNDEFINE_SNAPSHOTS_METADATA = 2

export interface SnapshotDriver {
  /** Takes (or, with REDEFINE, records) a snapshot; returns its name. */
  snapshotCreateXML(uuid: string, xml: string, flags: number): string | Promise<string>
  snapshotGetXMLDesc(uuid: string, name: string, flags: number): string
  /** Names of the domain's snapshots matching virDomainSnapshotListFlags (ROOTS, filters, TOPOLOGICAL). */
  listSnapshots(uuid: string, flags: number, fn: string): string[]
  /** Names of the children (DESCENDANTS: all descendants) of a snapshot matching the filters. */
  listSnapshotChildren(uuid: string, name: string, flags: number, fn: string): string[]
  /** Checks that the snapshot exists (NO_DOMAIN_SNAPSHOT otherwise); returns its name. */
  snapshotLookupByName(uuid: string, name: string, flags: number): string
  hasCurrentSnapshot(uuid: string, flags: number): boolean
  /** The current snapshot's name (NO_DOMAIN_SNAPSHOT when there is none). */
  snapshotCurrent(uuid: string, flags: number): string
  /** The parent's name (NO_DOMAIN_SNAPSHOT when it has none). */
  snapshotGetParent(uuid: string, name: string, flags: number): string
  snapshotIsCurrent(uuid: string, name: string, flags: number): boolean
  snapshotHasMetadata(uuid: string, name: string, flags: number): boolean
  revertToSnapshot(uuid: string, name: string, flags: number): void | Promise<void>
  snapshotDelete(uuid: string, name: string, flags: number): void | Promise<void>
  /** How many snapshots the domain has (undefine refuses an inactive domain that has some). */
  snapshotCount(uuid: string): number
}

/** VIR_DOMAIN_PAUSED_FROM_SNAPSHOT (RUNNING and SHUTOFF have theirs in types.ts). */
export const PAUSED_FROM_SNAPSHOT = 7

/** Lifecycle event details "from snapshot" (virDomainEvent*DetailType). */
export const FromSnapshotDetail = {DEFINED: 3, STARTED: 3, SUSPENDED: 5, RESUMED: 2, STOPPED: 6} as const
