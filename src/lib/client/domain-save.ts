/** Saving and restoring domains, and managed save, as virsh's save, restore, managedsave* do. */
import {remote, type DomainHandle} from '../rpc/programs/remote.js'
import type {Connection} from './connection.js'

const P = remote.procs

/** virDomainSaveRestoreFlags RUNNING / PAUSED: how the guest comes back. */
export type ResumeAs = 'running' | 'paused' | undefined
const resumeFlags = (as: ResumeAs): number => (as === 'running' ? 2 : as === 'paused' ? 4 : 0)

/** Saves a running domain's state to `file` (on the daemon's host) and stops it. */
export async function saveDomain(conn: Connection, dom: DomainHandle, file: string, opts: {as?: ResumeAs; xml?: string} = {}): Promise<void> {
  await conn.call(P.DOMAIN_SAVE_FLAGS, {dom, to: file, dxml: opts.xml ?? null, flags: resumeFlags(opts.as)})
}

/** Starts the domain saved in `file` where it left off. */
export async function restoreDomain(conn: Connection, file: string, opts: {as?: ResumeAs; xml?: string} = {}): Promise<void> {
  await conn.call(P.DOMAIN_RESTORE_FLAGS, {from: file, dxml: opts.xml ?? null, flags: resumeFlags(opts.as)})
}

/** The domain XML stored in a save file. */
export async function saveImageXml(conn: Connection, file: string): Promise<string> {
  return (await conn.call(P.DOMAIN_SAVE_IMAGE_GET_XML_DESC, {file, flags: 0})).xml
}

/** Saves a persistent running domain where its next start finds it. */
export async function managedSave(conn: Connection, dom: DomainHandle, as?: ResumeAs): Promise<void> {
  await conn.call(P.DOMAIN_MANAGED_SAVE, {dom, flags: resumeFlags(as)})
}

export async function hasManagedSave(conn: Connection, dom: DomainHandle): Promise<boolean> {
  return (await conn.call(P.DOMAIN_HAS_MANAGED_SAVE_IMAGE, {dom, flags: 0})).result !== 0
}

/** Removes the managed save image; false when there was none (virsh: "removal skipped"). */
export async function managedSaveRemove(conn: Connection, dom: DomainHandle): Promise<boolean> {
  if (!(await hasManagedSave(conn, dom))) return false
  await conn.call(P.DOMAIN_MANAGED_SAVE_REMOVE, {dom, flags: 0})
  return true
}
