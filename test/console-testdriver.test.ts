// Screenshots and consoles on the test driver (vctl's daemon serving test:///default), compared with
// libvirt's own test driver (virsh -c test:///default, in process): the same image, MIME type and
// errors.
import test from 'ava'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {python, startDaemon, virsh, type TestDaemon} from './helpers/daemon.js'

let d: TestDaemon

test.before(async () => {
  d = await startDaemon()
})
test.after.always(async () => {
  if (d) await d.stop()
})

test('virsh screenshot: the same PNG and type as libvirt test driver gives, running or not', async (t) => {
  const ours = join(d.root, 'ours.png')
  const theirs = join(d.root, 'theirs.png')
  const a = await virsh(d.uri(), ['screenshot', 'test', ours])
  const b = await virsh('test:///default', ['screenshot', 'test', theirs])
  t.is(a.code, 0, a.stderr)
  t.is(b.code, 0, b.stderr)
  t.is(a.stdout.replace(ours, 'F'), b.stdout.replace(theirs, 'F'))
  t.regex(a.stdout, /with type of image\/png/)
  t.true(readFileSync(ours).equals(readFileSync(theirs)))
  // shut off, another screen: still the image, as libvirt's test driver does
  const c = await virsh(d.uri(), ['destroy', 'test'])
  t.is(c.code, 0, c.stderr)
  const e = await virsh(d.uri(), ['screenshot', 'test', ours, '--screen', '2'])
  t.is(e.code, 0, e.stderr)
  t.true(readFileSync(ours).equals(readFileSync(theirs)))
  // a read-only connection may not take screenshots
  const ro = await virsh(d.uri('test', true), ['screenshot', 'test', ours])
  t.regex(ro.stderr, /operation forbidden: read only access prevents virDomainScreenshot/)
})

test('console: not supported by the test driver, as in libvirt', async (t) => {
  const code = (uri: string) => `
import libvirt
libvirt.registerErrorHandler(lambda c, e: None, None)
c = libvirt.open(${JSON.stringify(uri)})
try:
    c.lookupByName('test').openConsole(None, c.newStream(0), 0)
    print('opened')
except libvirt.libvirtError as e:
    print(e.get_error_code(), e.get_error_domain(), e.get_error_message())
`
  const ours = await python(code(d.uri()))
  const theirs = await python(code('test:///default'))
  t.is(ours.stdout.trim(), theirs.stdout.trim())
  t.is(ours.stdout.trim(), '3 20 this function is not supported by the connection driver: virDomainOpenConsole')
})
