/**
 * Saving a running guest's state to a file and restoring it (libvirt's virDomainSave*,
 * virDomainRestore*, virDomainSaveImage*, virDomainManagedSave*). A hypervisor driver that has them
 * exposes this as `saves`; the daemon maps the procedures onto it. Domains are addressed by UUID.
 */

/** virDomainSaveRestoreFlags. */
export const SaveFlags = {BYPASS_CACHE: 1, RUNNING: 2, PAUSED: 4, RESET_NVRAM: 8} as const

/** virDomainSaveImageXMLFlags. */
export const SaveImageXmlFlags = {SECURE: 1} as const

/** virDomainCreateFlags that concern a managed save: FORCE_BOOT discards it. */
export const START_FORCE_BOOT = 8

/** virDomainUndefineFlagsValues: MANAGED_SAVE removes the managed save image too. */
export const UNDEFINE_MANAGED_SAVE = 1

/** Event details and state reasons of save/restore (virDomainEvent*DetailType, virDomain*Reason). */
export const SaveDetail = {STARTED_RESTORED: 2, SUSPENDED_RESTORED: 4, RESUMED_FROM_SNAPSHOT: 2, STOPPED_SAVED: 4} as const
export const PAUSED_SAVE = 3
export const PAUSED_MIGRATION = 2

export interface SaveDriver {
  /** Saves a running guest's state to `path` and stops it (dxml: replacement XML, null: the guest's). */
  save(uuid: string, path: string, dxml: string | null, flags: number): void | Promise<void>
  /** Starts the guest saved in `path` where it left off. */
  restore(path: string, dxml: string | null, flags: number): void | Promise<void>
  saveImageGetXMLDesc(path: string, flags: number): string | Promise<string>
  saveImageDefineXML(path: string, dxml: string, flags: number): void | Promise<void>
  /** Saves a persistent running guest to its managed save image (the next start restores it). */
  managedSave(uuid: string, flags: number): void | Promise<void>
  managedSaveRemove(uuid: string, flags: number): void | Promise<void>
  managedSaveGetXMLDesc(uuid: string, flags: number): string | Promise<string>
  managedSaveDefineXML(uuid: string, dxml: string | null, flags: number): void | Promise<void>
}
