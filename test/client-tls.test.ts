// Where vctl's TLS client looks for its PKI files, and what it says when one is missing.
import test from 'ava'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {clientPkiPaths, loadClientCredentials} from '../src/lib/client/tls.js'
import {scratchDir} from './helpers/daemon.js'
import {VirError} from '../src/lib/errors.js'
import {parseUri} from '../src/lib/uri.js'

test('PKI paths: ?pkipath, /etc/pki as root, ~/.pki/libvirt otherwise', (t) => {
  t.deepEqual(clientPkiPaths(parseUri('qemu+tls://h/system?pkipath=/p'), {}, true), {
    ca: '/p/cacert.pem',
    cert: '/p/clientcert.pem',
    key: '/p/clientkey.pem',
  })
  t.deepEqual(clientPkiPaths(parseUri('qemu+tls://h/system'), {}, true), {
    ca: '/etc/pki/CA/cacert.pem',
    cert: '/etc/pki/libvirt/clientcert.pem',
    key: '/etc/pki/libvirt/private/clientkey.pem',
  })
  t.is(clientPkiPaths(parseUri('qemu+tls://h/system'), {HOME: '/home/u'}, false).ca, '/home/u/.pki/libvirt/cacert.pem')
})

test('a missing CA certificate fails with libvirt error and the path; a missing client certificate is noted', (t) => {
  const dir = scratchDir('vctl-pki-')
  const pki = {ca: join(dir, 'cacert.pem'), cert: join(dir, 'clientcert.pem'), key: join(dir, 'clientkey.pem')}
  const err = t.throws(() => loadClientCredentials(pki), {instanceOf: VirError})
  t.is(err?.message, `Cannot read CA certificate '${pki.ca}': No such file or directory`)
  t.is(err?.code, 38)
  writeFileSync(pki.ca, 'ca')
  const noCert = loadClientCredentials(pki)
  t.is(noCert.cert, undefined)
  t.is(noCert.noClientCert, `client certificate '${pki.cert}': No such file or directory`)
  writeFileSync(pki.cert, 'cert')
  t.is(loadClientCredentials(pki).noClientCert, `client key '${pki.key}': No such file or directory`)
  writeFileSync(pki.key, 'key')
  const all = loadClientCredentials(pki)
  t.is(all.noClientCert, undefined)
  t.is(all.key?.toString(), 'key')
})
