// vol-upload and vol-download through the real virsh: 256 MiB of random bytes round-trip byte for
// byte, a sparse 1 GiB image keeps its holes both ways, byte ranges, a volume in use cannot be
// deleted, and a kill -9 in the middle of an upload leaves the volume known as incomplete.
import test from 'ava'
import {spawn, type ChildProcess} from 'node:child_process'
import {createHash, randomBytes} from 'node:crypto'
import {closeSync, existsSync, openSync, readFileSync, rmSync, statSync, writeFileSync, writeSync, ftruncateSync} from 'node:fs'
import {join} from 'node:path'
import {run, startDaemon, tempRoot, virsh, waitExit, waitFor, type TestDaemon} from './helpers/daemon.js'
import {openFiles} from './helpers/guest.js'

/** Resolves once the child has exited (also when it already had). */
function exited(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return Promise.resolve()
  return new Promise((r) => c.once('exit', () => r()))
}

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex')
const MiB = 1 << 20

let d: TestDaemon
let U: string
let work: string
test.before(async () => {
  d = await startDaemon()
  U = `qemu:///system?socket=${d.sock}`
  work = tempRoot('vctl-xfer-')
})
test.after.always(async () => {
  await d?.stop()
  if (work) rmSync(work, {recursive: true, force: true})
})

async function ok(args: string[]): Promise<string> {
  const r = await virsh(U, args, {timeout: 300000})
  if (r.code !== 0) throw new Error(`virsh ${args.join(' ')}: ${r.stderr}`)
  return r.stdout
}

test.serial('256 MiB of random bytes: upload then download is byte-identical', async (t) => {
  t.timeout(600000) // hundreds of MiB through virsh and the daemon: minutes on a loaded machine
  const src = join(work, 'random.bin')
  const fd = openSync(src, 'w')
  for (let i = 0; i < 256; i++) writeSync(fd, randomBytes(MiB))
  closeSync(fd)
  await ok(['vol-create-as', 'default', 'rnd', '256M'])
  await ok(['vol-upload', 'rnd', src, '--pool', 'default'])
  const back = join(work, 'back.bin')
  await ok(['vol-download', 'rnd', back, '--pool', 'default'])
  t.is(sha(back), sha(src))
  // A byte range: 5000 bytes from offset 1000.
  const part = join(work, 'part.bin')
  await ok(['vol-download', 'rnd', part, '--pool', 'default', '--offset', '1000', '--length', '5000'])
  t.deepEqual(readFileSync(part), readFileSync(src).subarray(1000, 6000))
  rmSync(back)
})

test.serial('a sparse 1 GiB image keeps its holes through upload and download with --sparse', async (t) => {
  t.timeout(600000) // hundreds of MiB through virsh and the daemon: minutes on a loaded machine
  const src = join(work, 'sparse.img')
  const fd = openSync(src, 'w')
  ftruncateSync(fd, 1 << 30)
  writeSync(fd, Buffer.from('first block'), 0, 11, 0)
  writeSync(fd, Buffer.alloc(64 * 1024, 7), 0, 64 * 1024, 500 * MiB)
  closeSync(fd)
  await ok(['vol-create-as', 'default', 'sp', '1G', '--allocation', '0'])
  await ok(['vol-upload', 'sp', src, '--pool', 'default', '--sparse'])
  const info = await ok(['vol-info', 'sp', '--pool', 'default', '--bytes'])
  const alloc = Number(/Allocation:\s+(\d+)/.exec(info)?.[1])
  t.true(alloc < 4 * MiB, `volume allocation ${alloc}`)
  const back = join(work, 'sparse-back.img')
  await ok(['vol-download', 'sp', back, '--pool', 'default', '--sparse'])
  t.is(statSync(back).size, 1 << 30)
  t.true(statSync(back).blocks * 512 < 4 * MiB, 'the downloaded copy is sparse too')
  // cmp reads 2 GiB (the holes as zeros): seconds on a quiet machine, minutes on a loaded one.
  const same = await run('cmp', [back, src], {timeout: 600000})
  t.is(same.code, 0, `same bytes: ${same.stdout}${same.stderr}`)
})

test.serial('a volume being downloaded cannot be deleted; the test driver has no upload', async (t) => {
  // The reader takes nothing until the test says so: the 256 MiB download stays in progress meanwhile.
  const go = join(work, 'go-on')
  const slow = spawn(
    'sh',
    ['-c', `virsh -c '${U}' vol-download rnd /dev/stdout --pool default | (while [ ! -e '${go}' ]; do sleep 0.1; done; cat > /dev/null)`],
    {
      stdio: 'ignore',
    },
  )
  t.teardown(() => slow.kill('SIGKILL'))
  const vol = join(d.root, 'var/lib/libvirt/images/rnd')
  await waitFor('the daemon to open the volume for the download', () => openFiles(d.pid).includes(vol), 60000)
  const del = await virsh(U, ['vol-delete', 'rnd', '--pool', 'default'])
  writeFileSync(go, '')
  t.not(del.code, 0)
  t.regex(del.stderr, /Requested operation is not valid: volume 'rnd' is still in use\./)
  await exited(slow)
  const up = await virsh(`test+unix:///default?socket=${d.sock}`, ['vol-upload', 'x', '/etc/hostname', '--pool', 'default-pool'])
  t.regex(up.stderr, /failed to get vol 'x'|not supported/)
})

test.serial('kill -9 during vol-upload: after restart the volume is reported incomplete until uploaded again', async (t) => {
  t.timeout(600000) // hundreds of MiB through virsh and the daemon: minutes on a loaded machine
  const root = tempRoot('vctl-xfer-kill-')
  let dd = await startDaemon([], {root, keepRoot: true})
  t.teardown(async () => {
    await dd.stop()
    rmSync(root, {recursive: true, force: true})
  })
  const UU = `qemu:///system?socket=${dd.sock}`
  const dir = join(root, 'var/lib/libvirt/images')
  const r = await virsh(UU, ['vol-create-as', 'default', 'target', '256M'])
  t.is(r.code, 0, r.stderr)
  const vol = join(dir, 'target')
  const head = () => readFileSync(vol).subarray(0, 4 * MiB)
  const before = head()
  const src = join(work, 'random.bin')
  // A slow reader on the client side: virsh reads the file through a pipe that trickles.
  const up = spawn('sh', ['-c', `(head -c 8388608 '${src}'; sleep 30) | virsh -c '${UU}' vol-upload target /dev/stdin --pool default`], {
    stdio: 'ignore',
  })
  t.teardown(() => up.kill('SIGKILL'))
  // Written in place: the first bytes of the upload are in the volume, the rest is not.
  await waitFor('the upload to write its first bytes', () => !head().equals(before), 60000)
  t.true(existsSync(join(dir, '.vctl-upload-target')), 'marked while it is written')
  process.kill(dd.pid, 'SIGKILL')
  t.true(await waitExit(dd.pid))
  dd = await startDaemon([], {root, keepRoot: true})
  const UU2 = `qemu:///system?socket=${dd.sock}`
  const list = await virsh(UU2, ['vol-list', 'default'])
  t.regex(list.stdout, /target/)
  t.notRegex(list.stdout, /\.vctl-/)
  // Not handed out as a whole volume: neither downloaded nor cloned.
  const down = await virsh(UU2, ['vol-download', 'target', join(work, 'cut.bin'), '--pool', 'default'])
  t.not(down.code, 0)
  t.regex(down.stderr, /Requested operation is not valid: volume 'target' is incomplete: its upload was interrupted/)
  const clone = await virsh(UU2, ['vol-clone', 'target', 'copy', '--pool', 'default'])
  t.not(clone.code, 0)
  t.regex(clone.stderr, /volume 'target' is incomplete/)
  // A complete upload makes it whole again.
  writeFileSync(join(work, 'small.bin'), 'new content')
  const again = await virsh(UU2, ['vol-upload', 'target', join(work, 'small.bin'), '--pool', 'default'])
  t.is(again.code, 0, again.stderr)
  t.deepEqual(readFileSync(vol).subarray(0, 11), Buffer.from('new content'))
  const part = join(work, 'whole.bin')
  const ok2 = await virsh(UU2, ['vol-download', 'target', part, '--pool', 'default', '--length', '11'])
  t.is(ok2.code, 0, ok2.stderr)
  t.deepEqual(readFileSync(part), Buffer.from('new content'))
  // Still whole after another restart (the mark is gone once the data is synced, or says complete).
  await dd.stop()
  dd = await startDaemon([], {root, keepRoot: true})
  const ok3 = await virsh(`qemu:///system?socket=${dd.sock}`, ['vol-download', 'target', part, '--pool', 'default', '--length', '11'])
  t.is(ok3.code, 0, ok3.stderr)
})
