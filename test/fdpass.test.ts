/**
 * SCM_RIGHTS through src/lib/os/fdpass.ts on real sockets: a descriptor sent over a socket pair is
 * a working descriptor of the same open file on the other side; EAGAIN on a full socket waits
 * instead of failing; descriptors beyond the receiver's room are reported, not leaked.
 */
import test from 'ava'
import {closeSync, fstatSync, mkdtempSync, openSync, readSync, rmSync, writeSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {closeFds, recvFds, recvFdsNow, sendFds, sendFdsNow, socketPair} from '../src/lib/os/fdpass.js'

const dir = mkdtempSync(join(tmpdir(), 'vctl-fdpass-'))
test.after.always(() => rmSync(dir, {recursive: true, force: true}))

/** The close-on-exec bit of a descriptor, from /proc/self/fdinfo (flags are octal; O_CLOEXEC = 02000000). */
function cloexec(fd: number): boolean {
  const info = readFdInfo(fd)
  const m = /^flags:\s+([0-7]+)/m.exec(info)
  return m !== null && (Number.parseInt(m[1], 8) & 0o2000000) !== 0
}

function readFdInfo(fd: number): string {
  const f = openSync(`/proc/self/fdinfo/${fd}`, 'r')
  try {
    const buf = Buffer.alloc(4096)
    return buf.subarray(0, readSync(f, buf)).toString()
  } finally {
    closeSync(f)
  }
}

test('a socket pair carries bytes both ways and is close-on-exec', (t) => {
  const [a, b] = socketPair()
  t.teardown(() => closeFds([a, b]))
  t.true(cloexec(a) && cloexec(b))
  t.is(writeSync(a, 'ping'), 4)
  const buf = Buffer.alloc(8)
  t.is(readSync(b, buf), 4)
  t.is(buf.subarray(0, 4).toString(), 'ping')
  t.is(writeSync(b, 'pong'), 4)
  t.is(readSync(a, buf), 4)
  t.is(buf.subarray(0, 4).toString(), 'pong')
})

test('a descriptor sent is the same open file on the other side, close-on-exec', async (t) => {
  const [a, b] = socketPair()
  const file = join(dir, 'shared')
  const fd = openSync(file, 'w+')
  t.teardown(() => closeFds([a, b, fd]))
  t.is(sendFdsNow(a, Buffer.from([0]), [fd]), 1)
  const got = await recvFds(b, 1, 1)
  t.deepEqual([...got.data], [0])
  t.is(got.fds.length, 1)
  t.false(got.truncated)
  const copy = got.fds[0]
  t.teardown(() => closeFds([copy]))
  t.not(copy, fd)
  t.true(cloexec(copy))
  t.is(fstatSync(copy).ino, fstatSync(fd).ino)
  // Same open file description: a write through the copy moves the original's offset.
  writeSync(copy, 'hello')
  writeSync(fd, ' world')
  const buf = Buffer.alloc(32)
  t.is(readSync(fd, buf, 0, 32, 0), 11)
  t.is(buf.subarray(0, 11).toString(), 'hello world')
})

test('several descriptors in one message arrive in order; the data bytes beside them too', async (t) => {
  const [a, b] = socketPair()
  const [p1, p2] = socketPair()
  t.teardown(() => closeFds([a, b, p1, p2]))
  await sendFds(a, Buffer.from('xyz'), [p1, p2, p1])
  const got = await recvFds(b, 16, 4)
  t.is(got.data.toString(), 'xyz')
  t.is(got.fds.length, 3)
  t.teardown(() => closeFds(got.fds))
  // got[0] and got[2] are p1: writing into them shows up on p2.
  writeSync(got.fds[0], 'A')
  writeSync(got.fds[2], 'B')
  const buf = Buffer.alloc(4)
  t.is(readSync(p2, buf), 2)
  t.is(buf.subarray(0, 2).toString(), 'AB')
})

test('descriptors beyond the room the receiver gives are closed and reported as truncated', async (t) => {
  const [a, b] = socketPair()
  const fds = [openSync('/dev/null', 'r'), openSync('/dev/null', 'r'), openSync('/dev/null', 'r')]
  t.teardown(() => closeFds([a, b, ...fds]))
  await sendFds(a, Buffer.from([0]), fds)
  const got = await recvFds(b, 1, 1)
  t.true(got.truncated)
  t.true(got.fds.length <= 2) // the control buffer is 8-byte aligned: room for 2 ints, never 3
  closeFds(got.fds)
})

test('recvFdsNow answers null when nothing is there; recvFds waits for the sender', async (t) => {
  const [a, b] = socketPair()
  t.teardown(() => closeFds([a, b]))
  t.is(recvFdsNow(b, 1), null)
  const pending = recvFds(b, 1, 1, 30000)
  const started = Date.now()
  setTimeout(() => sendFdsNow(a, Buffer.from([7]), [a]), 100)
  const got = await pending
  t.true(Date.now() - started >= 90)
  t.deepEqual([...got.data], [7])
  t.is(got.fds.length, 1)
  closeFds(got.fds)
})

test('recvFds gives up after its timeout; end of file is empty data', async (t) => {
  const [a, b] = socketPair()
  t.teardown(() => closeFds([b]))
  await t.throwsAsync(recvFds(b, 1, 1, 200), {message: /recvmsg failed: ETIMEDOUT/})
  closeFds([a])
  const eof = await recvFds(b, 1, 1, 30000)
  t.is(eof.data.length, 0)
  t.deepEqual(eof.fds, [])
})

test('a full socket: sendFdsNow says null (EAGAIN), sendFds waits until the peer reads', async (t) => {
  const [a, b] = socketPair()
  t.teardown(() => closeFds([a, b]))
  const chunk = Buffer.alloc(65536, 1)
  let filled = 0
  while (sendFdsNow(a, chunk, []) !== null) filled++
  t.true(filled > 0)
  t.is(sendFdsNow(a, Buffer.from([0]), [a]), null)
  const sending = sendFds(a, Buffer.from([9]), [a], 30000)
  // Drain the socket in the background; the descriptor arrives after the filler bytes.
  const buf = Buffer.alloc(65536)
  let r = await recvFds(b, buf.length, 1, 30000)
  while (r.fds.length === 0) r = await recvFds(b, buf.length, 1, 30000)
  const fds = r.fds
  const last = r.data[r.data.length - 1]
  await sending
  t.is(fds.length, 1)
  t.is(last, 9)
  closeFds(fds)
})

test('sending to a closed peer fails with EPIPE, not a signal', (t) => {
  const [a, b] = socketPair()
  closeFds([b])
  t.teardown(() => closeFds([a]))
  t.throws(() => sendFdsNow(a, Buffer.from([0]), [a]), {message: /sendmsg failed: EPIPE/})
})
