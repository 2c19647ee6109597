/**
 * SASL on plain TCP as the real virsh negotiates it: DIGEST-MD5 with qop auth-conf (cyrus picks
 * rc4), every byte after authentication wrapped by the security layer. vctl's libvirtd and Debian's
 * real libvirtd 9.0 (run privately: its own /etc/libvirt and /etc/sasl2 with mech_list digest-md5
 * and a sasldb made by saslpasswd2) get the same inputs side by side: listing, frames bigger than
 * maxbuf both ways, the refusals, vctl's own client, and a client that sends garbage after
 * authenticating (dropped, others served).
 */
import test from 'ava'
import {spawn} from 'node:child_process'
import {existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {freePort, isRunning, run, startDaemon, tempRoot, vctl, waitExit, waitFor, type TestDaemon} from './helpers/daemon.js'
import {requireRealLibvirtd} from './helpers/real-libvirtd.js'
import {RpcClient} from '../src/lib/rpc/client.js'
import {remote} from '../src/lib/rpc/programs/remote.js'
import {saslAuthenticate} from '../src/lib/rpc/sasl/client.js'
import {DigestClient} from '../src/lib/rpc/sasl/digest-md5.js'
import type {Cipher} from '../src/lib/rpc/sasl/layer.js'
import {VirError} from '../src/lib/errors.js'

const USERS: Array<[string, string]> = [
  ['fred', 'secret1'],
  ['admin2', 'pw2'],
  ['mallory', 'pw3'],
  ['legacy', 'pw4'],
]
const ALLOWED = 'sasl_allowed_username_list = ["fred", "adm*", "legacy"]'
/** vctl's auth timeout in this test (libvirtd has none of its own here). */
const STALL_MS = 3000

interface Target {
  name: string
  port: number
  stop: () => Promise<void>
  log: () => string
}

let root: string
let vd: TestDaemon
const targets: Target[] = []

const authConf = (user: string, password: string): string => {
  const f = join(root, `auth-${user}-${password}.conf`)
  // Written once: tests running at once must not see it truncated by a rewrite.
  if (!existsSync(f)) writeFileSync(f, `[credentials-c]\nauthname=${user}\npassword=${password}\n\n[auth-libvirt-default]\ncredentials=c\n`)
  return f
}
const uriOf = (t: Target) => `test+tcp://127.0.0.1:${t.port}/default`
const virshAs = (file: string, t: Target, args: string[]) =>
  run('virsh', ['-c', uriOf(t), ...args], {env: {LC_ALL: 'C', LIBVIRT_AUTH_FILE: file}, timeout: 60000})

async function startVctl(): Promise<Target> {
  for (const [u, p] of USERS) {
    const r = await run('sh', ['-c', `printf '%s\\n' "$PW" | "$NODE" "$BIN" sasl passwd "$U" --root "$ROOT"`], {
      env: {PW: p, NODE: process.execPath, BIN: join(import.meta.dirname, '../bin/run.js'), U: u, ROOT: root},
    })
    if (r.code !== 0) throw new Error(r.stderr)
  }
  // 'legacy' as a user whose password was set before vctl kept DIGEST-MD5 keys.
  const dbPath = join(root, 'etc/libvirt/sasl-users.json')
  const db = JSON.parse(readFileSync(dbPath, 'utf8')) as {users: Record<string, Record<string, unknown>>}
  delete db.users.legacy['DIGEST-MD5']
  writeFileSync(dbPath, JSON.stringify(db), {mode: 0o600})
  const port = await freePort()
  const conf = join(root, 'digest.conf')
  writeFileSync(
    conf,
    ['listen_tcp = 1', 'listen_tls = 0', `tcp_port = "${port}"`, 'listen_addr = "127.0.0.1"', 'log_level = 1', ALLOWED, ''].join('\n'),
  )
  process.env.VCTL_SASL_TIMEOUT_MS = String(STALL_MS)
  vd = await startDaemon(['-f', conf, '--listen'], {root})
  return {name: 'vctl', port, stop: () => vd.stop(), log: () => readFileSync(join(root, 'var/log/libvirt/libvirtd.log'), 'utf8')}
}

/** Debian's libvirtd with SASL on TCP, in a private mount namespace (its /etc/sasl2 too). */
async function startReal(): Promise<Target> {
  const base = tempRoot('vctl-digest-real-')
  for (const x of ['etc', 'run', 'lib', 'log', 'cache', 'sasl2']) mkdirSync(join(base, x), {recursive: true})
  const port = await freePort()
  writeFileSync(
    join(base, 'etc/libvirtd.conf'),
    [
      'listen_tcp = 1',
      'listen_tls = 0',
      `tcp_port = "${port}"`,
      'listen_addr = "127.0.0.1"',
      'auth_tcp = "sasl"',
      'auth_unix_rw = "none"',
      ALLOWED,
      '',
    ].join('\n'),
  )
  writeFileSync(join(base, 'sasl2/libvirt.conf'), 'mech_list: digest-md5\nsasldb_path: /etc/libvirt/passwd.db\n')
  for (const [u, p] of USERS.filter(([u]) => u !== 'legacy')) {
    const r = await run('sh', ['-c', `printf '%s' "$PW" | saslpasswd2 -p -c -a libvirt -f "$DB" "$U"`], {
      env: {PW: p, U: u, DB: join(base, 'etc/passwd.db')},
    })
    if (r.code !== 0) throw new Error(r.stderr)
  }
  const mounts = [
    'etc:/etc/libvirt',
    'run:/run/libvirt',
    'lib:/var/lib/libvirt',
    'log:/var/log/libvirt',
    'cache:/var/cache/libvirt',
    'sasl2:/etc/sasl2',
  ]
  const script = join(base, 'start.sh')
  writeFileSync(
    script,
    [
      'mkdir -p /run/libvirt /var/lib/libvirt /var/log/libvirt /var/cache/libvirt',
      ...mounts.map((m) => `mount --bind ${base}/${m.split(':')[0]} ${m.split(':')[1]}`),
      `exec /usr/sbin/libvirtd --listen -p ${base}/libvirtd.pid 2>${base}/stderr.log`,
    ].join('\n'),
  )
  const child = spawn('unshare', ['-m', '--propagation', 'private', 'sh', script], {stdio: 'ignore', detached: true})
  child.unref()
  const pid = child.pid
  const target: Target = {
    name: 'libvirtd',
    port,
    log: () => readFileSync(join(base, 'stderr.log'), 'utf8'),
    async stop() {
      if (pid !== undefined && isRunning(pid)) {
        process.kill(pid, 'SIGTERM')
        if (!(await waitExit(pid, 10000))) process.kill(pid, 'SIGKILL')
      }
      await run('rm', ['-rf', base])
    },
  }
  try {
    await waitFor('real libvirtd socket', () => existsSync(join(base, 'run/libvirt-sock')), 60000)
    await waitFor('real libvirtd on TCP', async () => (await virshAs(authConf('fred', 'secret1'), target, ['uri'])).code === 0, 60000)
  } catch (err) {
    await target.stop()
    throw err
  }
  return target
}

test.before(async () => {
  root = tempRoot('vctl-sasl-digest-')
  targets.push(await startVctl())
  requireRealLibvirtd()
  targets.push(await startReal())
})

test.after.always(async () => {
  for (const t of targets) await t.stop()
})

/** An RPC client authenticated with DIGEST-MD5 over TCP (vctl's client side). */
async function digestClient(t: Target, cipher?: Cipher, password = 'secret1'): Promise<RpcClient> {
  const rpc = await RpcClient.connect({host: '127.0.0.1', port: t.port}, [remote])
  try {
    await rpc.call(remote, remote.procs.AUTH_LIST, undefined)
    const mech = await saslAuthenticate(
      (def, args) => rpc.call(remote, def, args),
      () => Promise.resolve({authname: 'fred', password}),
      {host: '127.0.0.1', secure: false, cipher, setLayer: (l) => rpc.setSecurityLayer(l)},
    )
    if (mech !== 'DIGEST-MD5') throw new Error(`mechanism ${mech}`)
    await rpc.call(remote, remote.procs.CONNECT_OPEN, {name: 'test:///default', flags: 0})
  } catch (err) {
    rpc.destroy()
    throw err
  }
  return rpc
}

test.serial('the real virsh lists guests over plain TCP with DIGEST-MD5 auth-conf, credentials from auth.conf', async (t) => {
  const ok = authConf('fred', 'secret1')
  for (const target of targets) {
    const r = await virshAs(ok, target, ['list', '--all'])
    t.is(r.code, 0, `${target.name}: ${r.stderr}`)
    t.regex(r.stdout, /1\s+test\s+running/, target.name)
    // The acceptance line's URI: the QEMU driver over qemu+tcp.
    const q = await run('virsh', ['-c', `qemu+tcp://127.0.0.1:${target.port}/system`, 'list', '--all'], {
      env: {LC_ALL: 'C', LIBVIRT_AUTH_FILE: ok},
      timeout: 60000,
    })
    t.is(q.code, 0, `${target.name}: ${q.stderr}`)
    t.regex(q.stdout, /^ Id\s+Name\s+State\n-+\n/, target.name)
    // A glob of sasl_allowed_username_list admits admin2.
    const a = await virshAs(authConf('admin2', 'pw2'), target, ['domstate', 'test'])
    t.is(a.stdout.trim(), 'running', `${target.name}: ${a.stderr}`)
  }
  t.regex(targets[0].log(), /SASL: authenticated 'fred' \(SSF 128\)/)
})

test.serial('frames bigger than maxbuf (65536) both ways: define and dumpxml of a 300 kB domain', async (t) => {
  const ok = authConf('fred', 'secret1')
  const desc = 'd'.repeat(300000)
  const file = join(root, 'big.xml')
  writeFileSync(
    file,
    `<domain type='test'><name>big</name><description>${desc}</description><memory>131072</memory><vcpu>1</vcpu><os><type>hvm</type></os></domain>`,
  )
  for (const target of targets) {
    // One virsh session: libvirtd's test:///default state lives only as long as a connection uses it.
    const r = await virshAs(ok, target, [`define ${file}; dumpxml big; list --all --name; undefine big`])
    t.is(r.code, 0, `${target.name}: ${r.stderr}`)
    t.true(r.stdout.includes(`<description>${desc}</description>`), target.name)
    t.true(/\ntest\nbig\n/.test(r.stdout), `${target.name}: list --all --name`)
    t.true(r.stdout.includes("Domain 'big' has been undefined"), target.name)
  }
})

test.serial('wrong password, unknown user, user not allowed: refused with libvirt error, on both', async (t) => {
  for (const [u, p] of [
    ['fred', 'nope'],
    ['nobody', 'secret1'],
    ['mallory', 'pw3'],
  ]) {
    for (const target of targets) {
      const r = await virshAs(authConf(u, p), target, ['list'])
      t.not(r.code, 0, `${target.name} accepted ${u}`)
      t.is(r.stderr.trim(), 'error: failed to connect to the hypervisor\nerror: authentication failed: authentication failed', `${target.name} ${u}`)
    }
  }
  const v = await vctl(['domain', 'list', '-c', uriOf(targets[0])], {env: {LIBVIRT_AUTH_FILE: authConf('fred', 'nope')}})
  t.not(v.code, 0)
  t.regex(v.stderr, /authentication failed/)
})

test.serial('a user whose password predates DIGEST-MD5 keys is refused, and the log says to set it again', async (t) => {
  const list = await vctl(['sasl', 'list', '--root', root])
  t.regex(list.stdout, /^fred\n(.*\n)*legacy \(no DIGEST-MD5 key, so no plain TCP: set the password again\)\n/)
  const r = await virshAs(authConf('legacy', 'pw4'), targets[0], ['list'])
  t.not(r.code, 0)
  t.regex(r.stderr, /authentication failed: authentication failed/)
  t.regex(targets[0].log(), /user 'legacy' has no DIGEST-MD5 key .*set it again with 'vctl sasl passwd legacy'/)
})

test("vctl's client: DIGEST-MD5 over TCP with auth.conf, and each cipher through the layer", async (t) => {
  const ok = authConf('fred', 'secret1')
  for (const target of targets) {
    const r = await vctl(['domain', 'list', '--json', '-c', uriOf(target)], {env: {LIBVIRT_AUTH_FILE: ok}})
    t.is(r.code, 0, `${target.name}: ${r.stderr}`)
    t.regex(r.stdout, /"test"/)
  }
  // Debian's cyrus cannot initialise 3des ("couldn't init cipher '3des'"), so that one against vctl only.
  for (const target of targets) {
    for (const cipher of target.name === 'vctl' ? (['rc4', 'rc4-56', '3des'] as const) : (['rc4', 'rc4-56'] as const)) {
      const rpc = await digestClient(target, cipher)
      t.is((await rpc.call(remote, remote.procs.CONNECT_IS_SECURE, undefined)).secure, 1, `${target.name} ${cipher}`)
      const caps = await rpc.call(remote, remote.procs.CONNECT_GET_CAPABILITIES, undefined)
      t.regex(caps.capabilities, /<capabilities>/)
      rpc.destroy()
    }
  }
})

test.serial('qop auth (no security layer) on plain TCP is refused: SSF below 56', async (t) => {
  for (const target of targets) {
    const rpc = await RpcClient.connect({host: '127.0.0.1', port: target.port}, [remote])
    t.is((await rpc.call(remote, remote.procs.AUTH_SASL_INIT, undefined)).mechlist, 'DIGEST-MD5')
    const ch = await rpc.call(remote, remote.procs.AUTH_SASL_START, {mech: 'DIGEST-MD5', nil: 1, data: Buffer.alloc(0)})
    const challenge = ch.data.toString()
    t.regex(challenge, /qop="auth-conf",cipher="rc4-56,rc4,3des",maxbuf=65536,charset=utf-8,algorithm=md5-sess$/, target.name)
    const resp = new DigestClient({service: 'libvirt', host: '127.0.0.1', user: 'fred', password: 'secret1', minSsf: 0}).response(
      challenge.replace('qop="auth-conf"', 'qop="auth"'),
    )
    const err = await t.throwsAsync(rpc.call(remote, remote.procs.AUTH_SASL_STEP, {nil: 0, data: Buffer.from(resp)}))
    t.true(err instanceof VirError, target.name)
    t.is(err?.message, 'authentication failed: authentication failed', target.name)
    rpc.destroy()
  }
})

test.serial('a client sending garbage or an altered unit after authenticating is dropped; others are served', async (t) => {
  const ok = authConf('fred', 'secret1')
  for (const target of targets) {
    const garbage = await digestClient(target)
    const altered = await digestClient(target)
    // Not a unit of the layer (its length word says 0xffffffff), and a unit with a flipped byte.
    garbage.socket.write(Buffer.alloc(64, 0xff))
    const w = startAltered(altered)
    await waitFor(`${target.name} drops both`, () => garbage.isClosed && altered.isClosed, 20000)
    t.true(w, target.name)
    const r = await virshAs(ok, target, ['domstate', 'test'])
    t.is(r.stdout.trim(), 'running', `${target.name}: ${r.stderr}`)
    garbage.destroy()
    altered.destroy()
  }
  t.regex(targets[0].log(), /SASL unit of \d+ bytes \(at most 65536\); dropping connection/)
  t.regex(targets[0].log(), /SASL unit with a bad MAC; dropping connection/)
})

/** Writes a properly wrapped call with one ciphertext byte flipped, straight to the socket. */
function startAltered(rpc: RpcClient): boolean {
  const sock = rpc.socket
  const write = sock.write.bind(sock)
  let done = false
  // The layer wraps inside RpcClient.write; catch its output on the way out and flip a byte.
  sock.write = (chunk: Buffer) => {
    if (!done && Buffer.isBuffer(chunk) && chunk.length > 12) {
      done = true
      chunk = Buffer.from(chunk)
      chunk[8] ^= 0x40
    }
    return write(chunk)
  }
  rpc.call(remote, remote.procs.CONNECT_GET_HOSTNAME, undefined).catch(() => undefined)
  return done
}

test.serial('a client that stalls after the DIGEST-MD5 challenge is dropped at the auth timeout; others are served', async (t) => {
  const target = targets[0]
  const stalled = await RpcClient.connect({host: '127.0.0.1', port: target.port}, [remote])
  await stalled.call(remote, remote.procs.AUTH_SASL_INIT, undefined)
  const ch = await stalled.call(remote, remote.procs.AUTH_SASL_START, {mech: 'DIGEST-MD5', nil: 1, data: Buffer.alloc(0)})
  t.is(ch.complete, 0)
  const r = await virshAs(authConf('fred', 'secret1'), target, ['domstate', 'test'])
  t.is(r.stdout.trim(), 'running', r.stderr)
  await waitFor('stalled client dropped', () => stalled.isClosed, STALL_MS + 20000)
  const dropped = new RegExp(`SASL: no authentication within ${STALL_MS} ms: disconnecting`)
  // The daemon's log comes through a pipe: the line may arrive a little after the close.
  await waitFor('the disconnect to be logged', () => dropped.test(target.log()), 30000).catch(() => undefined)
  t.regex(target.log(), dropped)
  stalled.destroy()
  // Authenticated connections are not subject to the timeout.
  const rpc = await digestClient(target)
  await new Promise((res) => setTimeout(res, STALL_MS + 500))
  t.is((await rpc.call(remote, remote.procs.CONNECT_GET_HOSTNAME, undefined)).hostname.length > 0, true)
  rpc.destroy()
})
