// Hot-plugged disks and virtlockd: virtqemud and virtlockd on one root (`vctl daemon start --driver
// lock|qemu`), the real virsh, real QEMU guests. A disk another guest holds is refused with
// virtlockd's error (libvirt's code and domain) and the guest is untouched; a disk plugged is
// locked with the guest's QEMU pid before QEMU opens it, released when it is unplugged, and with the
// rest when the guest stops.
import test from 'ava'
import {realpathSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {listLocks} from '../src/lib/services/lock/client.js'
import {python, startDaemon, tempRoot, virsh, waitFor, type TestDaemon} from './helpers/daemon.js'
import {guestXml, killGuestsUnder, openFiles, qemuPidsUnder, READY, waitForLog} from './helpers/guest.js'

const root = realpathSync(tempRoot('vctl-hotplug-lockd-'))
const daemons: TestDaemon[] = []

test.after.always(async () => {
  killGuestsUnder(root)
  for (const d of daemons.reverse()) await d.stop()
  rmSync(root, {recursive: true, force: true})
})

test('hotplug takes, refuses and releases virtlockd locks', async (t) => {
  t.timeout(300000)
  const lockd = await startDaemon(['--driver', 'lock'], {root, keepRoot: true})
  daemons.push(lockd)
  const qemu = await startDaemon(['--driver', 'qemu'], {root, keepRoot: true})
  daemons.push(qemu)
  const U = qemu.uri('qemu')
  const sock = join(root, 'run/libvirt/virtlockd-sock')
  const [img1, img2] = ['one.img', 'two.img'].map((f) => join(root, f))
  writeFileSync(img1, Buffer.alloc(4 << 20))
  writeFileSync(img2, Buffer.alloc(4 << 20))
  const disk = (path: string, dev: string) => `    <disk type='file' device='disk'><source file='${path}'/><target dev='${dev}' bus='virtio'/></disk>`
  writeFileSync(join(root, 'la.xml'), guestXml('la', join(root, 'la.log'), disk(img1, 'vda')))
  writeFileSync(join(root, 'lb.xml'), guestXml('lb', join(root, 'lb.log')))
  for (const n of ['la', 'lb']) {
    t.is((await virsh(U, ['define', join(root, `${n}.xml`)])).code, 0)
    const r = await virsh(U, ['start', n])
    t.is(r.code, 0, r.stderr)
  }
  await Promise.all(['la', 'lb'].map((n) => waitForLog(join(root, `${n}.log`), READY, 1, 120000)))
  const pids = qemuPidsUnder(root)
  const pidA = pids.get('la') ?? 0
  const pidB = pids.get('lb') ?? 0
  const held = async () =>
    (await listLocks(sock)).map((l) => `${l.path} ${l.shared ? 'shared' : 'exclusive'} ${l.owners.map((o) => `${o.name}/${o.pid}`).join(',')}`).sort()
  t.deepEqual(await held(), [`${img1} exclusive la/${pidA}`])

  // A disk la holds: refused with virtlockd's error before QEMU is touched.
  const busy = `resource busy: Lockspace resource '${img1}' is locked`
  let r = await virsh(U, ['attach-disk', 'lb', img1, 'vdb'])
  t.is(r.code, 1)
  t.true(r.stderr.includes(busy), r.stderr)
  t.false((await virsh(U, ['dumpxml', 'lb'])).stdout.includes("<target dev='vdb'"))
  t.false(openFiles(pidB).includes(img1))
  const py = await python(
    `import libvirt\nc = libvirt.open(${JSON.stringify(U)})\ntry:\n  c.lookupByName('lb').attachDevice("<disk type='file' device='disk'><source file='${img1}'/><target dev='vdb' bus='virtio'/></disk>")\nexcept libvirt.libvirtError as e:\n  print(e.get_error_code(), e.get_error_domain(), e.get_error_message())\n`,
  )
  t.is(py.stdout.trim(), `87 42 ${busy}`, py.stderr)
  t.deepEqual(await held(), [`${img1} exclusive la/${pidA}`])

  // A free disk: locked with lb's QEMU pid, and QEMU has it.
  r = await virsh(U, ['attach-disk', 'lb', img2, 'vdb'])
  t.is(r.code, 0, r.stderr)
  t.deepEqual(await held(), [`${img1} exclusive la/${pidA}`, `${img2} exclusive lb/${pidB}`])
  t.true(openFiles(pidB).includes(img2))
  // ...so la cannot have it, read-only (shared) or not.
  r = await virsh(U, ['attach-disk', 'la', img2, 'vdc', '--mode', 'readonly'])
  t.is(r.code, 1)
  t.true(r.stderr.includes(`resource busy: Lockspace resource '${img2}' is locked`), r.stderr)

  // Unplugged: the lock goes with the disk.
  r = await virsh(U, ['detach-disk', 'lb', 'vdb'])
  t.is(r.code, 0, r.stderr)
  await waitFor('vdb to leave lb', async () => !(await virsh(U, ['dumpxml', 'lb'])).stdout.includes("<target dev='vdb'"), 60000)
  t.deepEqual(await held(), [`${img1} exclusive la/${pidA}`])

  // Now la may take it; its stop releases both of its locks.
  r = await virsh(U, ['attach-disk', 'la', img2, 'vdc'])
  t.is(r.code, 0, r.stderr)
  t.deepEqual(await held(), [`${img1} exclusive la/${pidA}`, `${img2} exclusive la/${pidA}`])
  t.is((await virsh(U, ['destroy', 'la'])).code, 0)
  await waitFor('la to release its locks', async () => (await held()).length === 0, 30000)
  t.is((await virsh(U, ['destroy', 'lb'])).code, 0)
})
