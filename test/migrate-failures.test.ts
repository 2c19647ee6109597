/**
 * Migration that does not happen: domjobabort in the middle, the destination daemon killed in the
 * middle, and bad input (same host, a disk the destination lacks, a name clash, --offline --live).
 * Each time the guest goes on running on A, untouched, and B has nothing.
 */
import test, {type ExecutionContext} from 'ava'
import {rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {spawn} from 'node:child_process'
import {countInLog, READY, guestXml} from './helpers/guest.js'
import {startHosts, type Host} from './helpers/two-hosts.js'
import {lastCount, startCounter, waitCountAbove, waitJob} from './helpers/migrate-guest.js'
import {run, waitExit} from './helpers/daemon.js'

let A: Host
let B: Host
let cleanup: () => Promise<void> = () => Promise.resolve()

test.before(async () => {
  const r = await startHosts('mgf')
  ;[A, B] = r.hosts
  cleanup = r.cleanup
})

test.after.always(async () => {
  await cleanup()
})

/** The guest runs on A, counting on, with one boot; B knows nothing of it. */
async function stillOnA(t: ExecutionContext, name: string, log: string): Promise<void> {
  t.is((await A.virsh(['domstate', name])).stdout.trim(), 'running')
  const c = lastCount(log)
  await waitCountAbove(log, c + 3, 60000)
  t.is(countInLog(log, READY), 1)
  if (B.pid) t.regex((await B.virsh(['list', '--all', '--name'])).stdout, /^\s*$/)
}

/** `virsh migrate` in the background, slowed to 1 MiB/s (migrate-setspeed) so that there is a middle. */
async function slowMigrate(name: string): Promise<{done: Promise<{code: number; stdout: string; stderr: string}>}> {
  const speed = await A.virsh(['migrate-setspeed', name, '1'])
  if (speed.code !== 0) throw new Error(speed.stderr)
  const done = new Promise<{code: number; stdout: string; stderr: string}>((resolve) => {
    const child = spawn('virsh', ['-c', A.uri, 'migrate', '--live', '--p2p', name, B.tcpUri])
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.on('exit', (code) => resolve({code: code ?? -1, stdout, stderr}))
  })
  return {done}
}

test.serial('domjobinfo during a migration, domjobabort: the guest keeps running on A', async (t) => {
  t.timeout(300000)
  const log = await startCounter(A, 'ab1')
  const mig = await slowMigrate('ab1')
  const info = await waitJob(A, 'ab1')
  t.regex(info, /Operation:\s+Outgoing migration/)
  t.regex(info, /Memory total:\s+128\.\d+ MiB/)
  t.regex((await A.virsh(['migrate-getspeed', 'ab1'])).stdout, /^1\s*$/)
  const abort = await A.virsh(['domjobabort', 'ab1'])
  t.is(abort.code, 0, abort.stderr)
  const r = await mig.done
  t.not(r.code, 0)
  t.regex(r.stderr, /operation aborted: migration out job: canceled by client/)
  await stillOnA(t, 'ab1', log)
  const done = await A.virsh(['domjobinfo', '--completed', 'ab1'])
  t.regex(done.stdout, /Job type:\s+(Cancelled|Failed)/)
  await A.virsh(['destroy', 'ab1'])
})

test.serial('bad input: same host, a disk B lacks, a name clash on B, --offline --live', async (t) => {
  t.timeout(300000)
  const disk = join(A.root, 'only-here.raw')
  writeFileSync(disk, Buffer.alloc(1024 * 1024))
  const log = await startCounter(
    A,
    'bad1',
    `<disk type='file' device='disk'><driver name='qemu' type='raw' cache='none'/><source file='${disk}'/><target dev='vdb' bus='virtio'/></disk>`,
  )
  // The same host: A's own TCP URI.
  const same = await A.virsh(['migrate', '--live', '--p2p', 'bad1', A.tcpUri])
  t.regex(same.stderr, /error: internal error: Attempt to migrate guest to the same host [0-9a-f-]{36}/)
  // --offline with --live.
  const off = await A.virsh(['migrate', '--offline', '--live', '--persistent', 'bad1', B.tcpUri])
  t.not(off.code, 0)
  t.regex(off.stderr, /error: /)
  // A name clash: B has another 'bad1' (another UUID).
  const other = join(B.root, 'bad1.xml')
  writeFileSync(other, guestXml('bad1', join(B.root, 'other.log')))
  t.is((await B.virsh(['define', other])).code, 0)
  const clash = await A.virsh(['migrate', '--live', '--p2p', 'bad1', B.tcpUri])
  t.regex(clash.stderr, /error: operation failed: domain 'bad1' already exists with uuid [0-9a-f-]{36}/)
  t.is((await B.virsh(['undefine', 'bad1'])).code, 0)
  // The disk is gone from the shared storage (A's QEMU still has it open): B cannot start the guest.
  rmSync(disk)
  const nodisk = await A.virsh(['migrate', '--live', '--p2p', 'bad1', B.tcpUri])
  t.regex(nodisk.stderr, /error: Cannot access storage file '.*only-here\.raw': No such file or directory/)
  await stillOnA(t, 'bad1', log)
  await A.virsh(['destroy', 'bad1'])
})

test.serial('the destination daemon killed in the middle: the guest keeps running on A', async (t) => {
  t.timeout(300000)
  const log = await startCounter(A, 'kill1')
  const mig = await slowMigrate('kill1')
  await waitJob(A, 'kill1')
  process.kill(B.pid, 'SIGKILL')
  await waitExit(B.pid, 30000)
  const r = await mig.done
  t.not(r.code, 0)
  t.regex(r.stderr, /error: /)
  B.pid = 0
  await stillOnA(t, 'kill1', log)
  await A.virsh(['destroy', 'kill1'])
  await run('true', [])
})
