// Uploads write in place through the page cache, in batches straight from the packets' buffers:
// whatever the packet sizes and holes, the volume gets exactly the bytes sent (holes read as zeros,
// the old bytes past the upload stay), each packet's buffer is given back once written, and the
// on-disk mark tells a finished upload from one cut short.
import test from 'ava'
import {randomBytes} from 'node:crypto'
import {existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {openUpload} from '../src/lib/drivers/storage/upload.js'
import {fileId, interruptedUploads, markPath} from '../src/lib/drivers/storage/upload-mark.js'
import {pooledBytes, releasePacketBuffer, takePacketBuffer} from '../src/lib/rpc/packet-pool.js'
import {waitFor} from './helpers/daemon.js'

// The data of a finished upload is synced (and its mark removed) at once here, not two minutes later.
process.env.VCTL_UPLOAD_SETTLE_MS = '0'

function tempDir(t: {teardown: (fn: () => void) => void}): string {
  const dir = mkdtempSync(join(tmpdir(), 'vctl-upload-'))
  t.teardown(() => rmSync(dir, {recursive: true, force: true}))
  return dir
}

const files = (dir: string) => (n: string) => {
  try {
    return fileId(statSync(join(dir, n), {bigint: true}))
  } catch {
    return undefined
  }
}
const interrupted = (dir: string) => [...interruptedUploads(dir, readdirSync(dir), files(dir))]

test('odd packet sizes, odd holes: the volume holds exactly what was uploaded, its old tail kept; buffers given back', async (t) => {
  const dir = tempDir(t)
  const vol = join(dir, 'vol')
  const old = randomBytes(40 << 20)
  writeFileSync(vol, old)
  const expected = Buffer.from(old)
  const outcomes: Array<boolean | undefined> = []
  const up = await openUpload(vol, 0n, 0n, (c) => outcomes.push(c))
  t.deepEqual(interrupted(dir), [], 'an upload in progress is not an interrupted one')
  let pos = 0
  let released = 0
  let sent = 0
  // libvirt's packets (262120 bytes), then a hole of an odd size, then odd packets again
  const send = async (n: number) => {
    const b = randomBytes(n)
    b.copy(expected, pos)
    pos += n
    sent++
    await up.write(b, () => released++)
  }
  for (let i = 0; i < 40; i++) await send(262120)
  await waitFor('the mark', () => existsSync(markPath(vol)), 60000)
  t.true(readFileSync(markPath(vol), 'utf8').includes('"writing"'))
  t.deepEqual(interrupted(dir), [], 'an upload in progress is not an interrupted one')
  await up.write({hole: 12345n})
  expected.fill(0, pos, pos + 12345)
  pos += 12345
  for (let i = 0; i < 30; i++) await send(100003 + i)
  await send(7)
  await up.finish()
  t.deepEqual(outcomes, [true])
  t.is(released, sent, 'every packet buffer given back once written')
  const got = readFileSync(vol)
  t.is(got.length, old.length, 'the size of the volume is kept')
  t.true(got.subarray(0, pos).equals(expected.subarray(0, pos)), 'the uploaded bytes, zeros where the hole was')
  t.true(got.subarray(pos).equals(old.subarray(pos)), 'the bytes past the upload are the old ones')
  t.deepEqual(interrupted(dir), [], 'complete')
  await waitFor('the mark to go once the data is synced', () => !existsSync(markPath(vol)), 30000)
  t.deepEqual(readdirSync(dir), ['vol'], 'nothing else left')
})

test('an upload past the end grows the file, a final hole included; at an offset the bytes before stay', async (t) => {
  const dir = tempDir(t)
  const vol = join(dir, 'vol')
  const old = randomBytes(1 << 20)
  writeFileSync(vol, old)
  const up = await openUpload(vol, 1000n, 0n, () => {})
  const data = randomBytes(2 << 20)
  await up.write(data)
  await up.write({hole: 5000n})
  await up.finish()
  const got = readFileSync(vol)
  t.is(got.length, 1000 + data.length + 5000)
  t.true(got.subarray(0, 1000).equals(old.subarray(0, 1000)))
  t.true(got.subarray(1000, 1000 + data.length).equals(data))
  t.true(got.subarray(1000 + data.length).equals(Buffer.alloc(5000)))
})

test('an aborted upload leaves the volume marked as interrupted; a new complete upload clears it', async (t) => {
  const dir = tempDir(t)
  const vol = join(dir, 'vol')
  writeFileSync(vol, randomBytes(9 << 20))
  const outcomes: Array<boolean | undefined> = []
  let up = await openUpload(vol, 0n, 0n, (c) => outcomes.push(c))
  for (let i = 0; i < 30; i++) await up.write(randomBytes(262120))
  await up.abort()
  t.deepEqual(outcomes, [false])
  t.deepEqual(interrupted(dir), ['vol'])
  up = await openUpload(vol, 0n, 0n, (c) => outcomes.push(c))
  await up.write(Buffer.from('whole again'))
  await up.finish()
  t.deepEqual(outcomes, [false, true])
  t.deepEqual(interrupted(dir), [])
})

test('a mark is dropped when its volume is gone or another file took its name', async (t) => {
  const dir = tempDir(t)
  const vol = join(dir, 'vol')
  writeFileSync(vol, 'x')
  const up = await openUpload(vol, 0n, 0n, () => {})
  await up.write(Buffer.from('abc'))
  await up.abort()
  t.deepEqual(interrupted(dir), ['vol'])
  rmSync(vol)
  writeFileSync(join(dir, 'other'), 'keeps the inode number busy')
  writeFileSync(vol, 'a new file of the same name')
  t.deepEqual(interrupted(dir), [])
  t.false(existsSync(markPath(vol)))
})

test('packet buffers: reused once given back, each once; buffers of other origin ignored', (t) => {
  const before = pooledBytes()
  const a = takePacketBuffer(262148)
  releasePacketBuffer(a.subarray(28))
  releasePacketBuffer(a)
  t.is(pooledBytes(), before + 262148, 'a second release is ignored')
  releasePacketBuffer(Buffer.allocUnsafeSlow(262148))
  t.is(pooledBytes(), before + 262148, 'foreign memory is not taken')
  const b = takePacketBuffer(262148)
  t.is(b.buffer, a.buffer, 'the same memory serves the next packet')
  t.is(pooledBytes(), before)
  const c = takePacketBuffer(262148)
  t.not(c.buffer, a.buffer)
})
