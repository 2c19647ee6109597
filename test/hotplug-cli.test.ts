// vctl's hotplug commands on a defined QEMU guest (the persistent definition changes; no guest
// runs): attach-disk, change-media, attach-interface, detach-*, attach-device, detach-device
// --alias, with --json, and libvirt's errors for bad input.
import test from 'ava'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {startDaemon, vctl, virsh, type TestDaemon} from './helpers/daemon.js'
import {guestXml} from './helpers/guest.js'

let d: TestDaemon | undefined

test.after.always(async () => {
  if (d) await d.stop()
})

test('vctl domain attach-/detach-/change-media on a defined guest', async (t) => {
  d = await startDaemon(['--driver', 'qemu'])
  const U = d.uri('qemu')
  const dir = d.root
  for (const f of ['d1.img', 'a.iso', 'b.iso']) writeFileSync(join(dir, f), Buffer.alloc(64 << 10))
  const cdrom = `    <disk type='file' device='cdrom'><source file='${dir}/a.iso'/><target dev='hdc' bus='ide'/><readonly/></disk>`
  writeFileSync(join(dir, 'c.xml'), guestXml('c', join(dir, 'serial.log'), cdrom))
  t.is((await virsh(U, ['define', join(dir, 'c.xml')])).code, 0)
  const xml = async () => (await virsh(U, ['dumpxml', '--inactive', 'c'])).stdout

  let r = await vctl(['domain', 'attach-disk', 'c', `${dir}/d1.img`, 'vdb', '-c', U, '--json'])
  t.is(r.code, 0, r.stderr)
  t.deepEqual(JSON.parse(r.stdout), {name: 'c', target: 'vdb', source: `${dir}/d1.img`})
  t.regex(await xml(), /<source file='[^']*d1\.img'\/>\s*<target dev='vdb' bus='virtio'\/>\s*<address type='pci'/)
  r = await vctl(['domain', 'attach-disk', 'c', `${dir}/d1.img`, 'vdb', '-c', U])
  t.is(r.code, 1)
  t.true(r.stderr.includes('target vdb already exists'), r.stderr)
  r = await vctl(['domain', 'attach-disk', 'c', `${dir}/d1.img`, 'vdc', '--live', '-c', U])
  t.is(r.code, 1)
  t.true(r.stderr.includes('domain is not running'), r.stderr)

  r = await vctl(['domain', 'change-media', 'c', 'hdc', `${dir}/b.iso`, '-c', U])
  t.is(r.code, 0, r.stderr)
  t.is(r.stdout.trim(), 'Successfully updated media.')
  t.true((await xml()).includes(`<source file='${dir}/b.iso'/>`))
  r = await vctl(['domain', 'change-media', 'c', 'hdc', '--eject', '-c', U])
  t.is(r.code, 0, r.stderr)
  t.false((await xml()).includes('.iso'))
  r = await vctl(['domain', 'change-media', 'c', 'vdb', `${dir}/b.iso`, '-c', U])
  t.is(r.code, 1)
  t.true(r.stderr.includes("The disk device 'vdb' is not removable"), r.stderr)

  r = await vctl(['domain', 'attach-interface', 'c', 'user', '--mac', '52:54:00:00:00:42', '--model', 'virtio', '-c', U])
  t.is(r.code, 0, r.stderr)
  t.regex(await xml(), /<interface type='user'>\s*<mac address='52:54:00:00:00:42'\/>\s*<model type='virtio'\/>/)
  r = await vctl(['domain', 'detach-interface', 'c', 'user', '-c', U, '--json'])
  t.is(r.code, 0, r.stderr)
  t.deepEqual(JSON.parse(r.stdout), {name: 'c', type: 'user', mac: '52:54:00:00:00:42'})
  t.false((await xml()).includes('<interface'))

  r = await vctl(['domain', 'detach-disk', 'c', 'vdb', '-c', U])
  t.is(r.code, 0, r.stderr)
  t.false((await xml()).includes('vdb'))
  r = await vctl(['domain', 'detach-disk', 'c', 'vdb', '-c', U])
  t.is(r.code, 1)
  t.true(r.stderr.includes('No disk found whose source path or target is vdb'), r.stderr)

  const dev = join(dir, 'disk.xml')
  writeFileSync(dev, `<disk type='file' device='disk'><source file='${dir}/d1.img'/><target dev='vdc'/><alias name='ua-data'/></disk>`)
  r = await vctl(['domain', 'attach-device', 'c', dev, '-c', U])
  t.is(r.code, 0, r.stderr)
  t.true((await xml()).includes("<alias name='ua-data'/>"))
  r = await vctl(['domain', 'detach-device', 'c', '--alias', 'ua-data', '-c', U])
  t.is(r.code, 0, r.stderr)
  t.false((await xml()).includes('vdc'))
  r = await vctl(['domain', 'detach-device', 'c', dev, '-c', U])
  t.is(r.code, 1)
  t.true(r.stderr.includes('device not found: no target device vdc'), r.stderr)
})
