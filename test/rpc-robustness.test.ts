// Bad input on the wire: random, truncated and oversized frames, unknown programs and procedures,
// garbage XML and a stalled half frame. Each gets an error reply or a closed connection; the
// daemon never crashes and keeps serving other clients.
import test from 'ava'
import {connect, type Socket} from 'node:net'
import {randomBytes} from 'node:crypto'
import {startDaemon, virsh, type TestDaemon} from './helpers/daemon.js'
import {buildPacket, errorStruct, FrameDecoder, MessageType, PAYLOAD_OFFSET, type Packet} from '../src/lib/rpc/message.js'
import {remote, REMOTE_PROGRAM} from '../src/lib/rpc/programs/remote.js'
import {XdrReader, XdrWriter} from '../src/lib/rpc/xdr.js'
import * as t from '../src/lib/rpc/codec.js'

let d: TestDaemon
test.before(async () => {
  d = await startDaemon()
})
test.after.always(async () => {
  await d?.stop()
})

/** A raw connection collecting every packet the daemon sends. */
function rawClient(path: string): Promise<{sock: Socket; packets: Packet[]; closed: Promise<void>; next: () => Promise<Packet>}> {
  return new Promise((resolve, reject) => {
    const sock = connect(path)
    const packets: Packet[] = []
    const waiters: Array<(p: Packet) => void> = []
    const dec = new FrameDecoder()
    const closed = new Promise<void>((r) => sock.once('close', () => r()))
    sock.on('data', (b) =>
      dec.push(b, (p) => {
        const w = waiters.shift()
        if (w) w(p)
        else packets.push(p)
      }),
    )
    sock.on('error', () => {})
    sock.once('connect', () =>
      resolve({
        sock,
        packets,
        closed,
        next: () =>
          new Promise<Packet>((res, rej) => {
            const p = packets.shift()
            if (p) return res(p)
            const waiter = (x: Packet) => {
              clearTimeout(timer)
              res(x)
            }
            // Generous: a reply comes in milliseconds, but a loaded machine may stall for seconds.
            const timer = setTimeout(() => {
              waiters.splice(waiters.indexOf(waiter), 1)
              rej(new Error('no reply within 30 s'))
            }, 30000)
            waiters.push(waiter)
          }),
      }),
    )
    sock.once('error', reject)
  })
}

function call(
  proc: number,
  serial: number,
  body: Buffer = Buffer.alloc(0),
  prog = REMOTE_PROGRAM,
  vers = 1,
  type: number = MessageType.CALL,
): Buffer {
  const head = buildPacket({prog, vers, proc, type, serial, status: 0}, t.voidType, undefined)
  const out = Buffer.concat([head, body])
  out.writeUInt32BE(out.length, 0)
  return out
}

function errorOf(p: Packet) {
  return errorStruct.dec(new XdrReader(p.buf, PAYLOAD_OFFSET))
}

async function openedClient() {
  const c = await rawClient(d.sock)
  c.sock.write(call(66, 0))
  await c.next()
  return c
}

test.serial('unknown procedure, program and version get libvirt errors', async (tt) => {
  const c = await rawClient(d.sock)
  c.sock.write(call(9999, 7))
  let p = await c.next()
  tt.is(p.serial, 7)
  tt.is(p.status, 1)
  let e = errorOf(p)
  tt.is(e.code, 39)
  tt.is(e.domain, 7)
  tt.is(e.message, 'unknown procedure: 9999')
  c.sock.write(call(-5, 8))
  tt.is(errorOf(await c.next()).message, 'unknown procedure: -5')
  c.sock.write(call(1, 9, Buffer.alloc(0), 0x12345678))
  p = await c.next()
  tt.is(p.prog, 0x12345678)
  tt.is(errorOf(p).message, `Cannot find program 305419896 version 1`)
  c.sock.write(call(1, 10, Buffer.alloc(0), REMOTE_PROGRAM, 2))
  tt.regex(errorOf(await c.next()).message ?? '', /Cannot find program .* version 2/)
  // Calls before CONNECT_OPEN.
  c.sock.write(call(3, 11))
  e = errorOf(await c.next())
  tt.is(e.message, 'internal error: hypervisor connection not open')
  // Undecodable arguments.
  c.sock.write(call(60, 12, Buffer.from([0, 0, 0])))
  e = errorOf(await c.next())
  tt.is(e.message, 'Unable to decode message payload')
  // A non-call packet on the remote program gets no reply; the next call still does.
  c.sock.write(call(3, 13, Buffer.alloc(0), REMOTE_PROGRAM, 1, MessageType.REPLY))
  c.sock.write(call(9999, 14))
  tt.is((await c.next()).serial, 14)
  c.sock.destroy()
})

test.serial('oversized and undersized length words close the connection', async (tt) => {
  for (const len of [0, 3, 27, 33554437, 0xffffffff]) {
    const c = await rawClient(d.sock)
    const b = Buffer.alloc(8)
    b.writeUInt32BE(len, 0)
    c.sock.write(b)
    await c.closed
    tt.pass()
  }
  tt.is((await virsh(d.uri('test'), ['list'])).code, 0)
})

test.serial('garbage XML gets an XML error, the daemon lives on', async (tt) => {
  const c = await openedClient()
  const open = Buffer.concat([call(1, 1).subarray(0, 28), t.encode(remote.procs.CONNECT_OPEN.args, {name: 'test:///default', flags: 0})])
  open.writeUInt32BE(open.length, 0)
  c.sock.write(open)
  tt.is((await c.next()).status, 0)
  const garbage = [
    '',
    '<',
    '<domain',
    "<domain type='test'><name>x</name></domain>",
    '\u0000\u0001\u0002',
    '<domain type="test"><name>&bogus;</name></domain>',
    randomBytes(512).toString('latin1'),
  ]
  let serial = 100
  for (const xml of garbage) {
    const pkt = Buffer.concat([call(11, serial).subarray(0, 28), t.encode(remote.procs.DOMAIN_DEFINE_XML.args, {xml})])
    pkt.writeUInt32BE(pkt.length, 0)
    c.sock.write(pkt)
    const p = await c.next()
    tt.is(p.serial, serial)
    tt.is(p.status, 1, `xml ${JSON.stringify(xml.slice(0, 20))} was accepted`)
    const e = errorOf(p)
    tt.true([21, 22, 27, 35, 1, 16].includes(e.code), `code ${e.code}: ${e.message}`)
    serial++
  }
  c.sock.destroy()
})

test.serial('1,000 random, truncated and corrupted frames never crash the daemon', async (tt) => {
  const valid = [
    call(66, 0),
    call(60, 1, t.encode(t.int, 10)),
    call(3, 2),
    call(273, 3, t.encode(remote.procs.CONNECT_LIST_ALL_DOMAINS.args, {need_results: 1, flags: 3})),
  ]
  const clients = await Promise.all(Array.from({length: 10}, () => rawClient(d.sock)))
  for (let i = 0; i < 1000; i++) {
    const c = clients[i % clients.length]
    if (c.sock.destroyed) {
      clients[i % clients.length] = await rawClient(d.sock)
      continue
    }
    const kind = i % 4
    let frame: Buffer
    if (kind === 0) frame = randomBytes(1 + Math.floor(Math.random() * 200))
    else if (kind === 1) {
      const v = valid[i % valid.length]
      frame = v.subarray(0, Math.floor(Math.random() * v.length))
    } else if (kind === 2) {
      frame = Buffer.from(valid[i % valid.length])
      for (let k = 0; k < 3; k++) frame[4 + Math.floor(Math.random() * (frame.length - 4))] = Math.floor(Math.random() * 256)
    } else {
      // A plausible header with a random payload.
      const body = randomBytes(Math.floor(Math.random() * 64))
      frame = call(Math.floor(Math.random() * 450), i, body)
    }
    c.sock.write(frame)
  }
  await new Promise((r) => setTimeout(r, 500))
  for (const c of clients) c.sock.destroy()
  // Still alive and serving.
  process.kill(d.pid, 0)
  const r = await virsh(d.uri('test'), ['list', '--all'])
  tt.is(r.code, 0, r.stderr)
  tt.regex(r.stdout, /test\s+running/)
})

test.serial('a client that sends half a frame and stalls does not block others', async (tt) => {
  const staller = await rawClient(d.sock)
  const half = call(66, 0).subarray(0, 14)
  staller.sock.write(half)
  const big = Buffer.alloc(8)
  big.writeUInt32BE(1024 * 1024, 0) // announces 1 MiB, sends 8 bytes
  const staller2 = await rawClient(d.sock)
  staller2.sock.write(big)
  const started = Date.now()
  const r = await virsh(d.uri('test'), ['list', '--all'])
  tt.is(r.code, 0, r.stderr)
  // A few hundred ms normally; a blocked daemon would never answer (virsh would hit its 60 s timeout).
  tt.true(Date.now() - started < 30000)
  staller.sock.destroy()
  staller2.sock.destroy()
})

test.serial('read-only denials name the API family the procedure table gives', async (tt) => {
  const c = await rawClient(d.sockRo)
  const P = remote.procs
  const open = Buffer.concat([call(P.CONNECT_OPEN.num, 1).subarray(0, 28), t.encode(P.CONNECT_OPEN.args, {name: 'test:///default', flags: 0})])
  open.writeUInt32BE(open.length, 0)
  c.sock.write(call(P.AUTH_LIST.num, 0))
  c.sock.write(open)
  await c.next()
  tt.is((await c.next()).status, 0)
  const cases: Array<[number, number, string]> = [
    [P.DOMAIN_DEFINE_XML.num, 20, 'virDomainDefineXML'],
    [P.NETWORK_DEFINE_XML.num, 19, 'virNetworkDefineXML'],
    [P.STORAGE_POOL_CREATE_XML.num, 18, 'virStoragePoolCreateXML'],
    [P.SECRET_DEFINE_XML.num, 30, 'virSecretDefineXML'],
  ]
  let serial = 10
  for (const [proc, domain, api] of cases) {
    c.sock.write(call(proc, serial++))
    const e = errorOf(await c.next())
    tt.is(e.code, 29)
    tt.is(e.domain, domain, api)
    tt.is(e.message, `operation forbidden: read only access prevents ${api}`)
  }
  c.sock.destroy()
})

test.serial("flags are read as libvirt's XDR decoder reads them: any non-zero word is true", async (tt) => {
  // go-libvirt sends CONNECT_OPEN's "name present" flag as 0x01000000.
  const c = await rawClient(d.sock)
  c.sock.write(call(66, 1))
  tt.is((await c.next()).status, 0)
  const w = new XdrWriter()
  w.uint(0x01000000)
  t.nonnullString.enc(w, 'test:///default')
  w.uint(0)
  c.sock.write(call(remote.procs.CONNECT_OPEN.num, 2, w.buf.subarray(0, w.pos)))
  const p = await c.next()
  tt.is(p.status, 0, p.status === 0 ? '' : (errorOf(p).message ?? ''))
  c.sock.write(call(remote.procs.CONNECT_GET_TYPE.num, 3))
  const r = await c.next()
  tt.is(r.status, 0)
  tt.is(t.nonnullString.dec(new XdrReader(r.buf, PAYLOAD_OFFSET)), 'TEST')
  c.sock.destroy()
})

test.serial('every procedure number 1..450 gets a reply, never a dropped connection', async (tt) => {
  let c = await openedTestClient()
  const unanswered: number[] = []
  for (let proc = 1; proc <= 450; proc++) {
    c.sock.write(call(proc, proc))
    const p = await c.next().catch(() => undefined)
    if (p?.serial !== proc || (p.status !== 0 && p.status !== 1)) unanswered.push(proc)
    // CONNECT_CLOSE answers, then closes, as libvirt does: go on with a new connection.
    if (proc === remote.procs.CONNECT_CLOSE.num) {
      await c.closed
      c = await openedTestClient()
    }
  }
  tt.deepEqual(unanswered, [])
  c.sock.write(call(remote.procs.CONNECT_GET_TYPE.num, 1000))
  tt.is((await c.next()).status, 0)
  c.sock.destroy()
})

async function openedTestClient() {
  const c = await rawClient(d.sock)
  c.sock.write(call(66, 0))
  await c.next()
  const w = new XdrWriter()
  w.uint(1) // name present
  t.nonnullString.enc(w, 'test:///default')
  w.uint(0)
  c.sock.write(call(remote.procs.CONNECT_OPEN.num, 0, w.buf.subarray(0, w.pos)))
  const opened = await c.next()
  if (opened.status !== 0) throw new Error(`CONNECT_OPEN failed: ${errorOf(opened).message ?? ''}`)
  return c
}
