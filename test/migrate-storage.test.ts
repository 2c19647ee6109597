/**
 * Migration with storage copy between two vctl hosts whose disks are local (each daemon sees its
 * own directory at one common path, a storage pool on B): `virsh migrate --copy-storage-all` peer-to-peer and managed
 * direct (libvirt-python), the image created on the destination (a volume of B's pool) and identical to the source's
 * afterwards (`qemu-img compare`), the counter going on; libvirt's errors for what it refuses;
 * an aborted storage migration leaves the guest on A and nothing on B.
 */
import test from 'ava'
import {existsSync} from 'node:fs'
import {join} from 'node:path'
import {countInLog, READY} from './helpers/guest.js'
import {run} from './helpers/daemon.js'
import {startHosts, type Host} from './helpers/two-hosts.js'
import {lastCount, qcow2DiskXml, qcow2Image, startCounter, waitCountAbove, waitJob} from './helpers/migrate-guest.js'
import {spawn} from 'node:child_process'

let A: Host
let B: Host
let diskPath = ''
let cleanup: () => Promise<void> = () => Promise.resolve()

test.before(async () => {
  const r = await startHosts('mgs', 2, '', [], undefined, {perHostDisks: true})
  ;[A, B] = r.hosts
  diskPath = r.diskPath ?? ''
  cleanup = r.cleanup
  // libvirt creates a missing disk as a volume of the destination's pool on the disk's directory.
  const pool = await B.virsh(['pool-create-as', 'migdisks', 'dir', '--target', diskPath])
  if (pool.code !== 0) throw new Error(pool.stderr)
})

test.after.always(async () => {
  await cleanup()
})

/** A qcow2 image of 16 MiB on A only, with known content in two places. */
const imageOnA = (name: string) => qcow2Image(join(A.disks ?? '', name), ['write -q -P 0xab 0 1M', 'write -q -P 0x5c 9M 512k'])

const diskXml = (name: string) => qcow2DiskXml(join(diskPath, name))

async function compare(a: string, b: string): Promise<{code: number; stdout: string; stderr: string}> {
  return run('qemu-img', ['compare', '-f', 'qcow2', '-F', 'qcow2', a, b])
}

test.serial('virsh migrate --live --p2p --copy-storage-all: the image is created on B with the same content; the counter goes on', async (t) => {
  t.timeout(300000)
  const src = await imageOnA('st1.qcow2')
  const onB = join(B.disks ?? '', 'st1.qcow2')
  t.false(existsSync(onB))
  const log = await startCounter(A, 'st1', diskXml('st1.qcow2'))
  // Without the storage copy B cannot start the guest: the disk is not there.
  const plain = await A.virsh(['migrate', '--live', '--p2p', 'st1', B.tcpUri])
  t.regex(plain.stderr, /error: Cannot access storage file '.*st1\.qcow2': No such file or directory/)
  t.false(existsSync(onB))
  const mig = await A.virsh(['migrate', '--live', '--p2p', '--copy-storage-all', 'st1', B.tcpUri])
  t.is(mig.code, 0, mig.stderr)
  t.is((await B.virsh(['domstate', '--reason', 'st1'])).stdout.trim(), 'running (migrated)')
  t.regex((await A.virsh(['list', '--all', '--name'])).stdout, /^\s*$/)
  await waitCountAbove(log, lastCount(log) + 5, 60000)
  t.is(countInLog(log, READY), 1)
  t.true(existsSync(onB))
  const info = await run('qemu-img', ['info', '-U', '--output=json', onB])
  t.regex(info.stdout, /"format": "qcow2"/)
  t.regex(info.stdout, /"virtual-size": 16777216/)
  t.is((await B.virsh(['destroy', 'st1'])).code, 0)
  const listB = await B.virsh(['list', '--all'])
  t.notRegex(listB.stdout, /st1/, listB.stdout)
  const cmp = await compare(src, onB)
  t.is(cmp.code, 0, cmp.stdout + cmp.stderr)
  t.regex(cmp.stdout, /Images are identical/)
})

test.serial('managed direct --copy-storage-all with libvirt-python (migrate3), and back into the existing image on A', async (t) => {
  t.timeout(300000)
  const src = await imageOnA('py1.qcow2')
  const onB = join(B.disks ?? '', 'py1.qcow2')
  const log = await startCounter(A, 'spy1', diskXml('py1.qcow2'))
  const script = `
import libvirt, sys
src = libvirt.open(sys.argv[1]); dst = libvirt.open(sys.argv[2])
flags = libvirt.VIR_MIGRATE_LIVE | libvirt.VIR_MIGRATE_NON_SHARED_DISK
ddom = src.lookupByName('spy1').migrate3(dst, {}, flags)
print(ddom.name(), dst.lookupByName('spy1').state(0))
back = ddom.migrate3(src, {libvirt.VIR_MIGRATE_PARAM_MIGRATE_DISKS: ['vdb']}, flags)
print(back.name(), src.lookupByName('spy1').state(0))
`
  const r = await run('/usr/bin/python3', ['-c', script, A.uri, B.uri], {timeout: 240000})
  t.is(r.code, 0, r.stderr)
  t.deepEqual(r.stdout.trim().split('\n'), ['spy1 [1, 2]', 'spy1 [1, 2]'])
  await waitCountAbove(log, lastCount(log) + 5, 60000)
  t.is(countInLog(log, READY), 1)
  t.is((await A.virsh(['destroy', 'spy1'])).code, 0)
  const cmp = await compare(src, onB)
  t.is(cmp.code, 0, cmp.stdout + cmp.stderr)
})

test.serial("libvirt's errors: --copy-storage-inc without the image on B, unknown --migrate-disks, --tunnelled; the guest stays on A", async (t) => {
  t.timeout(300000)
  await imageOnA('e1.qcow2')
  const log = await startCounter(A, 'se1', diskXml('e1.qcow2'))
  const inc = await A.virsh(['migrate', '--live', '--p2p', '--copy-storage-inc', 'se1', B.tcpUri])
  t.regex(inc.stderr, /error: Operation not supported: pre-creation of storage targets for incremental storage migration is not supported/)
  const unknown = await A.virsh(['migrate', '--live', '--p2p', '--copy-storage-all', '--migrate-disks', 'vdz', 'se1', B.tcpUri])
  t.regex(unknown.stderr, /error: invalid argument: disk target vdz not found/)
  const tun = await A.virsh(['migrate', '--live', '--p2p', '--tunnelled', '--copy-storage-all', 'se1', B.tcpUri])
  t.regex(tun.stderr, /error: Operation not supported: migration of non-shared storage is not supported with tunnelled migration/)
  t.false(existsSync(join(B.disks ?? '', 'e1.qcow2')))
  const listB = await B.virsh(['list', '--all'])
  t.notRegex(listB.stdout, /se1/, listB.stdout)
  t.is((await A.virsh(['domstate', 'se1'])).stdout.trim(), 'running')
  // Aborted in the middle (slowed to 1 MiB/s): mirrors and stream cancelled, the guest runs on A, B has no guest and no image.
  t.is((await A.virsh(['migrate-setspeed', 'se1', '1'])).code, 0)
  const child = spawn('virsh', ['-c', A.uri, 'migrate', '--live', '--p2p', '--copy-storage-all', 'se1', B.tcpUri])
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  const exited = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? -1)))
  await waitJob(A, 'se1')
  // The disks' mirrors count in the job as libvirt counts them (virsh calls disk_* "File").
  let job = ''
  for (const deadline = Date.now() + 30000; !/File total:/.test(job) && Date.now() < deadline;) job = (await A.virsh(['domjobinfo', 'se1'])).stdout
  t.regex(job, /File processed:\s+[\d.]+ \S*B[\s\S]*File total:\s+16\.000 MiB/, job)
  t.is((await A.virsh(['domjobabort', 'se1'])).code, 0)
  t.not(await exited, 0)
  t.regex(stderr, /operation aborted: migration out job: canceled by client/)
  t.is((await A.virsh(['domstate', 'se1'])).stdout.trim(), 'running')
  const c = lastCount(log)
  await waitCountAbove(log, c + 3, 60000)
  t.regex((await B.virsh(['list', '--all', '--name'])).stdout, /^\s*$/)
  t.false(existsSync(join(B.disks ?? '', 'e1.qcow2')))
  await A.virsh(['destroy', 'se1'])
})
