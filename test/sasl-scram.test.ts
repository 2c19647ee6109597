// SCRAM both sides against RFC 7677's test vector and each other; libvirt's glob matching of
// sasl_allowed_username_list; auth.conf lookup; the ssh command line libvirt's client builds.
import test from 'ava'
import {ScramClient, ScramServer, scramSecret, ScramError} from '../src/lib/rpc/sasl/scram.js'
import {globMatch, mechanismsFor} from '../src/lib/daemon/auth-sasl.js'
import {lookupCredential} from '../src/lib/client/auth-conf.js'
import {sshArgs} from '../src/lib/client/ssh-transport.js'
import {parseUri} from '../src/lib/uri.js'

const SALT = Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64')
const SERVER_FIRST = 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096'

test('SCRAM-SHA-256 client matches RFC 7677', (t) => {
  const c = new ScramClient('sha256', 'user', 'pencil', 'rOprNGfwEbeRWgbNEkqO')
  t.is(c.first(), 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO')
  t.is(c.final(SERVER_FIRST), 'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=')
  t.notThrows(() => c.verify('v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4='))
  t.throws(() => c.verify('v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA='), {instanceOf: ScramError})
})

for (const hash of ['sha256', 'sha1'] as const) {
  test(`SCRAM ${hash}: server and client agree; a wrong password and an unknown user fail at the proof`, (t) => {
    const secret = scramSecret(hash, 'pencil', 4096, SALT)
    const run = (user: string, password: string) => {
      const server = new ScramServer(hash, (u) => (u === 'user' ? secret : undefined))
      const c = new ScramClient(hash, user, password)
      const first = server.step(Buffer.from(c.first()))
      t.regex(first.out, /,s=[^,]+,i=4096$/)
      const final = server.step(Buffer.from(c.final(first.out)))
      c.verify(final.out)
      return final.user
    }
    t.is(run('user', 'pencil'), 'user')
    t.throws(() => run('user', 'pencil2'), {instanceOf: ScramError, message: 'authentication failed'})
    t.throws(() => run('nobody', 'pencil'), {instanceOf: ScramError, message: 'authentication failed'})
  })
}

test('SCRAM server refuses malformed messages, channel binding, another authzid', (t) => {
  const server = () => new ScramServer('sha256', () => scramSecret('sha256', 'x'))
  for (const bad of ['', 'garbage', 'p=tls-unique,,n=u,r=abc', 'n,,n=u', 'n,a=other,n=u,r=abc', 'n,,n=u=XY,r=abc'])
    t.throws(() => server().step(Buffer.from(bad)), {instanceOf: ScramError}, bad)
  t.notThrows(() => server().step(Buffer.from('n,a=u,n=u,r=abc')))
  const s = server()
  s.step(Buffer.from('n,,n=u,r=abc'))
  t.throws(() => s.step(Buffer.from('c=biws,r=wrongnonce,p=AAAA')), {instanceOf: ScramError})
})

test('sasl_allowed_username_list globs as fnmatch', (t) => {
  t.true(globMatch('fred', 'fred'))
  t.false(globMatch('fred', 'fredx'))
  t.true(globMatch('adm*', 'admin2'))
  t.true(globMatch('?ob', 'bob'))
  t.true(globMatch('[bc]ob', 'cob'))
  t.false(globMatch('[!bc]ob', 'cob'))
  t.true(globMatch('a.b', 'a.b'))
  t.false(globMatch('a.b', 'axb'))
  t.true(globMatch('*@EXAMPLE.COM', 'fred@EXAMPLE.COM'))
})

test('mechanisms: SCRAM on a secure channel, only DIGEST-MD5 (SSF 56 and more) on plain TCP', (t) => {
  t.deepEqual(mechanismsFor(true), ['SCRAM-SHA-256', 'SCRAM-SHA-1'])
  t.deepEqual(mechanismsFor(false), ['DIGEST-MD5'])
})

test('auth.conf: host group, default group, credentials group', (t) => {
  const conf =
    '# c\n[credentials-a]\nauthname=fred\npassword=p1\n[credentials-b]\nauthname=bob\npassword=p2\n[auth-libvirt-h1]\ncredentials=a\n[auth-libvirt-default]\ncredentials=b\n'
  t.is(lookupCredential(conf, 'h1', 'authname'), 'fred')
  t.is(lookupCredential(conf, 'h1', 'password'), 'p1')
  t.is(lookupCredential(conf, 'other', 'authname'), 'bob')
  t.is(lookupCredential('[credentials-a]\nauthname=x\n', 'h', 'authname'), undefined)
})

test('ssh command line as libvirt builds it', (t) => {
  const args = sshArgs(parseUri('qemu+ssh://root@host:2222/system?keyfile=/k&no_verify=1&no_tty=1'), false)
  t.deepEqual(args.slice(0, -1), [
    '-p',
    '2222',
    '-l',
    'root',
    '-i',
    '/k',
    '-T',
    '-e',
    'none',
    '-o',
    'BatchMode=yes',
    '-o',
    'StrictHostKeyChecking=no',
    '--',
    'host',
  ])
  t.regex(args.at(-1)!, /^sh -c 'which virt-ssh-helper .*virt-ssh-helper 'qemu:\/\/\/system'; else.*'nc' \$ARG -U \/run\/libvirt\/libvirt-sock; fi'$/)
  t.regex(sshArgs(parseUri('qemu+ssh://h/system'), true).at(-1)!, /virt-ssh-helper -r /)
  t.regex(sshArgs(parseUri('qemu+ssh://h/system?proxy=netcat'), false).at(-1)!, /^sh -c 'if .*-U \/run\/libvirt\/libvirt-sock'$/)
  t.throws(() => sshArgs(parseUri('qemu+ssh://h/system?proxy=native&netcat=nc'), false), {message: /netcat path not valid/})
})
