// Device hotplug on a running QEMU guest through the real virsh: the tiny guest reports a virtio
// disk appearing and going (`VCTL-GUEST BLK +/-`), change-media swaps the ISO QEMU has open, NICs
// come and go, --config edits the definition on disk, a restarted daemon still knows hot-plugged
// devices, and libvirt-python sees DEVICE_ADDED / DEVICE_REMOVED events.
import test from 'ava'
import {readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {createConnection} from 'node:net'
import {once} from 'node:events'
import {run, startDaemon, tempRoot, virsh, waitFor, type TestDaemon} from './helpers/daemon.js'
import {guestXml, killGuestsUnder, openFiles, qemuPidsUnder, READY, waitForLog} from './helpers/guest.js'

let d: TestDaemon | undefined
const root = tempRoot('vctl-hotplug-')

test.after.always(async () => {
  killGuestsUnder(root)
  if (d) await d.stop()
  rmSync(root, {recursive: true, force: true})
})

/** The files a process has open. */
/** Resumes a guest through its QMP socket directly (no daemon is attached to it). */
async function qmpCont(pid: number): Promise<void> {
  const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
  const path = /path=([^,]+)/.exec(cmd.find((a) => a.startsWith('socket,id=charmonitor')) ?? '')?.[1] ?? ''
  const sock = createConnection(path)
  let buf = ''
  const replies = async (n: number) => {
    while (buf.split('\n').filter((l) => l.includes('"return"')).length < n) await once(sock, 'data').then(([c]) => (buf += String(c)))
  }
  sock.write('{"execute":"qmp_capabilities"}\n')
  await replies(1)
  sock.write('{"execute":"cont"}\n')
  await replies(2)
  sock.end()
}

const EVENTS_PY = `
import libvirt, sys, threading, time
libvirt.virEventRegisterDefaultImpl()
c = libvirt.open(sys.argv[1])
seen = []
c.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_DEVICE_ADDED, lambda conn, dom, alias, opaque: seen.append('added ' + alias), None)
c.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED, lambda conn, dom, alias, opaque: seen.append('removed ' + alias), None)
def loop():
    while True:
        libvirt.virEventRunDefaultImpl()
threading.Thread(target=loop, daemon=True).start()
dom = c.lookupByName('hp')
dom.attachDeviceFlags("<disk type='file' device='disk'><source file='%s'/><target dev='vdd' bus='virtio'/></disk>" % sys.argv[2], libvirt.VIR_DOMAIN_AFFECT_LIVE)
dom.detachDeviceFlags("<disk type='file' device='disk'><target dev='vdd' bus='virtio'/></disk>", libvirt.VIR_DOMAIN_AFFECT_LIVE)
end = time.time() + 60
while len(seen) < 2 and time.time() < end:
    time.sleep(0.05)
print('\\n'.join(seen))
`

test('attach-disk, detach-disk, change-media, interfaces and --config on a running guest', async (t) => {
  t.timeout(300000) // guests under TCG on a loaded machine: more than ava's default
  d = await startDaemon(['--driver', 'qemu'], {root, keepRoot: true})
  const U = d.uri('qemu')
  const log = join(root, 'serial.log')
  const [d1, d2, a, b] = ['d1.img', 'd2.img', 'a.iso', 'b.iso'].map((f) => join(root, f))
  writeFileSync(d1, Buffer.alloc(10 << 20))
  writeFileSync(d2, Buffer.alloc(20 << 20))
  writeFileSync(a, Buffer.alloc(100 << 10))
  writeFileSync(b, Buffer.alloc(100 << 10))
  const cdrom = `    <disk type='file' device='cdrom'><source file='${a}'/><target dev='hdc' bus='ide'/><readonly/></disk>`
  writeFileSync(join(root, 'hp.xml'), guestXml('hp', log, cdrom))
  t.is((await virsh(U, ['define', join(root, 'hp.xml')])).code, 0)
  const st = await virsh(U, ['start', 'hp'])
  t.is(st.code, 0, st.stderr)
  await waitForLog(log, READY, 1, 90000)
  const pid = qemuPidsUnder(root).get('hp') ?? 0
  t.true(pid > 0)

  // A virtio disk appears in the guest, with libvirt's alias and the next free PCI slot.
  let r = await virsh(U, ['attach-disk', 'hp', d1, 'vdb'])
  t.is(r.code, 0, r.stderr)
  t.is(r.stdout.trim(), 'Disk attached successfully')
  await waitForLog(log, 'VCTL-GUEST BLK + vda 20480', 1, 60000)
  const xml = (await virsh(U, ['dumpxml', 'hp'])).stdout
  t.regex(
    xml,
    /<target dev='vdb' bus='virtio'\/>\s*<alias name='virtio-disk1'\/>\s*<address type='pci' domain='0x0000' bus='0x00' slot='0x03' function='0x0'\/>/,
  )
  t.false((await virsh(U, ['dumpxml', '--inactive', 'hp'])).stdout.includes('vdb'))

  // Bad input: a duplicate target, a disk that is not there; the guest keeps its disk.
  r = await virsh(U, ['attach-disk', 'hp', d2, 'vdb'])
  t.is(r.code, 1)
  t.regex(r.stderr, new RegExp(`error: XML error: target 'vdb' duplicated for disk sources '${d1}' and '${d2}'`))
  r = await virsh(U, ['attach-disk', 'hp', join(root, 'none.img'), 'vdc'])
  t.is(r.code, 1)
  t.true(r.stderr.includes(`Cannot access storage file '${join(root, 'none.img')}': No such file or directory`), r.stderr)
  r = await virsh(U, ['detach-disk', 'hp', 'vdc', '--config'])
  t.is(r.code, 1)
  t.true(r.stderr.includes('No disk found whose source path or target is vdc'), r.stderr)
  r = await virsh(U, ['attach-disk', 'hp', d2, 'vdc'], {readonly: true})
  t.is(r.code, 1)
  t.true(r.stderr.includes('operation forbidden: read only access prevents virDomainAttachDevice'), r.stderr)

  // A restarted daemon reads the hot-plugged disk back from the live status, and can unplug it.
  await d.stop()
  d = await startDaemon(['--driver', 'qemu'], {root, keepRoot: true})
  t.regex((await virsh(U, ['domblklist', 'hp'])).stdout, /vdb\s+\S*d1\.img/)
  r = await virsh(U, ['detach-disk', 'hp', 'vdb'])
  t.is(r.code, 0, r.stderr)
  t.is(r.stdout.trim(), 'Disk detached successfully')
  await waitForLog(log, 'VCTL-GUEST BLK - vda', 1, 60000)
  // (A guest slower than libvirt's 5 s wait finishes the removal after the call returned.)
  await waitFor('vdb to go', async () => !(await virsh(U, ['domblklist', 'hp'])).stdout.includes('vdb'), 60000)
  t.false(openFiles(pid).includes(d1))

  // change-media: QEMU holds the new ISO open, not the old one.
  t.true(openFiles(pid).includes(a))
  r = await virsh(U, ['change-media', 'hp', 'hdc', b])
  t.is(r.code, 0, r.stderr)
  t.regex((await virsh(U, ['domblklist', 'hp'])).stdout, new RegExp(`hdc\\s+${b}`))
  t.true(openFiles(pid).includes(b))
  t.false(openFiles(pid).includes(a))
  r = await virsh(U, ['change-media', 'hp', 'hdc', '--eject'])
  t.is(r.code, 0, r.stderr)
  t.regex((await virsh(U, ['domblklist', 'hp'])).stdout, /hdc\s+-/)
  t.false(openFiles(pid).includes(b))
  r = await virsh(U, ['change-media', 'hp', 'hdc', a, '--insert'])
  t.is(r.code, 0, r.stderr)
  t.true(openFiles(pid).includes(a))
  t.false((await virsh(U, ['dumpxml', '--inactive', 'hp'])).stdout.includes(b))

  // A NIC through attach-device and detach-interface.
  const nic = join(root, 'nic.xml')
  writeFileSync(nic, "<interface type='user'><mac address='52:54:00:aa:bb:cc'/><model type='virtio'/></interface>")
  r = await virsh(U, ['attach-device', 'hp', nic])
  t.is(r.code, 0, r.stderr)
  t.regex((await virsh(U, ['domiflist', 'hp'])).stdout, /user\s+-\s+virtio\s+52:54:00:aa:bb:cc/)
  t.true((await virsh(U, ['dumpxml', 'hp'])).stdout.includes("<alias name='net0'/>"))
  r = await virsh(U, ['detach-interface', 'hp', 'user', '--mac', '52:54:00:aa:bb:cc'])
  t.is(r.code, 0, r.stderr)
  await waitFor('the NIC to go', async () => !(await virsh(U, ['domiflist', 'hp'])).stdout.includes('52:54:00:aa:bb:cc'), 60000)

  // --config: the definition on disk changes, the running guest does not.
  r = await virsh(U, ['attach-disk', 'hp', d2, 'vdc', '--config'])
  t.is(r.code, 0, r.stderr)
  const onDisk = readFileSync(join(root, 'etc/libvirt/qemu/hp.xml'), 'utf8')
  t.true(onDisk.includes(`<source file='${d2}'/>`), onDisk)
  t.false((await virsh(U, ['dumpxml', 'hp'])).stdout.includes('vdc'))
  r = await virsh(U, ['attach-disk', 'hp', d2, 'vdc', '--config'])
  t.is(r.code, 1)
  t.true(r.stderr.includes('Requested operation is not valid: target vdc already exists'), r.stderr)
  r = await virsh(U, ['detach-disk', 'hp', 'vdc', '--config'])
  t.is(r.code, 0, r.stderr)
  t.false(readFileSync(join(root, 'etc/libvirt/qemu/hp.xml'), 'utf8').includes('vdc'))

  // Device events, as libvirt-python receives them.
  const ev = await run('/usr/bin/python3', ['-c', EVENTS_PY, U, d1], {timeout: 180000})
  t.is(ev.code, 0, ev.stderr)
  t.deepEqual(ev.stdout.trim().split('\n'), ['added virtio-disk3', 'removed virtio-disk3'])

  // A paused guest cannot let go of a disk: the detach returns after libvirt's wait with the removal
  // pending (the disk still in the live XML), and the removal completes once the guest runs again.
  const count = (what: string) => readFileSync(log, 'utf8').split(what).length - 1
  await waitFor('the guest to see every removal so far', () => count('BLK + vda') === count('BLK - vda'), 30000)
  const plusBefore = count('BLK + vda')
  r = await virsh(U, ['attach-disk', 'hp', d1, 'vde'])
  t.is(r.code, 0, r.stderr)
  await waitForLog(log, 'VCTL-GUEST BLK + vda', plusBefore + 1, 60000)
  const minusBefore = count('BLK - vda')
  t.is((await virsh(U, ['suspend', 'hp'])).code, 0)
  const t0 = Date.now()
  r = await virsh(U, ['detach-disk', 'hp', 'vde'])
  t.is(r.code, 0, r.stderr)
  t.true(Date.now() - t0 >= 4500, 'waited for the guest')
  t.true((await virsh(U, ['dumpxml', 'hp'])).stdout.includes("<target dev='vde'"), 'removal pending')
  t.is((await virsh(U, ['resume', 'hp'])).code, 0)
  await waitForLog(log, 'VCTL-GUEST BLK - vda', minusBefore + 1, 60000)
  await waitFor('the pending removal to finish', async () => !(await virsh(U, ['dumpxml', 'hp'])).stdout.includes("<target dev='vde'"), 30000)
  t.false(openFiles(pid).includes(d1))

  // The same with the daemon stopped while the removal is pending: the guest lets go meanwhile
  // (DEVICE_DELETED goes unheard), and the restarted daemon completes the removal from what QEMU has.
  r = await virsh(U, ['attach-disk', 'hp', d2, 'vdf'])
  t.is(r.code, 0, r.stderr)
  await waitForLog(log, 'VCTL-GUEST BLK + vda', plusBefore + 2, 60000)
  t.is((await virsh(U, ['suspend', 'hp'])).code, 0)
  r = await virsh(U, ['detach-disk', 'hp', 'vdf'])
  t.is(r.code, 0, r.stderr)
  await d.stop()
  await qmpCont(pid)
  await waitForLog(log, 'VCTL-GUEST BLK - vda', minusBefore + 2, 60000)
  d = await startDaemon(['--driver', 'qemu'], {root, keepRoot: true})
  // Finished while away (qom-list no longer has it), or QEMU's DEVICE_DELETED still to come: either way it ends.
  await waitFor('vdf to go', async () => !(await virsh(U, ['dumpxml', 'hp'])).stdout.includes("<target dev='vdf'"), 60000)
  t.false(openFiles(pid).includes(d2))
})
