/**
 * Descriptors beside RPC messages, server (RpcConnection) and client (RpcClient) in one process
 * over real UNIX and TCP sockets: CALL_WITH_FDS in, REPLY_WITH_FDS out, in libvirt's layout (count
 * after the header, one sendmsg of one byte per descriptor after the packet). Pipelined calls
 * with and without descriptors keep their order; a sender that is slow with its descriptors is
 * waited for; a peer that breaks the protocol is dropped; nothing leaks.
 */
import test from 'ava'
import {closeSync, fstatSync, mkdtempSync, openSync, readdirSync, rmSync, statSync} from 'node:fs'
import {createServer, connect, type Server, type Socket} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import * as t from '../src/lib/rpc/codec.js'
import {defineProgram, proc} from '../src/lib/rpc/program.js'
import {HandlerTable, RpcConnection} from '../src/lib/rpc/server.js'
import {RpcClient} from '../src/lib/rpc/client.js'
import {WithFds} from '../src/lib/rpc/fd-writer.js'
import {MessageStatus, MessageType, finishPacket, startPacket} from '../src/lib/rpc/message.js'
import {closeFds, sendFdsNow, socketFd} from '../src/lib/os/fdpass.js'
import {waitFor} from './helpers/daemon.js'

const open = {preOpen: true, preAuth: true}
const prog = defineProgram('FDTEST', 0x7e57fd00, 1, {
  /** Returns the inode of each descriptor received (and keeps none). */
  INODES: proc(1, t.struct({tag: t.uint}), t.struct({tag: t.uint, inodes: t.array(t.uint, 64)}), open),
  /** Returns `n` descriptors of /dev/null beside the reply. */
  GIVE: proc(2, t.struct({n: t.uint}), t.struct({n: t.uint}), open),
  /** Echoes a number (no descriptors). */
  ECHO: proc(3, t.struct({v: t.uint}), t.struct({v: t.uint}), open),
})

const dir = mkdtempSync(join(tmpdir(), 'vctl-fdrpc-'))
test.after.always(() => rmSync(dir, {recursive: true, force: true}))
let nextSock = 0
const openFdCount = () => readdirSync('/proc/self/fd').length

interface Served {
  server: Server
  path: string
  conns: RpcConnection[]
}

async function serve(tcp = false): Promise<Served & {port?: number}> {
  const handlers = new HandlerTable()
  handlers.on(prog.procs.INODES, (conn, {tag}) => {
    const fds = conn.takeFds()
    try {
      return {tag, inodes: fds.map((fd) => fstatSync(fd).ino)}
    } finally {
      closeFds(fds)
    }
  })
  handlers.on(prog.procs.GIVE, async (_conn, {n}) => {
    await new Promise((r) => setTimeout(r, 1))
    return new WithFds(
      {n},
      Array.from({length: n}, () => openSync('/dev/null', 'r')),
    )
  })
  handlers.on(prog.procs.ECHO, (_conn, {v}) => ({v}))
  const conns: RpcConnection[] = []
  const server = createServer((socket) => {
    conns.push(
      new RpcConnection(socket, {
        programs: new Map([[prog.prog, {program: prog, handle: handlers.handle}]]),
        readonly: false,
        authenticated: true,
        keepaliveInterval: 0,
        keepaliveCount: 0,
        maxRequests: 64,
        busyPollUs: 100,
      }),
    )
  })
  const path = join(dir, `s${nextSock++}`)
  await new Promise<void>((resolve) => (tcp ? server.listen(0, '127.0.0.1', resolve) : server.listen(path, resolve)))
  const addr = server.address()
  return {server, path, conns, port: typeof addr === 'object' && addr ? addr.port : undefined}
}

test.serial('descriptors go out with a call and come back with a reply, on a UNIX socket', async (tt) => {
  const s = await serve()
  const c = await RpcClient.connect({path: s.path}, [prog])
  tt.teardown(() => {
    c.destroy()
    s.server.close()
  })
  tt.true(c.canPassFds)
  const file = openSync(join(dir, 'a'), 'w')
  const pipeEnds = [openSync('/dev/zero', 'r'), file]
  tt.teardown(() => closeFds(pipeEnds))
  const r = await c.callFds(prog, prog.procs.INODES, {tag: 7}, pipeEnds)
  tt.deepEqual(r.ret, {tag: 7, inodes: pipeEnds.map((fd) => fstatSync(fd).ino)})
  tt.deepEqual(r.fds, [])
  // The caller keeps its descriptors (the client sent copies).
  tt.notThrows(() => fstatSync(file))
  const g = await c.callFds(prog, prog.procs.GIVE, {n: 3})
  tt.deepEqual(g.ret, {n: 3})
  tt.is(g.fds.length, 3)
  const nullIno = statSync('/dev/null').ino
  for (const fd of g.fds) tt.is(fstatSync(fd).ino, nullIno)
  closeFds(g.fds)
  // A plain call to a procedure that returns descriptors: they are closed for the caller.
  const before = openFdCount()
  tt.deepEqual(await c.call(prog, prog.procs.GIVE, {n: 2}), {n: 2})
  await waitFor('the descriptors to be closed', () => openFdCount() <= before).catch(() => undefined)
  // No leak: not more descriptors than before (the test process itself may close one of its own meanwhile).
  tt.true(openFdCount() <= before, `${openFdCount()} descriptors open, ${before} before`)
})

test.serial('pipelined calls with and without descriptors keep their order; no descriptor leaks', async (tt) => {
  const s = await serve()
  const c = await RpcClient.connect({path: s.path}, [prog])
  tt.teardown(() => {
    c.destroy()
    s.server.close()
  })
  const zero = openSync('/dev/zero', 'r')
  tt.teardown(() => closeSync(zero))
  const zeroIno = fstatSync(zero).ino
  // Warm up (koffi loaded, buffers sized) before counting descriptors.
  await c.callFds(prog, prog.procs.INODES, {tag: 0}, [zero])
  const before = openFdCount()
  const calls: Array<Promise<unknown>> = []
  for (let i = 0; i < 300; i++) {
    if (i % 5 === 0)
      calls.push(
        c.callFds(
          prog,
          prog.procs.INODES,
          {tag: i},
          Array.from({length: 1 + (i % 3)}, () => zero),
        ),
      )
    else if (i % 7 === 0) calls.push(c.callFds(prog, prog.procs.GIVE, {n: 1 + (i % 2)}))
    else calls.push(c.call(prog, prog.procs.ECHO, {v: i}))
  }
  const results = await Promise.all(calls)
  results.forEach((r, i) => {
    if (i % 5 === 0) tt.deepEqual(r, {ret: {tag: i, inodes: Array.from({length: 1 + (i % 3)}, () => zeroIno)}, fds: []})
    else if (i % 7 === 0) {
      const g = r as {ret: {n: number}; fds: number[]}
      tt.is(g.fds.length, 1 + (i % 2))
      closeFds(g.fds)
    } else tt.deepEqual(r, {v: i})
  })
  // The server closes its copies once sendmsg returned, which may be just after the client got them.
  await waitFor('the descriptors to be closed', () => openFdCount() <= before).catch(() => undefined)
  // No leak: not more descriptors than before (the test process itself may close one of its own meanwhile).
  tt.true(openFdCount() <= before, `${openFdCount()} descriptors open, ${before} before`)
})

/** A raw UNIX connection to the server: packets and descriptor bytes written by hand. */
async function rawClient(path: string): Promise<{sock: Socket; fd: number}> {
  const sock = connect(path)
  await new Promise<void>((resolve) => sock.once('connect', resolve))
  return {sock, fd: socketFd(sock)!}
}

function withFdsCall(serial: number, tag: number, count: number): Buffer {
  const w = startPacket({prog: prog.prog, vers: 1, proc: 1, type: MessageType.CALL_WITH_FDS, serial, status: MessageStatus.OK})
  w.uint(count)
  w.uint(tag)
  return finishPacket(w)
}

test.serial('the server waits for descriptors that come late, then answers', async (tt) => {
  const s = await serve()
  const {sock, fd} = await rawClient(s.path)
  tt.teardown(() => {
    sock.destroy()
    s.server.close()
  })
  const replies: Buffer[] = []
  sock.on('data', (d: Buffer) => replies.push(d))
  const zero = openSync('/dev/zero', 'r')
  tt.teardown(() => closeSync(zero))
  sock.write(withFdsCall(1, 42, 2))
  await new Promise((r) => setTimeout(r, 150))
  tt.is(replies.length, 0)
  tt.is(sendFdsNow(fd, Buffer.from([0]), [zero]), 1)
  await new Promise((r) => setTimeout(r, 100))
  tt.is(replies.length, 0)
  tt.is(sendFdsNow(fd, Buffer.from([0]), [zero]), 1)
  await waitFor('the reply', () => replies.length > 0).catch(() => undefined)
  const reply = Buffer.concat(replies)
  tt.is(reply.readInt32BE(16), MessageType.REPLY)
  tt.is(reply.readInt32BE(24), MessageStatus.OK)
  tt.is(reply.readUInt32BE(28), 42)
  tt.is(reply.readUInt32BE(32), 2)
})

test.serial('a peer that announces too many descriptors, or sends a byte without one, is dropped', async (tt) => {
  const s = await serve()
  tt.teardown(() => s.server.close())
  for (const bad of ['too many', 'no descriptor'] as const) {
    const {sock, fd} = await rawClient(s.path)
    const closed = new Promise<void>((resolve) => sock.once('close', () => resolve()))
    sock.on('data', () => {})
    sock.on('error', () => {})
    if (bad === 'too many') sock.write(withFdsCall(1, 1, 33))
    else {
      sock.write(withFdsCall(1, 1, 1))
      await new Promise((r) => setTimeout(r, 50))
      sendFdsNow(fd, Buffer.from([0]), [])
    }
    const timeout = new Promise<string>((r) => setTimeout(() => r('still open'), 30000).unref())
    tt.is(await Promise.race([closed.then(() => 'closed'), timeout]), 'closed', bad)
    sock.destroy()
  }
  // The server still serves others.
  const c = await RpcClient.connect({path: s.path}, [prog])
  tt.teardown(() => c.destroy())
  tt.deepEqual(await c.call(prog, prog.procs.ECHO, {v: 5}), {v: 5})
})

test.serial('over TCP: the reply goes without its descriptors and the client refuses it, as libvirt', async (tt) => {
  const s = await serve(true)
  const c = await RpcClient.connect({host: '127.0.0.1', port: s.port!}, [prog])
  tt.teardown(() => {
    c.destroy()
    s.server.close()
  })
  tt.false(c.canPassFds)
  await tt.throwsAsync(c.callFds(prog, prog.procs.INODES, {tag: 1}, [0]), {message: 'Cannot send file descriptors over this connection'})
  await tt.throwsAsync(c.callFds(prog, prog.procs.GIVE, {n: 1}), {
    message: 'internal error: Receiving file descriptors is not supported on this socket',
  })
  tt.true(c.isClosed)
})
