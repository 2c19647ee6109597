import test from 'ava'
import {chooseUnixSocket, defaultUri, isRemote, parseUri, serverName} from '../src/lib/uri.js'
import {VirError} from '../src/lib/errors.js'

test('parses libvirt URIs', (t) => {
  const u = parseUri('qemu+ssh://root@host.example:2222/system?socket=/x/y&no_verify=1&extra=a%20b')
  t.is(u.driver, 'qemu')
  t.is(u.transport, 'ssh')
  t.is(u.user, 'root')
  t.is(u.host, 'host.example')
  t.is(u.port, 2222)
  t.is(u.path, '/system')
  t.is(u.params.get('socket'), '/x/y')
  t.is(u.params.get('extra'), 'a b')
  t.like(parseUri('test:///default'), {driver: 'test', path: '/default', host: undefined})
  t.like(parseUri('qemu+tls://[::1]/system'), {host: '::1', transport: 'tls'})
})

test('the name sent to the daemon drops transport, host and client parameters', (t) => {
  t.is(serverName(parseUri('qemu+unix:///system?socket=/run/x')), 'qemu:///system')
  t.is(serverName(parseUri('qemu+tcp://10.0.0.1/system')), 'qemu:///system')
  t.is(serverName(parseUri('test+unix:///default?socket=/s&mode=legacy')), 'test:///default')
  t.is(serverName(parseUri('qemu:///session?foo=bar')), 'qemu:///session?foo=bar')
})

test('bad URIs name what is wrong', (t) => {
  const e1 = t.throws(() => parseUri('not a uri'), {instanceOf: VirError})
  t.regex(e1.message, /cannot parse URI 'not a uri'/)
  const e2 = t.throws(() => parseUri('qemu+carrier-pigeon:///system'), {instanceOf: VirError})
  t.regex(e2.message, /unknown transport 'carrier-pigeon'/)
  const e3 = t.throws(() => parseUri('qemu+tcp://host:99999/system'), {instanceOf: VirError})
  t.regex(e3.message, /bad port '99999'/)
})

test('socket choice: modular daemon socket when it exists, else libvirt-sock', (t) => {
  const have = (paths: string[]) => (p: string) => paths.includes(p)
  const sys = {isRoot: true, root: '/r', env: {}}
  t.is(chooseUnixSocket(parseUri('qemu:///system'), {...sys, exists: have(['/r/run/libvirt/virtqemud-sock'])}).path, '/r/run/libvirt/virtqemud-sock')
  t.is(chooseUnixSocket(parseUri('qemu:///system'), {...sys, exists: have([])}).path, '/r/run/libvirt/libvirt-sock')
  t.is(
    chooseUnixSocket(parseUri('qemu:///system'), {...sys, readonly: true, exists: have(['/r/run/libvirt/virtqemud-sock-ro'])}).path,
    '/r/run/libvirt/virtqemud-sock-ro',
  )
  t.is(
    chooseUnixSocket(parseUri('secret:///system'), {...sys, exists: have(['/r/run/libvirt/virtsecretd-sock'])}).path,
    '/r/run/libvirt/virtsecretd-sock',
  )
  t.is(chooseUnixSocket(parseUri('test:///default'), {...sys, exists: have(['/r/run/libvirt/virtqemud-sock'])}).path, '/r/run/libvirt/libvirt-sock')
  t.is(
    chooseUnixSocket(parseUri('qemu:///system?mode=legacy'), {...sys, exists: have(['/r/run/libvirt/virtqemud-sock'])}).path,
    '/r/run/libvirt/libvirt-sock',
  )
  t.is(chooseUnixSocket(parseUri('qemu:///system?socket=/elsewhere'), sys).path, '/elsewhere')
  const sess = {isRoot: false, env: {XDG_RUNTIME_DIR: '/run/user/1000'}}
  t.is(
    chooseUnixSocket(parseUri('qemu:///session'), {...sess, exists: have(['/run/user/1000/libvirt/virtqemud-sock'])}).path,
    '/run/user/1000/libvirt/virtqemud-sock',
  )
  t.is(chooseUnixSocket(parseUri('qemu:///session'), {...sess, exists: have([])}).path, '/run/user/1000/libvirt/libvirt-sock')
})

test('default URI: -c, then LIBVIRT_DEFAULT_URI, then the daemon decides', (t) => {
  t.is(defaultUri('test:///default', {LIBVIRT_DEFAULT_URI: 'qemu:///system'}), 'test:///default')
  t.is(defaultUri(undefined, {LIBVIRT_DEFAULT_URI: 'qemu:///system'}), 'qemu:///system')
  t.is(defaultUri(undefined, {}), undefined)
  t.true(isRemote(parseUri('qemu+tcp://h/system')))
  t.false(isRemote(parseUri('qemu:///system')))
})
