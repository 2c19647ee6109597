/**
 * SASL as libvirt's daemons do it, with the real virsh (cyrus-sasl's SCRAM client) and vctl's
 * client: SCRAM-SHA-256 on a UNIX socket and over TLS with credentials from auth.conf; wrong
 * password, unknown user and a user outside sasl_allowed_username_list refused with libvirt's
 * error; no SCRAM on plain TCP (no SSF of 56: DIGEST-MD5 is offered there, see
 * sasl-digest.test.ts); a stalled and a garbage client do not disturb the others.
 */
import test from 'ava'
import {existsSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {freePort, run, startDaemon, tempRoot, vctl, waitFor, type TestDaemon} from './helpers/daemon.js'
import {CLIENT_EXT, SERVER_EXT, issue, makeCa} from './helpers/pki.js'
import {RpcClient} from '../src/lib/rpc/client.js'
import {remote} from '../src/lib/rpc/programs/remote.js'
import {VirError} from '../src/lib/errors.js'

const STALL_MS = 3000
let d: TestDaemon
let root: string
let pki: string
let tcpPort: number
let tlsPort: number

const authConf = (user: string, password: string): string => {
  const f = join(root, `auth-${user}-${password}.conf`)
  // Written once: tests running at once must not see it truncated by a rewrite.
  if (!existsSync(f)) writeFileSync(f, `[credentials-c]\nauthname=${user}\npassword=${password}\n\n[auth-libvirt-default]\ncredentials=c\n`)
  return f
}
const virshAs = (file: string, uri: string, args: string[]) =>
  run('virsh', ['-c', uri, ...args], {env: {LC_ALL: 'C', LIBVIRT_AUTH_FILE: file}, timeout: 30000})
const vctlAs = (file: string, uri: string, args: string[]) => vctl([...args, '-c', uri], {env: {LIBVIRT_AUTH_FILE: file}})
const unixUri = () => `test+unix:///default?socket=${d.sock}`
const tlsUri = () => `test+tls://localhost:${tlsPort}/default?pkipath=${pki}`

test.before(async () => {
  root = tempRoot('vctl-sasl-')
  pki = join(root, 'pki')
  await makeCa(pki)
  await issue(pki, 'server', '/O=vctl/CN=localhost', SERVER_EXT)
  await issue(pki, 'client', '/O=vctl/CN=client1', CLIENT_EXT)
  tcpPort = await freePort()
  tlsPort = await freePort()
  for (const [u, p] of [
    ['fred', 'secret1'],
    ['admin2', 'pw2'],
    ['mallory', 'pw3'],
  ]) {
    const r = await run('sh', ['-c', `printf '%s\\n' "$PW" | "$NODE" "$BIN" sasl passwd "$U" --root "$ROOT"`], {
      env: {PW: p, NODE: process.execPath, BIN: join(import.meta.dirname, '../bin/run.js'), U: u, ROOT: root},
    })
    if (r.code !== 0) throw new Error(r.stderr)
  }
  const conf = join(root, 'sasl.conf')
  writeFileSync(
    conf,
    [
      'auth_unix_rw = "sasl"',
      'auth_tls = "sasl"',
      'listen_tcp = 1',
      'listen_tls = 1',
      `tcp_port = "${tcpPort}"`,
      `tls_port = "${tlsPort}"`,
      'listen_addr = "127.0.0.1"',
      `ca_file = "${pki}/cacert.pem"`,
      `cert_file = "${pki}/servercert.pem"`,
      `key_file = "${pki}/serverkey.pem"`,
      'sasl_allowed_username_list = ["fred", "adm*"]',
      '',
    ].join('\n'),
  )
  process.env.VCTL_SASL_TIMEOUT_MS = String(STALL_MS)
  d = await startDaemon(['-f', conf, '--listen'], {root})
})

test.after.always(async () => {
  await d?.stop()
})

test('vctl sasl keeps SCRAM keys only, in a 0600 file', async (t) => {
  const path = join(root, 'etc/libvirt/sasl-users.json')
  t.is(statSync(path).mode & 0o777, 0o600)
  const text = (await run('cat', [path])).stdout
  t.false(text.includes('secret1'))
  t.regex(text, /"storedKey"/)
  const list = await vctl(['sasl', 'list', '--root', root, '--json'])
  t.deepEqual(
    (JSON.parse(list.stdout) as Array<{user: string}>).map((u) => u.user),
    ['fred', 'admin2', 'mallory'],
  )
})

test('virsh authenticates with SCRAM on the UNIX socket and over TLS, credentials from auth.conf', async (t) => {
  const ok = authConf('fred', 'secret1')
  for (const uri of [unixUri(), tlsUri()]) {
    const r = await virshAs(ok, uri, ['list', '--all'])
    t.is(r.code, 0, `${uri}: ${r.stderr}`)
    t.regex(r.stdout, /test\s+running/)
  }
  // A glob of sasl_allowed_username_list admits admin2.
  const r = await virshAs(authConf('admin2', 'pw2'), tlsUri(), ['domstate', 'test'])
  t.is(r.stdout.trim(), 'running', r.stderr)
})

test('wrong password, unknown user, user not allowed: libvirt error', async (t) => {
  for (const [u, p] of [
    ['fred', 'nope'],
    ['nobody', 'secret1'],
    ['mallory', 'pw3'],
  ]) {
    const r = await virshAs(authConf(u, p), unixUri(), ['list'])
    t.not(r.code, 0, `${u} accepted`)
    t.regex(r.stderr, /error: authentication failed: authentication failed/, `${u}: ${r.stderr}`)
    const v = await vctlAs(authConf(u, p), unixUri(), ['domain', 'list'])
    t.not(v.code, 0)
    t.regex(v.stderr, /authentication failed/)
  }
})

test('plain TCP: no SCRAM without an SSF of 56, as libvirtd; DIGEST-MD5 only', async (t) => {
  const rpc = await RpcClient.connect({host: '127.0.0.1', port: tcpPort}, [remote])
  t.deepEqual((await rpc.call(remote, remote.procs.AUTH_LIST, undefined)).types, [1])
  t.is((await rpc.call(remote, remote.procs.AUTH_SASL_INIT, undefined)).mechlist, 'DIGEST-MD5')
  const err = await t.throwsAsync(
    rpc.call(remote, remote.procs.AUTH_SASL_START, {mech: 'SCRAM-SHA-256', nil: 0, data: Buffer.from('n,,n=fred,r=abcdef')}),
  )
  t.true(err instanceof VirError)
  t.is(err instanceof VirError ? err.code : undefined, 45)
  t.is(err?.message, 'authentication failed: authentication failed')
  rpc.destroy()
})

test('vctl client authenticates with SCRAM-SHA-256 (UNIX and TLS)', async (t) => {
  const ok = authConf('fred', 'secret1')
  for (const uri of [unixUri(), tlsUri()]) {
    const r = await vctlAs(ok, uri, ['domain', 'list', '--json'])
    t.is(r.code, 0, r.stderr)
    t.regex(r.stdout, /"test"/)
  }
})

test('calls before authentication are refused; garbage and stalled clients do not disturb others', async (t) => {
  const stalled = await RpcClient.connect({path: d.sock}, [remote])
  const garbage = await RpcClient.connect({path: d.sock}, [remote])
  const e1 = await t.throwsAsync(stalled.call(remote, remote.procs.CONNECT_GET_HOSTNAME, undefined))
  t.is(e1?.message, 'authentication required')
  t.is((await stalled.call(remote, remote.procs.AUTH_SASL_INIT, undefined)).mechlist, 'SCRAM-SHA-256,SCRAM-SHA-1')
  // Starts, then never answers the server's challenge.
  const first = await stalled.call(remote, remote.procs.AUTH_SASL_START, {mech: 'SCRAM-SHA-256', nil: 0, data: Buffer.from('n,,n=fred,r=abcdef')})
  t.is(first.complete, 0)
  t.regex(first.data.toString(), /^r=abcdef[^,]+,s=[^,]+,i=4096$/)
  // Garbage instead of a SCRAM message, and an unknown mechanism.
  await garbage.call(remote, remote.procs.AUTH_SASL_INIT, undefined)
  const e2 = await t.throwsAsync(
    garbage.call(remote, remote.procs.AUTH_SASL_START, {mech: 'SCRAM-SHA-256', nil: 0, data: Buffer.from([0xff, 0, 1, 2])}),
  )
  t.is(e2?.message, 'authentication failed: authentication failed')
  await garbage.call(remote, remote.procs.AUTH_SASL_INIT, undefined)
  const e3 = await t.throwsAsync(garbage.call(remote, remote.procs.AUTH_SASL_START, {mech: 'PLAIN', nil: 0, data: Buffer.from('\0fred\0secret1')}))
  t.is(e3?.message, 'authentication failed: authentication failed')
  const e4 = await t.throwsAsync(garbage.call(remote, remote.procs.AUTH_SASL_STEP, {nil: 0, data: Buffer.from('junk')}))
  t.is(e4?.message, 'authentication failed: authentication failed')
  // Others are served meanwhile.
  const r = await virshAs(authConf('fred', 'secret1'), unixUri(), ['domstate', 'test'])
  t.is(r.stdout.trim(), 'running', r.stderr)
  // The stalled and the garbage client are dropped once the auth timeout has passed.
  await waitFor('stalled client dropped', () => stalled.isClosed && garbage.isClosed, STALL_MS + 20000)
  t.true(stalled.isClosed)
  stalled.destroy()
  garbage.destroy()
})
