// Guests on volumes: `<disk type='volume'>` resolved by the QEMU driver through the storage driver,
// a volume in use is not deleted, `virsh undefine --remove-all-storage` / `--storage vda` delete
// the guest's volumes; virt-install --disk size=1 creates its disk in the default pool.
import test from 'ava'
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {run, startDaemon, virsh, type TestDaemon} from './helpers/daemon.js'
import {INITRD, KERNEL, READY, guestXml, qemuPidsUnder, waitForLog} from './helpers/guest.js'

let d: TestDaemon
let U: string
test.before(async () => {
  d = await startDaemon()
  U = `qemu:///system?socket=${d.sock}`
})
test.after.always(async () => {
  if (d) {
    for (const pid of qemuPidsUnder(d.root).values()) process.kill(pid, 'SIGKILL')
    await d.stop()
  }
})

async function ok(args: string[]): Promise<string> {
  const r = await virsh(U, args, {timeout: 120000})
  if (r.code !== 0) throw new Error(`virsh ${args.join(' ')}: ${r.stderr}`)
  return r.stdout
}

test.serial("a guest boots from <disk type='volume'>; the volume is in use while it runs; --remove-all-storage deletes it", async (t) => {
  t.timeout(600000) // guests booted under TCG and many processes: minutes on a loaded machine
  await ok(['vol-create-as', 'default', 'g1.qcow2', '64M', '--format', 'qcow2'])
  await ok(['vol-create-as', 'default', 'g1-data', '8M'])
  const images = join(d.root, 'var/lib/libvirt/images')
  const serial = join(d.root, 'g1.serial')
  const disks = `<disk type='volume' device='disk'><source pool='default' volume='g1.qcow2'/><target dev='vda' bus='virtio'/></disk>
<disk type='volume' device='disk'><source pool='default' volume='g1-data'/><target dev='vdb' bus='virtio'/></disk>`
  const xml = join(d.root, 'g1.xml')
  writeFileSync(xml, guestXml('g1', serial, disks))
  await ok(['define', xml])
  t.regex(await ok(['dumpxml', 'g1', '--inactive']), /<source pool='default' volume='g1.qcow2'\/>/)
  await ok(['start', 'g1'])
  await waitForLog(serial, READY, 1, 60000)
  const pid = qemuPidsUnder(d.root).get('g1')
  t.truthy(pid)
  const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
  t.true(cmd.includes(join(images, 'g1.qcow2')), 'QEMU opens the volume')
  t.true(cmd.includes('qcow2'), 'with its format')
  const del = await virsh(U, ['vol-delete', 'g1-data', '--pool', 'default'])
  t.is(del.code, 1)
  t.regex(del.stderr, /volume 'g1-data' is still in use/)
  await ok(['destroy', 'g1'])
  const r = await virsh(U, ['undefine', 'g1', '--remove-all-storage'])
  t.is(r.code, 0, r.stderr)
  t.regex(r.stdout, /Volume 'vda'\(g1.qcow2\) removed|Volume 'vda'/)
  t.false(existsSync(join(images, 'g1.qcow2')))
  t.false(existsSync(join(images, 'g1-data')))
  t.notRegex(await ok(['vol-list', 'default']), /g1/)
})

test.serial('undefine --storage vda removes only that disk', async (t) => {
  await ok(['vol-create-as', 'default', 'g2-a', '8M'])
  await ok(['vol-create-as', 'default', 'g2-b', '8M'])
  const images = join(d.root, 'var/lib/libvirt/images')
  const disks = `<disk type='file' device='disk'><source file='${images}/g2-a'/><target dev='vda' bus='virtio'/></disk>
<disk type='file' device='disk'><source file='${images}/g2-b'/><target dev='vdb' bus='virtio'/></disk>`
  const xml = join(d.root, 'g2.xml')
  writeFileSync(xml, guestXml('g2', join(d.root, 'g2.serial'), disks))
  await ok(['define', xml])
  const r = await virsh(U, ['undefine', 'g2', '--storage', 'vda'])
  t.is(r.code, 0, r.stderr)
  t.false(existsSync(join(images, 'g2-a')))
  t.true(existsSync(join(images, 'g2-b')))
})

test.serial('virt-install --disk size=1 puts the disk in the default pool and boots the guest', async (t) => {
  t.timeout(600000) // guests booted under TCG and many processes: minutes on a loaded machine
  const serial = join(d.root, 'vi.serial')
  const r = await run(
    'virt-install',
    [
      '--connect',
      U,
      '--name',
      'vi1',
      '--memory',
      '128',
      '--vcpus',
      '1',
      '--disk',
      'size=1',
      '--install',
      `kernel=${KERNEL},initrd=${INITRD},kernel_args=console=ttyS0 quiet panic=-1`,
      '--osinfo',
      'detect=off,name=generic',
      '--graphics',
      'none',
      '--network',
      'none',
      '--serial',
      `file,path=${serial}`,
      '--noautoconsole',
      '--noreboot',
    ],
    {timeout: 180000},
  )
  t.is(r.code, 0, r.stderr + r.stdout)
  const vols = await ok(['vol-list', 'default'])
  t.regex(vols, /vi1\.qcow2/)
  await waitForLog(serial, READY, 1, 60000)
  await ok(['destroy', 'vi1'])
  const u = await virsh(U, ['undefine', 'vi1', '--remove-all-storage'])
  t.is(u.code, 0, u.stderr)
  t.notRegex(await ok(['vol-list', 'default']), /vi1/)
})
