// Uploads into a new file go around the page cache (O_DIRECT, aligned batches) with the unaligned
// parts written buffered: whatever the packet sizes and holes, the volume gets exactly the bytes sent.
import test from 'ava'
import {randomBytes} from 'node:crypto'
import {mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {DirectWriter} from '../src/lib/drivers/storage/direct-write.js'
import {openUpload} from '../src/lib/drivers/storage/transfer.js'

function tempDir(t: {teardown: (fn: () => void) => void}): string {
  const dir = mkdtempSync(join(tmpdir(), 'vctl-direct-'))
  t.teardown(() => rmSync(dir, {recursive: true, force: true}))
  return dir
}

test('odd packet sizes, odd holes: the volume holds exactly what was uploaded, its old tail kept', async (t) => {
  const dir = tempDir(t)
  const vol = join(dir, 'vol')
  const old = randomBytes(40 << 20)
  writeFileSync(vol, old)
  const expected = Buffer.from(old)
  let closed = 0
  const up = await openUpload(vol, 0n, 0n, () => closed++)
  let pos = 0
  // libvirt's packets (262120 bytes), then a hole of an odd size, then odd packets again
  const send = async (n: number) => {
    const b = randomBytes(n)
    b.copy(expected, pos)
    pos += n
    await up.write(b)
  }
  for (let i = 0; i < 40; i++) await send(262120)
  await up.write({hole: 12345n})
  expected.fill(0, pos, pos + 12345)
  pos += 12345
  for (let i = 0; i < 30; i++) await send(100003 + i)
  await send(7)
  await up.finish()
  t.is(closed, 1)
  const got = readFileSync(vol)
  t.is(got.length, old.length, 'the size of the volume is kept')
  t.true(got.subarray(0, pos).equals(expected.subarray(0, pos)), 'the uploaded bytes')
  t.true(got.subarray(pos).equals(old.subarray(pos)), 'the bytes past the upload are the old ones')
  t.deepEqual(
    readdirSync(dir).filter((n) => n !== 'vol'),
    [],
    'no partial file left',
  )
})

test('an aborted upload leaves the volume as it was', async (t) => {
  const dir = tempDir(t)
  const vol = join(dir, 'vol')
  const old = randomBytes(9 << 20)
  writeFileSync(vol, old)
  const up = await openUpload(vol, 0n, 0n, () => {})
  for (let i = 0; i < 30; i++) await up.write(randomBytes(262120))
  await up.abort()
  t.true(readFileSync(vol).equals(old))
  t.deepEqual(readdirSync(dir), ['vol'])
})

test('DirectWriter: the aligned part goes direct, the rest buffered; misaligned offsets all buffered', async (t) => {
  const dir = tempDir(t)
  const path = join(dir, 'f')
  writeFileSync(path, '')
  const {open} = await import('node:fs/promises')
  const fh = await open(path, 'r+')
  const w = await DirectWriter.open(path, 1 << 20)
  t.teardown(async () => {
    await w?.close()
    await fh.close()
  })
  if (!w) {
    t.pass('O_DIRECT is not available on this filesystem: uploads are written buffered')
    return
  }
  const a = randomBytes(3 << 20)
  await w.write([a.subarray(0, 5000), a.subarray(5000, 2 << 20), a.subarray(2 << 20, (3 << 20) - 3)], (3 << 20) - 3, 0, fh)
  const b = randomBytes(10000)
  await w.write([b], b.length, (3 << 20) - 3, fh)
  const got = readFileSync(path)
  t.is(statSync(path).size, (3 << 20) - 3 + 10000)
  t.true(got.subarray(0, (3 << 20) - 3).equals(a.subarray(0, (3 << 20) - 3)))
  t.true(got.subarray((3 << 20) - 3).equals(b))
})
