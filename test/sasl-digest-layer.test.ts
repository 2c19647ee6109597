/**
 * DIGEST-MD5 and its security layer without a daemon: a known-answer check against an exchange of
 * the real virsh (cyrus-sasl 2.1.28) with Debian's libvirtd 9.0 over plain TCP (qop auth-conf,
 * cipher rc4: the response, rspauth and the first wrapped units byte for byte), round trips for
 * every cipher and auth-int, and the refusals (wrong password, replayed or altered units, bad
 * directives).
 */
import test from 'ava'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {DigestClient, DigestError, DigestServer, parseDirectives, userRealmHash, type DigestServerOptions} from '../src/lib/rpc/sasl/digest-md5.js'
import {LayerError, type Cipher, type SecurityLayer} from '../src/lib/rpc/sasl/layer.js'
import {lookupDigest, setPassword} from '../src/lib/rpc/sasl/userdb.js'

// Captured from `virsh -c test+tcp://127.0.0.1:PORT/default list --all` against the real libvirtd
// (host name "vm", sasldb user fred / secret1, mech_list: digest-md5).
const NONCE = 'Sex5hJ4qS5fckalrWG6oZmk2B57/qBUvyBNjjltiQqw='
const CNONCE = '6zu+gGO5APIP6bohCH5I9QC0c06jynvr2Q4PGBy9AZs='
const CHALLENGE = `nonce="${NONCE}",realm="vm",qop="auth-conf",cipher="rc4-56,rc4,3des",maxbuf=65536,charset=utf-8,algorithm=md5-sess`
const RESPONSE =
  `username="fred",realm="vm",nonce="${NONCE}",cnonce="${CNONCE}",nc=00000001,qop=auth-conf,cipher=rc4,maxbuf=65536,` +
  'digest-uri="libvirt/127.0.0.1",response=1a09eb8088b3e024a58fe9d589f508e6'
const RSPAUTH = 'rspauth=3b8c3d6923492a44969bf0575a5c6270'
const C2S = [
  '00000030b5ca07c27c0dc5c72cf564c1bcd19ec134e33578c341fa51271bfa656abd797c4afd2a5b6f4bea21bf94000100000000',
  '00000048e3881522a5a0e333ccefb760ba15f90191e42862327d6df57da19bfd42eee9514ad188717b8271945d4b04c35cc5c2165abc856ec0fb68b444d1f477b9be9d019eb3000100000001',
].map((h) => Buffer.from(h, 'hex'))
const S2C = [
  '0000003060176cab9a695525548abbb21cd3b3ca8ac2263e7683d2777050eac22f88fd67235f079908dc10bd61cb000100000000',
  '0000002c41d732241003d3c74db4762b35c87045e798e12e69b5c84eb4d98a63e081a2431a2a0a2ea007000100000001',
].map((h) => Buffer.from(h, 'hex'))

const serverOpts = (o: Partial<DigestServerOptions> = {}): DigestServerOptions => ({
  service: 'libvirt',
  realm: 'vm',
  qops: ['auth-conf'],
  ciphers: ['rc4-56', 'rc4', '3des'],
  lookup: (user, realm) => (user === 'fred' ? userRealmHash(user, realm, 'secret1') : undefined),
  ...o,
})

test('known answer: cyrus-sasl and libvirtd 9.0 on plain TCP (rc4)', (t) => {
  const server = new DigestServer(serverOpts({nonce: NONCE}))
  t.is(server.challenge(), CHALLENGE)
  const r = server.response(RESPONSE)
  t.is(r.out, RSPAUTH)
  t.is(r.user, 'fred')
  t.is(r.ssf, 128)
  const layer = r.layer
  if (!layer) return t.fail('no security layer')
  // virsh's first two calls, CONNECT_SUPPORTS_FEATURE (60) and CONNECT_OPEN (1), fed in odd pieces.
  const wire = Buffer.concat(C2S)
  const plain: Buffer[] = []
  for (let i = 0; i < wire.length; i += 7) plain.push(layer.unwrap(wire.subarray(i, i + 7)))
  const calls = Buffer.concat(plain)
  t.is(calls.length, 32 + 56)
  t.is(calls.readUInt32BE(4), 0x20008086)
  t.is(calls.readInt32BE(12), 60)
  t.is(calls.readInt32BE(32 + 12), 1) // CONNECT_OPEN
  // The client's layer (same cnonce) reads libvirtd's replies; ours then wraps them byte for byte alike.
  const client = new DigestClient({service: 'libvirt', host: '127.0.0.1', user: 'fred', password: 'secret1', minSsf: 56}, CNONCE)
  t.is(parseDirectives(client.response(CHALLENGE)).get('response'), '1a09eb8088b3e024a58fe9d589f508e6')
  const c = client.verify(RSPAUTH)
  const replies = S2C.map((u) => c.layer?.unwrap(u) ?? Buffer.alloc(0))
  t.deepEqual(
    replies.map((p) => layer.wrap(p)),
    S2C,
  )
})

function pair(
  cipher: Cipher | undefined,
  qops: DigestServerOptions['qops'] = ['auth-conf'],
  minSsf = 56,
): {s: SecurityLayer; c: SecurityLayer; ssf: number} {
  const server = new DigestServer(serverOpts({qops, ciphers: ['rc4-40', 'rc4-56', 'rc4', '3des']}))
  const client = new DigestClient({service: 'libvirt', host: 'h', user: 'fred', password: 'secret1', minSsf, cipher})
  const r = server.response(client.response(server.challenge()))
  const v = client.verify(r.out)
  if (!r.layer || !v.layer) throw new Error('no layer')
  if (v.ssf !== r.ssf) throw new Error('SSFs differ')
  return {s: r.layer, c: v.layer, ssf: v.ssf}
}

for (const [cipher, ssf] of [
  ['rc4', 128],
  ['rc4-56', 56],
  ['rc4-40', 40],
  ['3des', 112],
] as const) {
  test(`round trip, ${cipher}: SSF ${ssf}, big messages split to fit maxbuf, both directions`, (t) => {
    const {s, c, ssf: got} = pair(cipher, ['auth-conf'], 0)
    t.is(got, ssf)
    for (let n = 0; n < 5; n++) {
      const msg = Buffer.alloc([1, 7, 8, 200000, 65520][n], n + 1)
      const wire = c.wrap(msg)
      // Every unit fits the peer's maxbuf (65536).
      for (let off = 0; off < wire.length; off += 4 + wire.readUInt32BE(off)) t.true(wire.readUInt32BE(off) <= 65536)
      t.deepEqual(s.unwrap(wire), msg)
      t.deepEqual(c.unwrap(s.wrap(msg)), msg)
    }
  })
}

test('auth-int: the message travels in clear with its MAC, SSF 1', (t) => {
  const {s, c, ssf} = pair(undefined, ['auth-int'], 1)
  t.is(ssf, 1)
  const wire = c.wrap(Buffer.from('hello'))
  t.is(wire.subarray(4, 9).toString(), 'hello')
  t.is(s.unwrap(wire).toString(), 'hello')
})

test('altered, replayed, oversized and badly padded units are refused', (t) => {
  for (const cipher of ['rc4', '3des'] as const) {
    const {s, c} = pair(cipher)
    const good = c.wrap(Buffer.from('x'.repeat(40)))
    const bad = Buffer.from(good)
    bad[10] ^= 1
    t.throws(() => s.unwrap(bad), {instanceOf: LayerError}, cipher)
  }
  const {s, c} = pair('rc4')
  const unit = c.wrap(Buffer.from('one'))
  t.is(s.unwrap(unit).toString(), 'one')
  t.throws(() => s.unwrap(unit), {instanceOf: LayerError, message: /out of sequence/})
  const huge = Buffer.alloc(8)
  huge.writeUInt32BE(65537)
  t.throws(() => pair('rc4').s.unwrap(huge), {instanceOf: LayerError, message: /65537 bytes/})
  const des = pair('3des')
  const body = des.c.wrap(Buffer.from('abc')).subarray(5) // one byte of ciphertext less
  const head = Buffer.alloc(4)
  head.writeUInt32BE(body.length)
  t.throws(() => des.s.unwrap(Buffer.concat([head, body])), {instanceOf: LayerError, message: /cipher blocks/})
})

test('server refusals: wrong password, unknown user, what was not offered, bad directives', (t) => {
  const respond = (edit: (r: string) => string, o: Partial<DigestServerOptions> = {}, password = 'secret1', user = 'fred') => {
    const server = new DigestServer(serverOpts(o))
    const client = new DigestClient({service: 'libvirt', host: 'h', user, password, minSsf: 0, cipher: 'rc4'})
    return () => server.response(edit(client.response(server.challenge())))
  }
  const same = (r: string) => r
  t.notThrows(respond(same))
  t.throws(respond(same, {}, 'nope'), {instanceOf: DigestError, message: /wrong password/})
  t.throws(respond(same, {}, 'secret1', 'nobody'), {instanceOf: DigestError})
  t.throws(
    respond((r) => r.replace('qop=auth-conf', 'qop=auth').replace(',cipher=rc4', '')),
    {instanceOf: DigestError, message: /'auth' not offered/},
  )
  t.throws(
    respond((r) => r.replace('cipher=rc4', 'cipher=des')),
    {instanceOf: DigestError, message: /cipher 'des' not offered/},
  )
  t.throws(
    respond((r) => r.replace('nc=00000001', 'nc=00000002')),
    {instanceOf: DigestError},
  )
  t.throws(
    respond((r) => r.replace('"libvirt/h"', '"ldap/h"')),
    {instanceOf: DigestError, message: /digest-uri/},
  )
  t.throws(
    respond((r) => r.replace(/nonce="[^"]+"/, 'nonce="x"')),
    {instanceOf: DigestError, message: /nonce/},
  )
  t.throws(
    respond((r) => `${r},authzid="root"`),
    {instanceOf: DigestError, message: /authorization identity/},
  )
  t.throws(
    respond((r) => `${r},username="x"`),
    {instanceOf: DigestError, message: /repeated/},
  )
  t.throws(
    respond(() => 'garbage'),
    {instanceOf: DigestError},
  )
})

test('directives: quoted strings with escapes, spaces around commas', (t) => {
  const d = parseDirectives(' realm="a\\"b,c" , qop = auth ,maxbuf=4096')
  t.is(d.get('realm'), 'a"b,c')
  t.is(d.get('qop'), 'auth')
  t.is(d.get('maxbuf'), '4096')
})

test('user database: H(user:realm:password) per realm; a user set before DIGEST-MD5 has none', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vctl-digest-db-'))
  t.teardown(() => rmSync(dir, {recursive: true, force: true}))
  const path = join(dir, 'sasl-users.json')
  await setPassword(path, 'fred', 'secret1', ['vm', 'example.org'])
  t.deepEqual(lookupDigest(path, 'fred', 'vm'), {found: 'key', key: userRealmHash('fred', 'vm', 'secret1')})
  t.is(lookupDigest(path, 'fred', 'other').found, 'no-realm')
  t.is(lookupDigest(path, 'nobody', 'vm').found, 'no-user')
  t.false(readFileSync(path, 'utf8').includes('secret1'))
  const db = JSON.parse(readFileSync(path, 'utf8')) as {users: Record<string, Record<string, unknown>>}
  delete db.users.fred['DIGEST-MD5']
  writeFileSync(path, JSON.stringify(db))
  t.is(lookupDigest(path, 'fred', 'vm').found, 'no-digest')
})
