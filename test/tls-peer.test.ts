// The chain check used when OpenSSL's only objection to a client certificate is its purpose, and
// libvirt's certificate rules on openssl-made certificates.
import test, {type ExecutionContext} from 'ava'
import {X509Certificate} from 'node:crypto'
import {copyFileSync, mkdirSync, readFileSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import {tempRoot} from './helpers/daemon.js'
import {CLIENT_EXT, issue, makeCa} from './helpers/pki.js'
import {checkClientCertificate, parseCaBundle, verifyChainIgnoringPurpose} from '../src/lib/daemon/tls-peer.js'

function scratch(t: ExecutionContext, prefix: string): string {
  const dir = tempRoot(prefix)
  t.teardown(() => rmSync(dir, {recursive: true, force: true}))
  return dir
}

const cert = (dir: string, who: string) => new X509Certificate(readFileSync(join(dir, `${who}cert.pem`)))

test('chain check without purpose: through a sent intermediate to the trusted CA, and nothing else', async (t) => {
  const root = scratch(t, 'vctl-tlspeer-')
  const ca = join(root, 'ca')
  await makeCa(ca, 'ec')
  await issue(ca, 'inter', '/CN=intermediate', 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign\n', {key: 'ec'})
  // The intermediate issues the leaf: make it the CA of a second directory.
  const sub = join(root, 'sub')
  mkdirSync(sub)
  copyFileSync(join(ca, 'intercert.pem'), join(sub, 'cacert.pem'))
  copyFileSync(join(ca, 'interkey.pem'), join(sub, 'cakey.pem'))
  await issue(sub, 'leaf', '/CN=leaf', `basicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\n`, {key: 'ec'})
  const notCa = join(root, 'notca')
  await makeCa(notCa, 'ec')
  await issue(notCa, 'fake', '/CN=intermediate', CLIENT_EXT, {key: 'ec'})

  const trusted = parseCaBundle(readFileSync(join(ca, 'cacert.pem')))
  const leaf = cert(sub, 'leaf')
  const inter = cert(ca, 'inter')
  t.true(verifyChainIgnoringPurpose(leaf, [inter], trusted))
  t.false(verifyChainIgnoringPurpose(leaf, [], trusted), 'the intermediate is needed')
  t.false(verifyChainIgnoringPurpose(leaf, [inter], parseCaBundle(readFileSync(join(notCa, 'cacert.pem')))), 'another CA')
  t.false(verifyChainIgnoringPurpose(leaf, [inter], trusted, Date.now() + 10 * 86400e3), 'expired')
  // A certificate whose issuer is not a CA cannot extend the chain.
  t.false(verifyChainIgnoringPurpose(cert(notCa, 'fake'), [], trusted))
  // A bundle of several CAs: any of them anchors the chain.
  const both = parseCaBundle([readFileSync(join(notCa, 'cacert.pem')), readFileSync(join(ca, 'cacert.pem'))])
  t.is(both.length, 2)
  t.true(verifyChainIgnoringPurpose(leaf, [inter], both))
})

test("libvirt's rules on a client certificate", async (t) => {
  const dir = scratch(t, 'vctl-tlsrules-')
  await makeCa(dir, 'ec')
  const rules: [string, string, boolean, RegExp | undefined][] = [
    ['ok', CLIENT_EXT, true, undefined],
    ['ca', 'basicConstraints=critical,CA:TRUE\n', false, /basic constraints show a CA/],
    ['nosig', 'keyUsage=critical,keyEncipherment\n', false, /does not permit digital signature/],
    ['nosig_nc', 'keyUsage=keyEncipherment\n', true, /does not permit digital signature/],
    ['server', 'extendedKeyUsage=critical,serverAuth\n', false, /purpose does not allow/],
    ['server_nc', 'extendedKeyUsage=serverAuth\n', true, /purpose does not allow/],
    ['both', 'extendedKeyUsage=critical,serverAuth,clientAuth\n', true, undefined],
    ['email', 'extendedKeyUsage=critical,emailProtection\n', true, undefined],
  ]
  for (const [who, ext, ok, msg] of rules) {
    await issue(dir, `r-${who}`, '/O=Acme/CN=x', ext, {key: 'ec'})
    const v = checkClientCertificate(cert(dir, `r-${who}`).raw, ['O=Acme,CN=*'])
    t.is(v.ok, ok, who)
    const text = v.ok ? v.warnings.join('\n') : v.reason
    if (msg) t.regex(text, msg, who)
    else t.is(text, '', who)
  }
  const refused = checkClientCertificate(cert(dir, 'r-ok').raw, ['O=Other,CN=*'])
  t.false(refused.ok)
  t.regex(refused.ok ? '' : refused.reason, /'O=Acme,CN=x' is not on the list/)
})
