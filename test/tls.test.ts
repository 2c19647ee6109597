// TLS on 16514-style listeners with real openssl certificates: virsh and vctl's client connect with
// a client certificate; one from a foreign CA, or with a DN outside tls_allowed_dn_list, is refused.
import test from 'ava'
import {writeFileSync, mkdirSync, copyFileSync} from 'node:fs'
import {join} from 'node:path'
import {run, startDaemon, tempRoot, virsh, vctl} from './helpers/daemon.js'

async function openssl(args: string[], cwd: string): Promise<void> {
  const r = await run('sh', ['-c', `cd '${cwd}' && openssl ${args.map((a) => `'${a}'`).join(' ')}`])
  if (r.code !== 0) throw new Error(`openssl ${args[0]}: ${r.stderr}`)
}

async function makeCa(dir: string): Promise<void> {
  mkdirSync(dir, {recursive: true})
  await openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'cakey.pem',
      '-out',
      'cacert.pem',
      '-days',
      '2',
      '-subj',
      '/CN=vctl test CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  )
}

async function issue(dir: string, who: string, subj: string, ext: string): Promise<void> {
  writeFileSync(join(dir, `${who}.ext`), ext)
  await openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${who}key.pem`, '-out', `${who}.csr`, '-subj', subj], dir)
  await openssl(
    [
      'x509',
      '-req',
      '-in',
      `${who}.csr`,
      '-CA',
      'cacert.pem',
      '-CAkey',
      'cakey.pem',
      '-CAcreateserial',
      '-out',
      `${who}cert.pem`,
      '-days',
      '2',
      '-extfile',
      `${who}.ext`,
    ],
    dir,
  )
}

const CLIENT_EXT = 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n'

test('TLS with client certificates, DN filtering and refusals', async (t) => {
  const root = tempRoot('vctl-tls-')
  const pki = join(root, 'pki')
  await makeCa(pki)
  await issue(
    pki,
    'server',
    '/O=vctl/CN=localhost',
    'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n',
  )
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
  const port = 30000 + Math.floor(Math.random() * 20000)
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
  t.is(JSON.parse(j.stdout).state, 'paused')
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
