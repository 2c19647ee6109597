// vctl pool ... and vctl volume ... against a daemon: --json data, what virsh sees afterwards, errors.
import test from 'ava'
import {randomBytes} from 'node:crypto'
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {startDaemon, vctl, virsh, type TestDaemon} from './helpers/daemon.js'

let d: TestDaemon
let C: string
test.before(async () => {
  d = await startDaemon()
  C = `qemu:///system?socket=${d.sock}`
})
test.after.always(async () => {
  await d?.stop()
})

async function json<T>(args: string[]): Promise<T> {
  const r = await vctl([...args, '-c', C, '--json'], {timeout: 120000})
  if (r.code !== 0) throw new Error(`vctl ${args.join(' ')}: ${r.stderr}${r.stdout}`)
  return JSON.parse(r.stdout) as T
}

test.serial('pools: define, build, start, info, autostart, dumpxml, refresh, destroy, delete, undefine', async (t) => {
  const target = join(d.root, 'cli-pool')
  t.like(await json(['pool', 'define', '--name', 'cp', '--target', target]), {name: 'cp'})
  await json(['pool', 'build', 'cp'])
  await json(['pool', 'start', 'cp'])
  t.like(await json<{state: string}>(['pool', 'info', 'cp']), {name: 'cp', state: 'running', persistent: true, autostart: false})
  await json(['pool', 'autostart', 'cp'])
  const list = await json<Array<{name: string; autostart: boolean}>>(['pool', 'list', '--all'])
  t.deepEqual(
    list.map((p) => [p.name, p.autostart]),
    [
      ['cp', true],
      ['default', true],
    ],
  )
  t.regex((await json<{xml: string}>(['pool', 'dumpxml', 'cp'])).xml, new RegExp(`<path>${target}</path>`))
  await json(['pool', 'refresh', 'cp'])
  await json(['pool', 'destroy', 'cp'])
  t.regex((await virsh(C, ['pool-info', 'cp'])).stdout, /State:\s+inactive/)
  await json(['pool', 'delete', 'cp'])
  await json(['pool', 'undefine', 'cp'])
  const gone = await vctl(['pool', 'info', 'cp', '-c', C])
  t.is(gone.code, 1)
  t.regex(gone.stderr, /error: failed to get pool 'cp'/)
})

test.serial('volumes: create, clone, resize, wipe, info, dumpxml, upload, download, delete', async (t) => {
  const v = await json<{name: string; capacity: number; path: string}>([
    'volume',
    'create',
    'default',
    'cv.qcow2',
    '--size',
    '64M',
    '--format',
    'qcow2',
  ])
  t.like(v, {name: 'cv.qcow2', capacity: 64 << 20, type: 'file'})
  t.regex((await json<{xml: string}>(['volume', 'dumpxml', 'cv.qcow2', '--pool', 'default'])).xml, /<format type='qcow2'\/>/)
  t.like(await json(['volume', 'resize', 'cv.qcow2', '128M', '--pool', 'default']), {capacity: 128 << 20})
  t.like(await json(['volume', 'clone', 'cv.qcow2', 'cv2.qcow2', '--pool', 'default']), {name: 'cv2.qcow2', capacity: 128 << 20})
  t.like(await json(['volume', 'info', v.path]), {name: 'cv.qcow2'})
  await json(['volume', 'create', 'default', 'raw1', '--size', '4M'])
  const data = randomBytes(4 << 20)
  const src = join(d.root, 'data.bin')
  writeFileSync(src, data)
  t.like(await json(['volume', 'upload', 'raw1', src, '--pool', 'default']), {bytes: 4 << 20})
  const back = join(d.root, 'back.bin')
  t.like(await json(['volume', 'download', 'raw1', back, '--pool', 'default']), {bytes: 4 << 20})
  t.deepEqual(readFileSync(back), data)
  await json(['volume', 'wipe', 'raw1', '--pool', 'default'])
  await json(['volume', 'download', 'raw1', back, '--pool', 'default'])
  t.true(readFileSync(back).equals(Buffer.alloc(4 << 20)), 'wiped with zeros')
  for (const n of ['cv.qcow2', 'cv2.qcow2', 'raw1']) await json(['volume', 'delete', n, '--pool', 'default'])
  t.deepEqual(await json(['volume', 'list', 'default']), [])
  const bad = await vctl(['volume', 'create', 'default', 'a/b', '--size', '1M', '-c', C])
  t.is(bad.code, 1)
  t.regex(bad.stderr, /error: Requested operation is not valid: volume name 'a\/b' cannot contain '\/'/)
})
