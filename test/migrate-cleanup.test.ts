/**
 * The destination's side of a storage migration as libvirt does it: a missing disk is created as a
 * volume of the storage pool whose target is the disk's directory (B's `vol-list` shows it), and
 * refused with libvirt's error before anything starts when no pool holds that directory; when the
 * destination's QEMU dies in the middle (kill -9), the source reports the failure and keeps its
 * guest running, and B cleans up by itself: no domain, no volume it created.
 */
import test from 'ava'
import {existsSync, mkdirSync, readdirSync} from 'node:fs'
import {join} from 'node:path'
import {spawn} from 'node:child_process'
import {countInLog, qemuPidsUnder, READY} from './helpers/guest.js'
import {run, waitExit} from './helpers/daemon.js'
import {startHosts, type Host} from './helpers/two-hosts.js'
import {lastCount, qcow2DiskXml, qcow2Image, startCounter, waitCountAbove, waitJob} from './helpers/migrate-guest.js'

let A: Host
let B: Host
let diskPath = ''
let cleanup: () => Promise<void> = () => Promise.resolve()

test.before(async () => {
  const r = await startHosts('mgc', 2, '', [], undefined, {perHostDisks: true})
  ;[A, B] = r.hosts
  diskPath = r.diskPath ?? ''
  cleanup = r.cleanup
  // On B the disks' directory is the pool 'migpool'; its subdirectory 'nopool' is in no pool.
  for (const h of [A, B]) mkdirSync(join(h.disks ?? '', 'nopool'), {recursive: true})
  const pool = await B.virsh(['pool-create-as', 'migpool', 'dir', '--target', diskPath])
  if (pool.code !== 0) throw new Error(pool.stderr)
})

test.after.always(async () => {
  await cleanup()
})

/** A qcow2 image of 16 MiB on A only (`rel` under the disks' directory), with known content. */
const imageOnA = (rel: string) => qcow2Image(join(A.disks ?? '', rel), ['write -q -P 0xab 0 1M'])

const diskXml = (rel: string) => qcow2DiskXml(join(diskPath, rel))

/** The names in `virsh vol-list migpool` on B. */
async function volsOnB(): Promise<string[]> {
  const r = await B.virsh(['vol-list', 'migpool'])
  return r.stdout
    .split('\n')
    .slice(2)
    .map((l) => l.trim().split(/\s+/)[0])
    .filter(Boolean)
}

/** `virsh migrate` from A in the background. */
function migrateInBackground(args: string[]): Promise<{code: number; stderr: string}> {
  return new Promise((resolve) => {
    const child = spawn('virsh', ['-c', A.uri, 'migrate', ...args, B.tcpUri])
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.on('exit', (code) => resolve({code: code ?? -1, stderr}))
  })
}

async function until(what: string, ok: () => Promise<boolean> | boolean, ms = 60000): Promise<void> {
  for (const deadline = Date.now() + ms; !(await ok());) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

test.serial("the disk's directory is a pool on B: the image is created as a volume of that pool", async (t) => {
  t.timeout(300000)
  await imageOnA('vp1.qcow2')
  t.false((await volsOnB()).includes('vp1.qcow2'))
  const log = await startCounter(A, 'cp1', diskXml('vp1.qcow2'))
  const mig = await A.virsh(['migrate', '--live', '--p2p', '--copy-storage-all', 'cp1', B.tcpUri])
  t.is(mig.code, 0, mig.stderr)
  t.is((await B.virsh(['domstate', '--reason', 'cp1'])).stdout.trim(), 'running (migrated)')
  await waitCountAbove(log, lastCount(log) + 3, 60000)
  t.is(countInLog(log, READY), 1)
  // The storage driver made it: listed at once, and still there after a refresh, with the source's size and format.
  t.true((await volsOnB()).includes('vp1.qcow2'))
  t.is((await B.virsh(['pool-refresh', 'migpool'])).code, 0)
  t.true((await volsOnB()).includes('vp1.qcow2'))
  const xml = (await B.virsh(['vol-dumpxml', '--pool', 'migpool', 'vp1.qcow2'])).stdout
  t.regex(xml, /<capacity unit='bytes'>16777216<\/capacity>/)
  t.regex(xml, /<format type='qcow2'\/>/)
  const info = await run('qemu-img', ['info', '-U', '--output=json', join(B.disks ?? '', 'vp1.qcow2')])
  t.regex(info.stdout, /"compat": "1\.1"/)
  t.is((await B.virsh(['destroy', 'cp1'])).code, 0)
})

test.serial("the disk's directory is in no pool on B: libvirt's error before anything starts, the guest stays on A", async (t) => {
  t.timeout(300000)
  await imageOnA('nopool/np1.qcow2')
  const log = await startCounter(A, 'cn1', diskXml('nopool/np1.qcow2'))
  const mig = await A.virsh(['migrate', '--live', '--p2p', '--copy-storage-all', 'cn1', B.tcpUri])
  t.not(mig.code, 0)
  t.is(mig.stderr.trim(), `error: Storage pool not found: no storage pool with matching target path '${join(diskPath, 'nopool')}'`)
  // Nothing happened on B: no guest, no QEMU was started (no log of it), no image.
  t.regex((await B.virsh(['list', '--all', '--name'])).stdout, /^\s*$/)
  t.false(qemuPidsUnder(B.root).has('cn1'))
  t.false(readdirSync(B.root, {recursive: true, encoding: 'utf8'}).some((f) => f.endsWith('cn1.log')))
  t.deepEqual(readdirSync(join(B.disks ?? '', 'nopool')), [])
  t.is((await A.virsh(['domstate', 'cn1'])).stdout.trim(), 'running')
  await waitCountAbove(log, lastCount(log) + 3, 60000)
  t.is(countInLog(log, READY), 1)
  await A.virsh(['destroy', 'cn1'])
})

test.serial("B's QEMU killed during a --copy-storage-all migration: A reports it and runs on; B has no domain and no volume left", async (t) => {
  t.timeout(300000)
  await imageOnA('k1.qcow2')
  const onB = join(B.disks ?? '', 'k1.qcow2')
  const log = await startCounter(A, 'ck1', diskXml('k1.qcow2'))
  // 1 MiB/s: the 16 MiB disk alone takes a quarter of a minute to copy.
  t.is((await A.virsh(['migrate-setspeed', 'ck1', '1'])).code, 0)
  const mig = migrateInBackground(['--live', '--p2p', '--copy-storage-all', 'ck1'])
  await waitJob(A, 'ck1')
  // B is in the middle: the incoming guest paused, its volume created.
  t.regex((await B.virsh(['domstate', '--reason', 'ck1'])).stdout, /paused \(migrating\)|paused \(migration\)/)
  t.true(existsSync(onB))
  t.true((await volsOnB()).includes('k1.qcow2'))
  const pid = qemuPidsUnder(B.root).get('ck1')
  if (pid === undefined) return t.fail('no QEMU of ck1 on B')
  // A's daemon is held still (SIGSTOP) so that B has to notice and clean up by itself, not on A's finish call.
  process.kill(A.pid, 'SIGSTOP')
  try {
    process.kill(pid, 'SIGKILL')
    await waitExit(pid, 30000)
    // B: no domain, the volume it created deleted through its storage driver (the pool no longer lists it).
    await until('B to forget ck1', async () => /^\s*$/.test((await B.virsh(['list', '--all', '--name'])).stdout))
    await until('the volume on B to go', () => !existsSync(onB))
    t.false((await volsOnB()).includes('k1.qcow2'))
  } finally {
    process.kill(A.pid, 'SIGCONT')
  }
  const r = await mig
  t.not(r.code, 0)
  t.regex(r.stderr, /^error: operation failed: migration of disk vdb failed/m, r.stderr)
  // A: running, counting on from where it was, never rebooted.
  t.log(r.stderr)
  // Never paused (the disk copy was still going on), so not resumed either: the reason stays.
  t.is((await A.virsh(['domstate', '--reason', 'ck1'])).stdout.trim(), 'running (booted)')
  await waitCountAbove(log, lastCount(log) + 3, 60000)
  t.is(countInLog(log, READY), 1)
  t.regex((await B.virsh(['list', '--all', '--name'])).stdout, /^\s*$/)
  const job = await B.virsh(['domjobinfo', 'ck1'])
  t.regex(job.stderr, /error: failed to get domain 'ck1'/)
  await A.virsh(['destroy', 'ck1'])
})

test.serial('the client of a managed migration killed in the middle: B destroys the incoming guest and deletes its volume; A runs on', async (t) => {
  t.timeout(300000)
  await imageOnA('m1.qcow2')
  const onB = join(B.disks ?? '', 'm1.qcow2')
  const log = await startCounter(A, 'cm1', diskXml('m1.qcow2'))
  t.is((await A.virsh(['migrate-setspeed', 'cm1', '1'])).code, 0)
  // Managed direct (no --p2p): virsh itself holds the connection to B that prepared the migration.
  const child = spawn('virsh', ['-c', A.uri, 'migrate', '--live', '--copy-storage-all', 'cm1', B.uri], {stdio: 'ignore'})
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()))
  await waitJob(A, 'cm1')
  t.true((await volsOnB()).includes('m1.qcow2'))
  t.regex((await B.virsh(['list', '--name'])).stdout, /cm1/)
  child.kill('SIGKILL')
  await exited
  await until('B to destroy cm1', async () => /^\s*$/.test((await B.virsh(['list', '--all', '--name'])).stdout))
  await until('the volume on B to go', () => !existsSync(onB))
  t.false((await volsOnB()).includes('m1.qcow2'))
  // A's perform fails once B's side is gone: no job left, the guest running on, never rebooted.
  await until('the job on A to end', async () => /Job type:\s+None/.test((await A.virsh(['domjobinfo', 'cm1'])).stdout), 60000)
  t.is((await A.virsh(['domstate', 'cm1'])).stdout.trim(), 'running')
  await waitCountAbove(log, lastCount(log) + 3, 60000)
  t.is(countInLog(log, READY), 1)
  await A.virsh(['destroy', 'cm1'])
})
