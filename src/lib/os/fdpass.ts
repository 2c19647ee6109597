/**
 * File-descriptor passing over UNIX sockets (SCM_RIGHTS), which Node cannot do by itself: libc's
 * sendmsg/recvmsg/socketpair/poll called through koffi (an FFI shipping prebuilt binaries).
 * Linux x86-64/arm64 layouts (LP64). koffi and libc are loaded on first use, so importing this
 * module costs nothing to a process that never passes a descriptor.
 *
 * The synchronous calls never block: they use MSG_DONTWAIT and report EAGAIN as `null`; the
 * asynchronous ones wait for the socket with poll() on libuv's thread pool, so the event loop keeps
 * running. Descriptors received are close-on-exec; descriptors sent stay owned by the caller.
 */
import {closeSync} from 'node:fs'
import type {Socket} from 'node:net'
import {libc as loadLibc} from './libc.js'

const AF_UNIX = 1
const SOCK_STREAM = 1
const SOCK_CLOEXEC = 0o2000000
const SOL_SOCKET = 1
const F_DUPFD_CLOEXEC = 1030
const SCM_RIGHTS = 1
const MSG_PEEK = 0x2
const MSG_DONTWAIT = 0x40
const MSG_CTRUNC = 0x8
const MSG_NOSIGNAL = 0x4000
const MSG_CMSG_CLOEXEC = 0x40000000
const EINTR = 4
const EAGAIN = 11
const POLLIN = 0x1
const POLLOUT = 0x4
/** sizeof(struct cmsghdr) on LP64: size_t cmsg_len, int cmsg_level, int cmsg_type. */
const CMSG_HDR = 16
/** The most descriptors one call may carry (libvirt's VIR_NET_MESSAGE_NUM_FDS_MAX is 32 too). */
export const MAX_FDS_PER_CALL = 32

const cmsgSpace = (nfds: number): number => CMSG_HDR + ((nfds * 4 + 7) & ~7)

/** A failed system call, with Node's usual errno fields. */
export class FdPassError extends Error {
  readonly code: string
  readonly errno: number
  readonly syscall: string

  constructor(syscall: string, errno: number) {
    const code = ERRNO_NAMES[errno] ?? `E${errno}`
    super(`${syscall} failed: ${code}`)
    this.code = code
    this.errno = errno
    this.syscall = syscall
  }
}

const ERRNO_NAMES: Record<number, string> = {
  1: 'EPERM',
  4: 'EINTR',
  9: 'EBADF',
  11: 'EAGAIN',
  12: 'ENOMEM',
  22: 'EINVAL',
  24: 'EMFILE',
  32: 'EPIPE',
  88: 'ENOTSOCK',
  104: 'ECONNRESET',
  110: 'ETIMEDOUT',
}

interface PollFd {
  fd: number
  events: number
  revents: number
}

interface Libc {
  errno: () => number
  sendmsg: (fd: number, msg: MsgHdr, flags: number) => number | bigint
  recvmsg: (fd: number, msg: MsgHdr, flags: number) => number | bigint
  socketpair: (domain: number, type: number, protocol: number, sv: Int32Array) => number
  poll: {async: (fds: PollFd[], nfds: number, timeoutMs: number, cb: (err: unknown, n: number) => void) => void}
  fcntl: (fd: number, cmd: number, argType: 'int', arg: number) => number
  recv: (fd: number, buf: Buffer, len: number, flags: number) => number | bigint
}

let libc: Libc | undefined

function load(): Libc {
  if (libc) return libc
  const {koffi, lib} = loadLibc()
  const iovec = koffi.struct({iov_base: 'void *', iov_len: 'size_t'})
  const msghdr = koffi.struct({
    msg_name: 'void *',
    msg_namelen: 'uint32_t',
    msg_iov: koffi.pointer(iovec),
    msg_iovlen: 'size_t',
    msg_control: 'void *',
    msg_controllen: 'size_t',
    msg_flags: 'int',
  })
  const pollfd = koffi.struct({fd: 'int', events: 'short', revents: 'short'})
  // koffi types its functions loosely; these are the C prototypes declared just here.
  libc = {
    errno: () => koffi.errno(),
    sendmsg: lib.func('sendmsg', 'intptr_t', ['int', koffi.pointer(msghdr), 'int']) as Libc['sendmsg'],
    recvmsg: lib.func('recvmsg', 'intptr_t', ['int', koffi.inout(koffi.pointer(msghdr)), 'int']) as Libc['recvmsg'],
    socketpair: lib.func('socketpair', 'int', ['int', 'int', 'int', 'int *']) as Libc['socketpair'],
    poll: lib.func('poll', 'int', [koffi.pointer(pollfd), 'uint64_t', 'int']) as Libc['poll'],
    fcntl: lib.func('int fcntl(int, int, ...)') as Libc['fcntl'],
    recv: lib.func('recv', 'intptr_t', ['int', 'void *', 'size_t', 'int']) as Libc['recv'],
  }
  return libc
}

interface MsgHdr {
  msg_name: null
  msg_namelen: number
  msg_iov: Array<{iov_base: Buffer; iov_len: number}>
  msg_iovlen: number
  msg_control: Buffer | null
  msg_controllen: number
  msg_flags: number
}

/** A connected pair of AF_UNIX stream sockets, both close-on-exec. */
export function socketPair(): [number, number] {
  const {socketpair, errno} = load()
  const sv = new Int32Array([-1, -1])
  const r = socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)
  if (r < 0) throw new FdPassError('socketpair', errno())
  return [sv[0], sv[1]]
}

/**
 * One sendmsg of `data` (at least one byte) with `fds` attached, without blocking. Returns the
 * number of bytes the kernel took (the descriptors travel with the first byte), or null on
 * EAGAIN (nothing was sent). Throws FdPassError otherwise (EPIPE when the peer is gone).
 */
export function sendFdsNow(socketFd: number, data: Buffer, fds: readonly number[]): number | null {
  if (data.length === 0) throw new RangeError('sendFds needs at least one data byte to carry the descriptors')
  if (fds.length > MAX_FDS_PER_CALL) throw new RangeError(`at most ${MAX_FDS_PER_CALL} descriptors per message`)
  const {sendmsg, errno: getErrno} = load()
  let control: Buffer | null = null
  if (fds.length > 0) {
    control = Buffer.alloc(cmsgSpace(fds.length))
    control.writeBigUInt64LE(BigInt(CMSG_HDR + fds.length * 4), 0)
    control.writeInt32LE(SOL_SOCKET, 8)
    control.writeInt32LE(SCM_RIGHTS, 12)
    fds.forEach((fd, i) => control!.writeInt32LE(fd, CMSG_HDR + i * 4))
  }
  const msg: MsgHdr = {
    msg_name: null,
    msg_namelen: 0,
    msg_iov: [{iov_base: data, iov_len: data.length}],
    msg_iovlen: 1,
    msg_control: control,
    msg_controllen: control?.length ?? 0,
    msg_flags: 0,
  }
  for (;;) {
    const n = Number(sendmsg(socketFd, msg, MSG_DONTWAIT | MSG_NOSIGNAL))
    if (n >= 0) return n
    const errno = getErrno()
    if (errno === EINTR) continue
    if (errno === EAGAIN) return null
    throw new FdPassError('sendmsg', errno)
  }
}

export interface Received {
  /** The data bytes read (empty at end of file). */
  data: Buffer
  /** Descriptors that came with them, close-on-exec; the caller owns them. */
  fds: number[]
  /** The sender attached more descriptors than there was room for (the extra ones are closed). */
  truncated: boolean
}

/**
 * One recvmsg of at most `maxBytes` bytes with room for `maxFds` descriptors, without blocking:
 * null on EAGAIN. Descriptors beyond `maxFds` are closed by the kernel (truncated is then set).
 */
export function recvFdsNow(socketFd: number, maxBytes: number, maxFds = 1): Received | null {
  const {recvmsg, errno: getErrno} = load()
  const data = Buffer.alloc(maxBytes)
  const control = Buffer.alloc(cmsgSpace(Math.max(1, maxFds)))
  for (;;) {
    const msg: MsgHdr = {
      msg_name: null,
      msg_namelen: 0,
      msg_iov: [{iov_base: data, iov_len: maxBytes}],
      msg_iovlen: 1,
      msg_control: control,
      msg_controllen: control.length,
      msg_flags: 0,
    }
    const n = Number(recvmsg(socketFd, msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC))
    if (n < 0) {
      const errno = getErrno()
      if (errno === EINTR) continue
      if (errno === EAGAIN) return null
      throw new FdPassError('recvmsg', errno)
    }
    return {data: data.subarray(0, n), fds: parseRights(control, msg.msg_controllen), truncated: (msg.msg_flags & MSG_CTRUNC) !== 0}
  }
}

/** The descriptors of every SCM_RIGHTS message in a control buffer. */
function parseRights(control: Buffer, length: number): number[] {
  const fds: number[] = []
  let off = 0
  while (off + CMSG_HDR <= length) {
    const len = Number(control.readBigUInt64LE(off))
    if (len < CMSG_HDR || off + len > length) break
    if (control.readInt32LE(off + 8) === SOL_SOCKET && control.readInt32LE(off + 12) === SCM_RIGHTS) {
      for (let p = off + CMSG_HDR; p + 4 <= off + len; p += 4) fds.push(control.readInt32LE(p))
    }
    off += (len + 7) & ~7
  }
  return fds
}

/**
 * Waits until the socket is readable ('in') or writable ('out'), or has an error or hang-up, on
 * libuv's thread pool. Resolves true when ready, false on timeout.
 */
export function waitFd(fd: number, dir: 'in' | 'out', timeoutMs: number): Promise<boolean> {
  const {poll} = load()
  // POLLERR, POLLHUP and POLLNVAL are always reported: the caller's next call sees the error.
  const pfd = [{fd, events: dir === 'in' ? POLLIN : POLLOUT, revents: 0}]
  return new Promise((resolve, reject) => {
    poll.async(pfd, 1, timeoutMs, (err, n) => {
      if (err) reject(err instanceof Error ? err : new Error('poll failed'))
      else resolve(n !== 0) // ready, or -1 (EINTR...): either way the caller retries its call
    })
  })
}

function timeoutError(syscall: string): FdPassError {
  return new FdPassError(syscall, 110)
}

/**
 * Sends all of `data` with `fds` attached to its first byte, waiting while the socket is full.
 * Rejects with FdPassError (ETIMEDOUT when the peer does not read for `timeoutMs`).
 */
export async function sendFds(socketFd: number, data: Buffer, fds: readonly number[], timeoutMs = 30000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let rest = data
  let attach = fds
  while (rest.length > 0) {
    const n = sendFdsNow(socketFd, rest, attach)
    if (n === null) {
      const left = deadline - Date.now()
      if (left <= 0 || !(await waitFd(socketFd, 'out', Math.min(left, 1000)))) {
        if (Date.now() >= deadline) throw timeoutError('sendmsg')
      }
      continue
    }
    rest = rest.subarray(n)
    attach = []
  }
}

/**
 * Receives at most `maxBytes` bytes and the descriptors riding on them, waiting for the peer up to
 * `timeoutMs`. At end of file `data` is empty.
 */
export async function recvFds(socketFd: number, maxBytes = 1, maxFds = 1, timeoutMs = 30000): Promise<Received> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const r = recvFdsNow(socketFd, maxBytes, maxFds)
    if (r) return r
    const left = deadline - Date.now()
    if (left <= 0) throw timeoutError('recvmsg')
    await waitFd(socketFd, 'in', Math.min(left, 1000))
  }
}

/**
 * The bytes queued on a socket, copied into `buf` without taking them (MSG_PEEK, no descriptors:
 * those stay queued with their bytes). 0 when none are there or on error.
 */
export function peekNow(socketFd: number, buf: Buffer): number {
  const n = Number(load().recv(socketFd, buf, buf.length, MSG_PEEK | MSG_DONTWAIT))
  return n > 0 ? n : 0
}

/** How long after its first use peekSoon waits to load the native library (off a starting daemon's first answers). */
const PEEK_LOAD_DELAY_MS = 1000
let peekLoad: NodeJS.Timeout | undefined

/**
 * peekNow, but only once the native library is loaded (loading it takes several ms): until then 0,
 * and it is loaded a little later, in the background. For optimisations that can wait.
 */
export function peekSoon(socketFd: number, buf: Buffer): number {
  if (libc) return peekNow(socketFd, buf)
  peekLoad ??= setTimeout(() => load(), PEEK_LOAD_DELAY_MS).unref()
  return 0
}

/** A close-on-exec duplicate of a descriptor (fcntl F_DUPFD_CLOEXEC). */
export function dupFd(fd: number): number {
  const {fcntl, errno} = load()
  const r = fcntl(fd, F_DUPFD_CLOEXEC, 'int', 0)
  if (r < 0) throw new FdPassError('fcntl', errno())
  return r
}

/** The descriptor under a connected node:net socket (libuv's handle), or undefined (TLS, not connected). */
export function socketFd(socket: Socket): number | undefined {
  if ((socket as {encrypted?: boolean}).encrypted) return undefined
  const fd = (socket as unknown as {_handle?: {fd?: number} | null})._handle?.fd
  return typeof fd === 'number' && fd >= 0 ? fd : undefined
}

/** Closes descriptors, ignoring those already closed. */
export function closeFds(fds: Iterable<number>): void {
  for (const fd of fds) {
    try {
      closeSync(fd)
    } catch {
      // already closed
    }
  }
}
