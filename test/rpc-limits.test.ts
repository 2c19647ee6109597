// The daemon's limits on what one client can cost the others: a client that sends calls and
// never reads the replies is throttled (the daemon stops reading it) and costs a bounded amount
// of memory; with keepalive negotiated it is closed once it stops answering, as libvirt does;
// max_clients makes further connections wait for a slot (admin connections apart).
import test from 'ava'
import {connect, type Socket} from 'node:net'
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {run, startDaemon, tempRoot, waitFor} from './helpers/daemon.js'
import {buildPacket, FrameDecoder, MessageType} from '../src/lib/rpc/message.js'
import {remote, Feature} from '../src/lib/rpc/programs/remote.js'
import type {ProcDef} from '../src/lib/rpc/program.js'
import {RpcClient} from '../src/lib/rpc/client.js'

const P = remote.procs

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return Number(m?.[1]) / 1024
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** A raw client: sends calls, reads replies only when asked. */
class RawClient {
  readonly sock: Socket
  private serial = 0
  replies = 0
  closed = false
  private readonly decoder = new FrameDecoder()

  private constructor(sock: Socket) {
    this.sock = sock
    sock.on('error', () => {})
    sock.on('close', () => (this.closed = true))
    sock.on('data', (d: Buffer) => this.decoder.push(d, () => this.replies++))
  }

  static async open(path: string): Promise<RawClient> {
    const sock = connect(path)
    await new Promise<void>((resolve, reject) => {
      sock.once('connect', resolve)
      sock.once('error', reject)
    })
    return new RawClient(sock)
  }

  packet<A>(def: ProcDef<A, unknown>, args: A): Buffer {
    return buildPacket(
      {prog: remote.prog, vers: remote.vers, proc: def.num, type: MessageType.CALL, serial: this.serial++, status: 0},
      def.args,
      args,
    )
  }

  send<A>(def: ProcDef<A, unknown>, args: A): boolean {
    return this.sock.write(this.packet(def, args))
  }

  async waitReplies(n: number, ms: number): Promise<boolean> {
    const end = Date.now() + ms
    while (this.replies < n && Date.now() < end) await sleep(20)
    return this.replies >= n
  }

  /** AUTH_LIST, keepalive if asked, CONNECT_OPEN; then stops reading. */
  async openConnection(keepalive: boolean): Promise<void> {
    this.send(P.AUTH_LIST, undefined)
    if (keepalive) this.send(P.CONNECT_SUPPORTS_FEATURE, {feature: Feature.PROGRAM_KEEPALIVE})
    this.send(P.CONNECT_OPEN, {name: 'test:///default', flags: 0})
    if (!(await this.waitReplies(keepalive ? 3 : 2, 10000))) throw new Error('connection not opened')
    this.sock.pause()
  }

  /**
   * Writes CONNECT_GET_CAPABILITIES calls for `ms`, never reading, as fast as the socket takes
   * them; returns how many the kernel accepted.
   */
  async flood(ms: number): Promise<number> {
    const call = this.packet(P.CONNECT_GET_CAPABILITIES, undefined)
    let n = 0
    const end = Date.now() + ms
    while (Date.now() < end && !this.closed) {
      if (this.sock.write(call)) n++
      else await this.drainOr(100)
      if (n % 512 === 0) await new Promise((r) => setImmediate(r))
    }
    return n
  }

  private drainOr(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer)
        this.sock.off('drain', done)
        resolve()
      }
      const timer = setTimeout(done, ms)
      this.sock.once('drain', done)
    })
  }
}

async function timedGetVersion(path: string): Promise<number[]> {
  const c = await RpcClient.connect({path}, [remote])
  await c.call(remote, P.CONNECT_OPEN, {name: 'test:///default', flags: 0})
  const times: number[] = []
  for (let i = 0; i < 20; i++) {
    const t0 = performance.now()
    await c.call(remote, P.CONNECT_GET_VERSION, undefined)
    times.push(performance.now() - t0)
    await sleep(25)
  }
  c.close()
  return times
}

test('a client that never reads its replies is throttled in bounded memory; others are served', async (t) => {
  const d = await startDaemon()
  try {
    const flooder = await RawClient.open(d.sockRo)
    await flooder.openConnection(false)
    await sleep(300)
    const before = rssMiB(d.pid)
    const flooding = flooder.flood(4000)
    await sleep(1500)
    // Meanwhile another client is served promptly.
    const times = await timedGetVersion(d.sock)
    const calls = await flooding
    const during = rssMiB(d.pid)
    t.log(
      `flood: ${calls} calls taken, RSS ${before.toFixed(1)} -> ${during.toFixed(1)} MiB; other client's calls ${Math.max(...times).toFixed(1)} ms at most`,
    )
    // libvirtd takes ~1,000-7,000 such calls before it stops reading; unthrottled, vctl took 500,000.
    t.true(calls < 20000, `${calls} calls taken`)
    t.true(during - before < 8, `RSS grew by ${(during - before).toFixed(1)} MiB`)
    // Served promptly: typically a few ms. The bounds are far below what an unthrottled flood costs (the
    // other client's calls queued behind thousands of others, many seconds) yet hold on a loaded machine.
    const median = [...times].sort((a, b) => a - b)[times.length >> 1]
    t.true(median < 1000, `median ${median.toFixed(1)} ms`)
    t.true(Math.max(...times) < 5000)
    t.false(flooder.closed, 'without keepalive the throttled client stays connected, as with libvirtd')
    // It leaves with its replies unread: what it cost goes with it.
    flooder.sock.destroy()
    await waitFor('the RSS after the client left to be within 8 MiB of the start', () => rssMiB(d.pid) - before < 8, 30000).catch(() => undefined)
    const after = rssMiB(d.pid)
    t.true(after - before < 8, `RSS after the client left: ${after.toFixed(1)} MiB`)
    // A throttled client that starts reading again gets every reply.
    const reader = await RawClient.open(d.sockRo)
    await reader.openConnection(false)
    const n = await reader.flood(1000)
    reader.sock.resume()
    t.true(await reader.waitReplies(2 + n, 90000), `${reader.replies} of ${2 + n} replies`)
    reader.sock.destroy()
  } finally {
    await d.stop()
  }
})

test('a throttled client that negotiated keepalive is closed when it stops answering', async (t) => {
  const root = tempRoot()
  const conf = join(root, 'libvirtd.conf')
  writeFileSync(conf, 'keepalive_interval = 1\nkeepalive_count = 2\n')
  const d = await startDaemon(['-f', conf], {root})
  try {
    const flooder = await RawClient.open(d.sockRo)
    await flooder.openConnection(true)
    const t0 = Date.now()
    // Closed after about 3 s (interval 1 s, 2 unanswered probes); the flood would go on for 40 s otherwise.
    const calls = await flooder.flood(40000)
    const secs = (Date.now() - t0) / 1000
    t.log(`closed after ${secs.toFixed(1)} s, ${calls} calls taken`)
    t.true(flooder.closed)
    t.true(secs >= 1, 'not before the first unanswered probe')
    t.true(secs < 30)
  } finally {
    await d.stop()
  }
})

test('max_clients: further connections wait and are served as slots free; virt-admin still gets in', async (t) => {
  const root = tempRoot()
  const conf = join(root, 'libvirtd.conf')
  writeFileSync(conf, 'max_clients = 20\n')
  const d = await startDaemon(['-f', conf], {root})
  try {
    const clients: RawClient[] = []
    for (let i = 0; i < 50; i++) {
      const c = await RawClient.open(d.sock)
      c.send(P.AUTH_LIST, undefined)
      clients.push(c)
    }
    const answered = () => clients.filter((c) => c.replies > 0).length
    t.true((await Promise.all(clients.slice(0, 20).map((c) => c.waitReplies(1, 60000)))).every(Boolean), 'the first 20 are served')
    await sleep(500)
    t.is(answered(), 20)
    t.true(
      clients.slice(20).every((c) => !c.closed && c.replies === 0),
      'clients 21-50 wait, connected and unanswered',
    )
    // The admin server has its own limit.
    const A = `libvirtd:///system?socket=${d.sockAdmin}`
    const r = await run('virt-admin', ['-c', A, 'srv-clients-info', 'libvirtd'])
    t.is(r.code, 0, r.stderr)
    t.regex(r.stdout, /nclients_max\s+:\s+20/)
    t.regex(r.stdout, /nclients\s+:\s+20/)
    // Ten leave: ten of the waiting ones are served, in order.
    for (const c of clients.slice(0, 10)) c.sock.destroy()
    t.true((await Promise.all(clients.slice(20, 30).map((c) => c.waitReplies(1, 60000)))).every(Boolean), 'clients 21-30 are served')
    await sleep(300)
    t.is(answered(), 30)
    t.true(clients.slice(30).every((c) => c.replies === 0))
    // The rest leave: everyone is served.
    for (const c of clients.slice(10, 30)) c.sock.destroy()
    t.true((await Promise.all(clients.slice(30).map((c) => c.waitReplies(1, 60000)))).every(Boolean))
    for (const c of clients) c.sock.destroy()
  } finally {
    await d.stop()
  }
})
