/**
 * What the QEMU driver (or any client) uses to talk to virtlogd: ask for a guest log, open the
 * returned FIFO for writing and give that descriptor to QEMU as stdout/stderr.
 *
 *   const fifo = await openGuestLog(sock, {driver: 'qemu', uuid, name, path: `${logDir}/${name}.log`})
 *   const fd = openFifoForWriting(fifo)
 *   spawn(qemu, argv, {stdio: ['ignore', fd, fd]}); closeSync(fd)
 *   ... when QEMU has exited: await closeGuestLog(sock, path)
 */
import {closeSync, constants as fsc, openSync} from 'node:fs'
import {uuidToBytes} from '../../uuid.js'
import {logProgram} from './protocol.js'
import {withDaemon, type RetryOptions} from '../retry.js'

export interface GuestLogId {
  /** The hypervisor driver asking ('qemu'). */
  driver: string
  /** The domain's UUID, as a string or its 16 bytes. */
  uuid: string | Uint8Array
  name: string
  /** The log file, absolute (e.g. LOGDIR/qemu/NAME.log). */
  path: string
}

function uuidBytes(u: string | Uint8Array): Buffer {
  return typeof u === 'string' ? uuidToBytes(u) : Buffer.from(u)
}

const P = [logProgram]

/** Asks virtlogd to follow a guest log; resolves with the FIFO to hand to QEMU. */
export function openGuestLog(sockPath: string, id: GuestLogId & {truncate?: boolean}, opts?: RetryOptions): Promise<string> {
  const args = {driver: id.driver, uuid: uuidBytes(id.uuid), name: id.name, path: id.path, flags: id.truncate ? 1 : 0}
  return withDaemon(sockPath, P, async (c) => (await c.call(logProgram, logProgram.procs.DOMAIN_OPEN_LOG_FILE, args)).fifo, opts)
}

/** Appends the driver's own text (e.g. the command line) to a guest log, with virtlogd's rollover. */
export function appendGuestLog(sockPath: string, id: GuestLogId, message: string, opts?: RetryOptions): Promise<number> {
  const args = {driver: id.driver, uuid: uuidBytes(id.uuid), name: id.name, path: id.path, message, flags: 0}
  return withDaemon(sockPath, P, async (c) => (await c.call(logProgram, logProgram.procs.DOMAIN_APPEND_LOG_FILE, args)).ret, opts)
}

/** The end of the live log: remember it before starting QEMU to read only what follows. */
export function guestLogPosition(sockPath: string, path: string, opts?: RetryOptions): Promise<{inode: bigint; offset: bigint}> {
  return withDaemon(sockPath, P, (c) => c.call(logProgram, logProgram.procs.DOMAIN_GET_LOG_FILE_POSITION, {path, flags: 0}), opts)
}

/** Reads from a position (see guestLogPosition), across rollovers; at most 1 MiB per call. */
export function readGuestLog(
  sockPath: string,
  path: string,
  pos: {inode: bigint; offset: bigint},
  maxlen = 65536,
  opts?: RetryOptions,
): Promise<string> {
  return withDaemon(
    sockPath,
    P,
    async (c) =>
      (
        await c.call(logProgram, logProgram.procs.DOMAIN_READ_LOG_FILE, {
          path,
          inode: pos.inode,
          offset: pos.offset,
          maxlen: BigInt(maxlen),
          flags: 0,
        })
      ).data,
    opts,
  )
}

/** Tells virtlogd the writer is gone (QEMU exited): it copies what is left and removes the FIFO. */
export function closeGuestLog(sockPath: string, path: string, opts?: RetryOptions): Promise<void> {
  return withDaemon(sockPath, P, (c) => c.call(logProgram, logProgram.procs.DOMAIN_CLOSE_LOG_FILE, {path, flags: 0}), opts)
}

/**
 * Opens a virtlogd FIFO for writing, as a blocking descriptor suitable for QEMU's stdout/stderr.
 * A plain blocking open would hang forever if nothing read the FIFO; the non-blocking probe
 * fails at once (ENXIO) instead, after which the blocking open returns immediately.
 */
export function openFifoForWriting(fifo: string): number {
  let probe: number
  try {
    probe = openSync(fifo, fsc.O_WRONLY | fsc.O_NONBLOCK)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new Error(
      code === 'ENXIO' ? `nothing reads the log FIFO ${fifo} (is virtlogd running?)` : `cannot open log FIFO ${fifo}: ${(err as Error).message}`,
      {cause: err},
    )
  }
  try {
    return openSync(fifo, fsc.O_WRONLY)
  } finally {
    closeSync(probe)
  }
}
