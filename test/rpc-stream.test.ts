// The RPC stream layer (rpc/stream.ts, rpc/stream-client.ts) between a real RpcConnection and a real
// RpcClient over a UNIX socket: data both ways, holes, finish, abort, errors, and flow control with
// bounded buffers in both directions.
import test from 'ava'
import {createServer, connect, type Server, type Socket} from 'node:net'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {Readable} from 'node:stream'
import {randomBytes} from 'node:crypto'
import {RpcConnection, HandlerTable} from '../src/lib/rpc/server.js'
import {RpcClient} from '../src/lib/rpc/client.js'
import {defineProgram, proc} from '../src/lib/rpc/program.js'
import * as c from '../src/lib/rpc/codec.js'
import {giveFrame, openServerStream, STREAM_WINDOW, takeFrame, untilDrained, type ServerStream, type StreamChunk} from '../src/lib/rpc/stream.js'
import {pooledFrames} from '../src/lib/rpc/stream-frame.js'
import {openStream, type ClientStream} from '../src/lib/rpc/stream-client.js'
import {FrameDecoder, MessageStatus, MessageType, buildPacket, finishPacket, startPacket} from '../src/lib/rpc/message.js'
import {VirError} from '../src/lib/errors.js'
import {waitFor} from './helpers/daemon.js'
import {waitStable} from './helpers/wait-stable.js'

const prog = defineProgram('STREAMTEST', 0x5754, 1, {
  OPEN: proc(1, c.struct({mode: c.nonnullString, size: c.int}), c.voidType, {preOpen: true}),
  PING: proc(2, c.voidType, c.struct({n: c.int}), {preOpen: true}),
  STATS: proc(3, c.voidType, c.struct({maxIn: c.int, maxOut: c.int, produced: c.int, closed: c.int, aborted: c.int}), {preOpen: true}),
})

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

interface Fixture {
  path: string
  server: Server
  /** What the server saw. */
  state: {maxIn: number; maxOut: number; produced: number; closed: number; aborted: number; received: Buffer[]; finished: number; reusable: boolean[]}
  streams: ServerStream[]
}

/** An infinite source that counts what it produced. */
function infinite(state: {produced: number}): Readable {
  const chunk = Buffer.alloc(65536, 0x61)
  return new Readable({
    read() {
      state.produced += chunk.length
      this.push(chunk)
    },
  })
}

async function fixture(t: {teardown: (fn: () => void) => void}): Promise<Fixture> {
  const dir = mkdtempSync(join(tmpdir(), 'vctl-stream-'))
  const path = join(dir, 'sock')
  const fx: Fixture = {
    path,
    server: createServer(),
    state: {maxIn: 0, maxOut: 0, produced: 0, closed: 0, aborted: 0, received: [], finished: 0, reusable: []},
    streams: [],
  }
  const {state} = fx
  const handlers = new HandlerTable()
    .on(prog.procs.PING, () => ({n: 42}))
    .on(prog.procs.STATS, () => ({...state}))
    .on(prog.procs.OPEN, async (conn, args) => {
      const call = conn.currentCall
      await sleep(1) // an asynchronous handler: the stream's packets must still follow the reply
      const st = openServerStream(conn, {allowSkip: args.mode.includes('sparse')}, call)
      fx.streams.push(st)
      st.on('close', () => state.closed++)
      const watch = setInterval(() => {
        state.maxIn = Math.max(state.maxIn, st.pendingIn)
        state.maxOut = Math.max(state.maxOut, st.pendingOut)
      }, 1)
      st.on('close', () => clearInterval(watch))
      st.setConsumer({
        chunk: (ch: StreamChunk) => {
          state.maxIn = Math.max(state.maxIn, st.pendingIn)
          if (Buffer.isBuffer(ch)) state.received.push(ch)
          else state.received.push(Buffer.from(`<hole ${ch.hole}>`))
          if (args.mode.includes('slow')) return sleep(2)
        },
        finish: async () => {
          await sleep(5)
          if (args.mode.includes('badfinish')) throw new VirError(38, 38, 'could not finish')
          state.finished++
        },
        abort: () => state.aborted++,
      })
      if (args.mode.includes('download')) {
        const data = Buffer.alloc(args.size, 0x62)
        st.pipeFrom(Readable.from([data.subarray(0, args.size / 2), data.subarray(args.size / 2)]))
      }
      if (args.mode.includes('infinite')) st.pipeFrom(infinite(state))
      if (args.mode.includes('frames')) {
        // `size` bytes of 0x63 in frames of two packets, sent as fast as the socket takes them
        // (after the reply: the handler does not wait).
        void (async () => {
          let left = args.size
          while (left > 0 && !st.closed) {
            const f = takeFrame(2)
            const n = Math.min(left, f.slots[0].length * 2)
            for (const slot of f.slots) slot.fill(0x63)
            left -= n
            if (!st.sendFrame(f, n, (reusable) => state.reusable.push(reusable))) await untilDrained(st)
          }
          if (!st.closed) st.end()
        })()
      }
      if (args.mode.includes('sparse')) {
        st.write(Buffer.from('abc'))
        st.writeHole(1000000n)
        st.write(Buffer.from('def'))
        st.end()
      }
      if (args.mode.includes('fail')) {
        st.write(Buffer.from('partial'))
        setTimeout(() => st.fail(new VirError(1, 38, 'internal error: source broke')), 20)
      }
    })
  fx.server.on('connection', (socket: Socket) => {
    new RpcConnection(socket, {
      programs: new Map([[prog.prog, {program: prog, handle: handlers.handle}]]),
      readonly: false,
      authenticated: true,
      keepaliveInterval: 0,
      keepaliveCount: 0,
      maxRequests: 5,
    })
  })
  await new Promise<void>((resolve) => fx.server.listen(path, resolve))
  t.teardown(() => {
    fx.server.close()
    rmSync(dir, {recursive: true, force: true})
  })
  return fx
}

async function client(fx: Fixture, t: {teardown: (fn: () => void) => void}): Promise<RpcClient> {
  const c = await RpcClient.connect({path: fx.path}, [prog])
  t.teardown(() => c.destroy())
  return c
}

async function readAll(st: ClientStream): Promise<Buffer[]> {
  const out: Buffer[] = []
  for await (const ch of st) out.push(Buffer.isBuffer(ch) ? ch : Buffer.from(`<hole ${ch.hole}>`))
  return out
}

test('download: every byte arrives in order, then EOF; finish is confirmed', async (t) => {
  const fx = await fixture(t)
  const cl = await client(fx, t)
  const size = 3 * 1024 * 1024
  const {stream} = await openStream(cl, prog, prog.procs.OPEN, {mode: 'download', size})
  const got = Buffer.concat(await readAll(stream))
  t.is(got.length, size)
  t.true(got.equals(Buffer.alloc(size, 0x62)))
  await stream.finish()
  t.true(stream.finished)
  await waitFor('the server stream to close', () => fx.state.closed > 0, 10000)
  t.is(fx.state.closed, 1)
  t.is(fx.state.aborted, 0)
  t.is(fx.state.finished, 1)
})

test('upload with a slow consumer: data arrives whole, the daemon queues at most a window, finish waits for the consumer', async (t) => {
  const fx = await fixture(t)
  const cl = await client(fx, t)
  const {stream} = await openStream(cl, prog, prog.procs.OPEN, {mode: 'upload slow', size: 0})
  const data = randomBytes(4 * 1024 * 1024)
  for (let off = 0; off < data.length; off += 100000) await stream.write(data.subarray(off, off + 100000))
  await stream.finish()
  t.is(fx.state.finished, 1)
  t.true(Buffer.concat(fx.state.received).equals(data))
  // one window, plus at most one packet read past it
  t.true(fx.state.maxIn <= STREAM_WINDOW + 262144, `queued ${fx.state.maxIn}`)
  t.true(fx.state.maxIn > 0)
})

test('frames: the bytes of each reach the client in order; each is reusable once the socket took it, not when its stream closed first', async (t) => {
  const fx = await fixture(t)
  const cl = await client(fx, t)
  const size = 5 * 262120 + 77
  const {stream} = await openStream(cl, prog, prog.procs.OPEN, {mode: 'frames', size})
  const got = Buffer.concat(await readAll(stream))
  t.true(got.equals(Buffer.alloc(size, 0x63)))
  await stream.finish()
  t.deepEqual(fx.state.reusable, [true, true, true], 'three frames, each written whole')

  // A client that stops reading, then goes: the frames still queued on its socket are not reused.
  const other = await RpcClient.connect({path: fx.path}, [prog])
  await openStream(other, prog, prog.procs.OPEN, {mode: 'frames', size: 64 * 1024 * 1024})
  // The client stopped reading at its window: frames are queued on the daemon's side and stay there.
  await waitStable(
    'the frames queued for the client that stopped reading',
    () => fx.streams[1]?.pendingOut ?? 0,
    500,
    30000,
    (n) => n > 0,
  )
  other.destroy()
  await waitFor('the queued frames to be released', () => fx.state.reusable.slice(3).includes(false), 10000).catch(() => undefined)
  t.true(fx.state.reusable.slice(3).includes(false), 'frames dropped with the stream')
})

test('frames are kept for the next transfer, a few at most, each once', (t) => {
  const before = pooledFrames()
  const frames = Array.from({length: 10}, () => takeFrame(3))
  for (const f of frames) giveFrame(f)
  giveFrame(frames[0])
  const kept = pooledFrames()
  t.true(kept > before && kept <= 6, `${kept} frames kept`)
  const again = takeFrame(3)
  t.true(frames.includes(again), 'a frame given back serves the next transfer')
  t.false(frames.includes(takeFrame(4)), 'a frame of another size is made anew')
})

/** What the source produced once it stopped (the stream's window full): the count, steady for a second. */
const sourcePaused = (fx: Fixture) =>
  waitStable(
    'what the source produced',
    () => fx.state.produced,
    1000,
    30000,
    (n) => n > 0,
  )

test('a client that never reads: the daemon stops reading the source, keeps a bounded buffer, and serves other calls', async (t) => {
  const fx = await fixture(t)
  // A raw client: sends the OPEN call and never reads its socket.
  const sock = connect(fx.path)
  t.teardown(() => sock.destroy())
  await new Promise<void>((resolve) => sock.once('connect', () => resolve()))
  sock.pause()
  sock.write(
    buildPacket({prog: prog.prog, vers: 1, proc: 1, type: MessageType.CALL, serial: 7, status: 0}, prog.procs.OPEN.args, {mode: 'infinite', size: 0}),
  )
  // The source pauses once the window is full (the socket's buffers being full too).
  const produced = await sourcePaused(fx)
  const cl = await client(fx, t)
  const t0 = Date.now()
  t.deepEqual(await cl.call(prog, prog.procs.PING, undefined), {n: 42})
  // Answered at once (a few ms; a bound a loaded machine keeps): the stuck client holds nothing up.
  t.true(Date.now() - t0 < 5000)
  await sleep(500)
  // The source is paused: nothing more was produced; what was produced fits the window + socket buffers.
  t.is(fx.state.produced, produced)
  t.true(produced < 16 * 1024 * 1024, `produced ${produced}`)
  t.true(fx.state.maxOut <= STREAM_WINDOW + 262144 + 65536, `pending out ${fx.state.maxOut}`)
  // Once the client reads, data flows again.
  const dec = new FrameDecoder()
  let packets = 0
  sock.on('data', (d: Buffer) => dec.push(d, () => packets++))
  sock.resume()
  await waitFor('the source to produce again', () => fx.state.produced > produced && packets > 0, 30000).catch(() => undefined)
  t.true(fx.state.produced > produced)
  t.true(packets > 0)
  sock.destroy()
  await waitFor('the server stream to close', () => fx.state.closed > 0 && fx.state.aborted > 0, 10000).catch(() => undefined)
  t.is(fx.state.closed, 1)
  t.is(fx.state.aborted, 1)
})

test('a reader that stops: the client stops reading its socket at a window, and resumes', async (t) => {
  const fx = await fixture(t)
  const cl = await client(fx, t)
  const {stream} = await openStream(cl, prog, prog.procs.OPEN, {mode: 'infinite', size: 0})
  const produced = await sourcePaused(fx)
  await sleep(300)
  t.is(fx.state.produced, produced)
  t.true(produced < 16 * 1024 * 1024, `produced ${produced}`)
  let n = 0
  for (let i = 0; i < 200; i++) {
    const ch = await stream.read()
    if (Buffer.isBuffer(ch)) n += ch.length
  }
  t.true(n > 0)
  await stream.abort()
  await waitFor('the server stream to close', () => fx.state.aborted > 0 && fx.state.closed > 0, 10000).catch(() => undefined)
  t.is(fx.state.aborted, 1)
  t.is(fx.state.closed, 1)
})

test('abort: the daemon drops the stream, tells its consumer, and confirms', async (t) => {
  const fx = await fixture(t)
  const cl = await client(fx, t)
  const {stream} = await openStream(cl, prog, prog.procs.OPEN, {mode: 'upload', size: 0})
  await stream.write(Buffer.from('some data'))
  await stream.abort()
  t.is(fx.state.aborted, 1)
  t.is(fx.state.closed, 1)
  t.is(fx.state.finished, 0)
  await t.throwsAsync(stream.write(Buffer.from('x')), {message: 'stream is closed'})
  // the connection is still fine
  t.deepEqual(await cl.call(prog, prog.procs.PING, undefined), {n: 42})
})

test('the daemon fails a stream: the reader gets its error after the data sent before it', async (t) => {
  const fx = await fixture(t)
  const cl = await client(fx, t)
  const {stream} = await openStream(cl, prog, prog.procs.OPEN, {mode: 'fail', size: 0})
  t.deepEqual(await stream.read(), Buffer.from('partial'))
  const err = await t.throwsAsync(stream.read(), {instanceOf: VirError})
  t.is(err?.message, 'internal error: source broke')
  t.is(err && 'domain' in err ? err.domain : undefined, 38)
  t.is(fx.state.closed, 1)
})

test('a finish the consumer cannot complete is answered with its error', async (t) => {
  const fx = await fixture(t)
  const cl = await client(fx, t)
  const {stream} = await openStream(cl, prog, prog.procs.OPEN, {mode: 'upload badfinish', size: 0})
  await stream.write(Buffer.from('x'))
  await t.throwsAsync(stream.finish(), {message: 'could not finish'})
  t.deepEqual(await cl.call(prog, prog.procs.PING, undefined), {n: 42})
})

test('sparse streams carry holes both ways, in order with the data', async (t) => {
  const fx = await fixture(t)
  const cl = await client(fx, t)
  const {stream} = await openStream(cl, prog, prog.procs.OPEN, {mode: 'sparse', size: 0})
  const got = await readAll(stream)
  t.deepEqual(
    got.map((b) => b.toString()),
    ['abc', '<hole 1000000>', 'def'],
  )
  // and from the client (the daemon keeps the stream until we finish, even after its EOF)
  await stream.writeHole(5n)
  await stream.write(Buffer.from('x'))
  await stream.finish()
  t.deepEqual(
    fx.state.received.map((b) => b.toString()),
    ['<hole 5>', 'x'],
  )
})

test('a hole on a stream that is not sparse drops the client, as libvirtd does; stray stream packets are ignored', async (t) => {
  const fx = await fixture(t)
  const cl = await client(fx, t)
  // stray packets for no stream
  cl.sendRaw(finishPacket(startPacket({prog: prog.prog, vers: 1, proc: 1, type: MessageType.STREAM, serial: 999, status: MessageStatus.CONTINUE})))
  t.deepEqual(await cl.call(prog, prog.procs.PING, undefined), {n: 42})
  const {stream} = await openStream(cl, prog, prog.procs.OPEN, {mode: 'upload', size: 0})
  await stream.writeHole(10n)
  const err = await t.throwsAsync(stream.read())
  t.regex(err?.message ?? '', /End of file/)
  t.true(cl.isClosed)
  await waitFor('the server stream to be aborted', () => fx.state.aborted > 0, 10000).catch(() => undefined)
  t.is(fx.state.aborted, 1)
})
