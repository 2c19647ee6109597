/**
 * The lockspace program served by virtlockd on `virtlockd-sock`.
 *
 * The program number is libvirt's lockspace program (0xEA7BEEF, version 1) so that the socket is
 * recognisable, but the procedures are vctl's own and simpler: libvirt registers an owner per
 * connection and keeps fcntl() locks on the image files (or on hashed lease files), needing the
 * connection to stay open for the locks' lifetime. vctl's locks are a table keyed by canonical
 * path and owned by a domain (UUID), persisted across restarts and re-execs, and released
 * explicitly or when the owner's process is gone. A libvirt virtqemud can therefore not use
 * vctl's virtlockd (nor the reverse).
 */
import * as t from '../../rpc/codec.js'
import {defineProgram, proc} from '../../rpc/program.js'

export const LOCK_PROGRAM = 0xea7beef
export const LOCK_VERSION = 1

const PATH_MAX = 4096
const any = {preOpen: true}

export const lockOwner = t.struct({name: t.string(1024), uuid: t.uuid, pid: t.uint})
export const lockRecord = t.struct({path: t.string(PATH_MAX), shared: t.int, owners: t.array(lockOwner, 65536)})

export const lockProgram = defineProgram('LOCKSPACE', LOCK_PROGRAM, LOCK_VERSION, {
  /** Takes `path` for `owner`, exclusively (shared = 0) or shared with other shared holders. */
  ACQUIRE: proc(1, t.struct({owner: lockOwner, path: t.string(PATH_MAX), shared: t.int, flags: t.uint}), t.voidType, any),
  /** Drops owner's hold on path (no error when it holds none). */
  RELEASE: proc(2, t.struct({owner: lockOwner, path: t.string(PATH_MAX), flags: t.uint}), t.voidType, any),
  /** Drops every lock of owner (matched by UUID). */
  RELEASE_OWNER: proc(3, t.struct({owner: lockOwner, flags: t.uint}), t.voidType, any),
  LIST: proc(4, t.struct({flags: t.uint}), t.struct({locks: t.array(lockRecord, 1048576)}), any),
})
