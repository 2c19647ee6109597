/**
 * sd_notify(3) without a child process: one datagram on the AF_UNIX socket systemd names in
 * $NOTIFY_SOCKET (a path, or an abstract name written with a leading '@'). Node cannot send on a
 * datagram UNIX socket, so socket/sendto/close are libc's, called through koffi (see fdpass.ts).
 * Sending from the service's own process lets systemd attribute it without NotifyAccess=all, and
 * costs no fork of a large process at the moment the daemon starts serving.
 */
import {libc as loadLibc} from './libc.js'

const AF_UNIX = 1
const SOCK_DGRAM = 2
const SOCK_CLOEXEC = 0o2000000
const MSG_NOSIGNAL = 0x4000
/** sizeof(struct sockaddr_un): sa_family_t, then sun_path[108]. */
const SOCKADDR_UN = 110

interface NotifyLibc {
  errno: () => number
  socket: (domain: number, type: number, protocol: number) => number
  sendto: (fd: number, buf: Buffer, len: number, flags: number, addr: Buffer, addrlen: number) => number | bigint
  close: (fd: number) => number
}

let libc: NotifyLibc | undefined

function load(): NotifyLibc {
  if (libc) return libc
  const {koffi, lib} = loadLibc()
  // koffi types its functions loosely; these are the C prototypes declared just here.
  libc = {
    errno: () => koffi.errno(),
    socket: lib.func('socket', 'int', ['int', 'int', 'int']) as NotifyLibc['socket'],
    sendto: lib.func('sendto', 'intptr_t', ['int', 'void *', 'size_t', 'int', 'void *', 'uint32_t']) as NotifyLibc['sendto'],
    close: lib.func('close', 'int', ['int']) as NotifyLibc['close'],
  }
  return libc
}

/** struct sockaddr_un for $NOTIFY_SOCKET, and its length; undefined for a name that does not fit. */
export function notifyAddress(name: string): {addr: Buffer; len: number} | undefined {
  const abstract = name.startsWith('@')
  if (!abstract && !name.startsWith('/')) return undefined
  const path = Buffer.from(abstract ? name.slice(1) : name)
  // A path needs its terminating NUL within sun_path; an abstract name starts with a NUL instead.
  if (path.length + 1 > SOCKADDR_UN - 2) return undefined
  const addr = Buffer.alloc(SOCKADDR_UN)
  addr.writeUInt16LE(AF_UNIX, 0)
  path.copy(addr, abstract ? 3 : 2)
  return {addr, len: abstract ? 3 + path.length : 2 + path.length + 1}
}

/** Sends `state` (e.g. "READY=1\nSTATUS=serving") to systemd; throws when it cannot. */
export function sdNotify(socketName: string, state: string): void {
  const to = notifyAddress(socketName)
  if (!to) throw new Error(`NOTIFY_SOCKET '${socketName}' is not a UNIX socket address`)
  const {socket, sendto, close, errno} = load()
  const fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)
  if (fd < 0) throw new Error(`socket() failed: errno ${errno()}`)
  try {
    const msg = Buffer.from(state)
    const n = Number(sendto(fd, msg, msg.length, MSG_NOSIGNAL, to.addr, to.len))
    if (n < 0) throw new Error(`sendto(${socketName}) failed: errno ${errno()}`)
  } finally {
    close(fd)
  }
}
