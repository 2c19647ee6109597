// TLS on 16514-style listeners with real openssl certificates: virsh and vctl's client connect with
// a client certificate; one from a foreign CA, or with a DN outside tls_allowed_dn_list, is refused.
import test from 'ava'
import {writeFileSync, mkdirSync, copyFileSync} from 'node:fs'
import {join} from 'node:path'
import {freePort, startDaemon, scratchDir, virsh, vctl} from './helpers/daemon.js'
import {CLIENT_EXT, SERVER_EXT, issue, makeCa} from './helpers/pki.js'

test('TLS with client certificates, DN filtering and refusals', async (t) => {
  const root = scratchDir('vctl-tls-')
  const pki = join(root, 'pki')
  await makeCa(pki)
  await issue(pki, 'server', '/O=vctl/CN=localhost', SERVER_EXT)
  await issue(pki, 'client', '/O=vctl/CN=client1', CLIENT_EXT)
  // A second client directory whose certificate names a DN the daemon does not allow.
  const other = join(root, 'other')
  mkdirSync(other)
  copyFileSync(join(pki, 'cacert.pem'), join(other, 'cacert.pem'))
  copyFileSync(join(pki, 'cakey.pem'), join(other, 'cakey.pem'))
  await issue(other, 'client', '/O=elsewhere/CN=intruder', CLIENT_EXT)
  // A third with a certificate from a foreign CA.
  const foreign = join(root, 'foreign')
  await makeCa(foreign)
  await issue(foreign, 'client', '/O=vctl/CN=client2', CLIENT_EXT)
  copyFileSync(join(pki, 'cacert.pem'), join(foreign, 'cacert.pem'))
  const port = await freePort()
  const conf = join(root, 'tls.conf')
  writeFileSync(
    conf,
    `listen_tls = 1\nlisten_tcp = 0\ntls_port = "${port}"\nlisten_addr = "127.0.0.1"\nca_file = "${pki}/cacert.pem"\ncert_file = "${pki}/servercert.pem"\nkey_file = "${pki}/serverkey.pem"\ntls_allowed_dn_list = ["O=vctl,CN=*"]\n`,
  )
  const d = await startDaemon(['-f', conf, '--listen'])
  const uri = (dir: string) => `test+tls://localhost:${port}/default?pkipath=${dir}`
  let r = await virsh(uri(pki), ['list', '--all'])
  t.is(r.code, 0, r.stderr)
  t.regex(r.stdout, /test\s+running/)
  r = await virsh(uri(pki), ['suspend', 'test'])
  t.is(r.code, 0, r.stderr)
  const j = await vctl(['domain', 'state', 'test', '-c', uri(pki), '--json'])
  t.is(j.code, 0, j.stderr)
  t.is((JSON.parse(j.stdout) as {state: string}).state, 'paused')
  t.is((await virsh(uri(pki), ['resume', 'test'])).code, 0)
  for (const [what, dir] of [
    ['DN not allowed', other],
    ['foreign CA', foreign],
  ] as const) {
    r = await virsh(uri(dir), ['list'], {timeout: 20000})
    t.not(r.code, 0, `${what}: accepted`)
  }
  r = await vctl(['domain', 'list', '-c', uri(other)])
  t.not(r.code, 0)
  t.regex(r.stderr, /TLS|certificate|closed/i)
  // The daemon is still serving.
  t.is((await virsh(uri(pki), ['domstate', 'test'])).stdout.trim(), 'running')
  await d.stop()
})
