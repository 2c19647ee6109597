/**
 * The log-manager program served by virtlogd on `virtlogd-sock`.
 *
 * The program number is libvirt's (0x87539319, version 1) so that the socket is recognisable,
 * but the procedures are vctl's own: libvirt's virtlogd hands the caller an open pipe through
 * fd passing (REPLY_WITH_FDS). vctl's virtlogd instead creates a FIFO per guest log and returns
 * its path; the caller opens the FIFO for writing and gives it to QEMU as stdout/stderr. vctl can
 * pass descriptors (src/lib/os/fdpass.ts), but the FIFOs stay: a FIFO has a name, so a virtlogd
 * that was stopped and started again (not only re-exec'd) follows the running guests' logs again,
 * where libvirt's anonymous pipes die with the virtlogd holding them. A libvirt virtqemud can
 * therefore not use vctl's virtlogd (nor the reverse).
 */
import * as t from '../../rpc/codec.js'
import {defineProgram, proc} from '../../rpc/program.js'

export const LOG_PROGRAM = 0x87539319
export const LOG_VERSION = 1

/** DOMAIN_OPEN_LOG_FILE flags. */
export const LogOpenFlags = {
  /** Truncate the log file (the current one; backups are kept) before following the FIFO. */
  TRUNCATE: 1,
} as const

/** Largest DOMAIN_READ_LOG_FILE reply, whatever maxlen asks for. */
export const LOG_READ_MAX = 1024 * 1024

const PATH_MAX = 4096
const NAME_MAX = 1024
const any = {preOpen: true, preAuth: false}

export const logProgram = defineProgram('LOG', LOG_PROGRAM, LOG_VERSION, {
  DOMAIN_OPEN_LOG_FILE: proc(
    1,
    t.struct({driver: t.string(NAME_MAX), uuid: t.uuid, name: t.string(NAME_MAX), path: t.string(PATH_MAX), flags: t.uint}),
    t.struct({fifo: t.string(PATH_MAX)}),
    any,
  ),
  DOMAIN_GET_LOG_FILE_POSITION: proc(2, t.struct({path: t.string(PATH_MAX), flags: t.uint}), t.struct({inode: t.uhyper, offset: t.uhyper}), any),
  DOMAIN_READ_LOG_FILE: proc(
    3,
    t.struct({path: t.string(PATH_MAX), inode: t.uhyper, offset: t.uhyper, maxlen: t.uhyper, flags: t.uint}),
    t.struct({data: t.nonnullString}),
    any,
  ),
  DOMAIN_APPEND_LOG_FILE: proc(
    4,
    t.struct({driver: t.string(NAME_MAX), uuid: t.uuid, name: t.string(NAME_MAX), path: t.string(PATH_MAX), message: t.nonnullString, flags: t.uint}),
    t.struct({ret: t.int}),
    any,
  ),
  DOMAIN_CLOSE_LOG_FILE: proc(5, t.struct({path: t.string(PATH_MAX), flags: t.uint}), t.voidType, any),
})
