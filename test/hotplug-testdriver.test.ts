// libvirt 9.0's test driver has no device hotplug: each call answers "not supported" naming the
// public function (virsh's own checks, such as a missing disk, come first). vctl's test driver
// must answer the same as `virsh -c test:///default` (libvirt's test driver, in process).
import test from 'ava'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {startDaemon, virsh, type TestDaemon} from './helpers/daemon.js'

let d: TestDaemon | undefined

test.after.always(async () => {
  if (d) await d.stop()
})

const steps = (dir: string): string[][] => [
  ['attach-disk', 'test', '/tmp/x.img', 'vdb'],
  ['attach-disk', 'test', '/tmp/x.img', 'vdb', '--live'],
  ['attach-disk', 'test', '/tmp/x.img', 'vdb', '--config'],
  ['detach-disk', 'test', 'vdz'],
  ['attach-interface', 'test', 'network', 'default'],
  ['detach-interface', 'test', 'network'],
  ['attach-device', 'test', join(dir, 'nic.xml')],
  ['detach-device', 'test', join(dir, 'nic.xml'), '--config'],
  ['update-device', 'test', join(dir, 'nic.xml')],
  ['change-media', 'test', 'hdc', '/tmp/a.iso'],
  ['detach-device-alias', 'test', 'foo'],
]

test('hotplug on the test driver: libvirt test driver answers', async (t) => {
  d = await startDaemon()
  const dir = d.root
  writeFileSync(join(dir, 'nic.xml'), "<interface type='user'><mac address='52:54:00:aa:bb:cc'/></interface>")
  for (const args of steps(dir)) {
    const [mine, theirs] = await Promise.all([virsh(d.uri('test'), args), virsh('test:///default', args)])
    t.is(mine.code, theirs.code, args.join(' '))
    t.is(mine.stderr, theirs.stderr, args.join(' '))
    t.is(mine.stdout, theirs.stdout, args.join(' '))
  }
  // A read-only connection is refused before any driver is asked.
  const ro = await virsh(d.uri('test', true), ['attach-device', 'test', join(dir, 'nic.xml')])
  t.is(ro.code, 1)
  t.true(ro.stderr.includes('operation forbidden: read only access prevents virDomainAttachDevice'), ro.stderr)
})
