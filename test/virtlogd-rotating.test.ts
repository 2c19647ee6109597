// virtlogd's size-capped log files: rollover chain, line-preserving splits, reading across files.
import test from 'ava'
import {existsSync, mkdtempSync, readFileSync, rmSync, statSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {RotatingFile, logFiles, logPosition, readLog, utf8Whole} from '../src/lib/services/log/rotating.js'

const base = mkdtempSync(join(tmpdir(), 'vctl-virtlogd-rot-'))
test.after.always(() => rmSync(base, {recursive: true, force: true}))
let n = 0
const fresh = () => join(base, `t${n++}`, 'guest.log')

const lines = (from: number, to: number) => Array.from({length: to - from}, (_, i) => `line${String(from + i).padStart(5, '0')}\n`).join('')

test('appends below max_size stay in one file', (t) => {
  const p = fresh()
  const f = new RotatingFile(p, {maxSize: 1000, maxBackups: 2})
  f.append(Buffer.from('hello\n'))
  f.append(Buffer.from('world\n'))
  f.close()
  t.is(readFileSync(p, 'utf8'), 'hello\nworld\n')
  t.false(existsSync(`${p}.0`))
})

test('rollover renames the chain, drops the oldest and keeps lines whole', (t) => {
  const p = fresh()
  const f = new RotatingFile(p, {maxSize: 100, maxBackups: 3})
  // 10-byte lines: 10 per file; 60 lines = 6 files' worth, of which 4 are kept.
  for (let i = 0; i < 60; i++) f.append(Buffer.from(lines(i, i + 1)))
  f.close()
  t.false(existsSync(`${p}.3`))
  const files = [`${p}.2`, `${p}.1`, `${p}.0`, p]
  for (const x of files.slice(0, 3)) t.is(statSync(x).size, 100, x)
  t.is(readFileSync(p, 'utf8'), lines(50, 60))
  t.is(files.map((x) => readFileSync(x, 'utf8')).join(''), lines(20, 60))
})

test('a chunk crossing the limit is split at its last fitting newline', (t) => {
  const p = fresh()
  const f = new RotatingFile(p, {maxSize: 25, maxBackups: 1})
  f.append(Buffer.from('aaaaaaaaa\nbbbbbbbbb\nccccccccc\n')) // 30 bytes: 20 fit line-wise
  f.close()
  t.is(readFileSync(`${p}.0`, 'utf8'), 'aaaaaaaaa\nbbbbbbbbb\n')
  t.is(readFileSync(p, 'utf8'), 'ccccccccc\n')
})

test('a line longer than max_size is split hard', (t) => {
  const p = fresh()
  const f = new RotatingFile(p, {maxSize: 8, maxBackups: 5})
  f.append(Buffer.from('0123456789abcdefXYZ\n'))
  f.close()
  t.is(readFileSync(`${p}.1`, 'utf8'), '01234567')
  t.is(readFileSync(`${p}.0`, 'utf8'), '89abcdef')
  t.is(readFileSync(p, 'utf8'), 'XYZ\n')
})

test('max_backups = 0 restarts the live file; max_size = 0 never rolls', (t) => {
  const p = fresh()
  const f = new RotatingFile(p, {maxSize: 10, maxBackups: 0})
  f.append(Buffer.from(lines(0, 3)))
  f.close()
  t.is(readFileSync(p, 'utf8'), lines(2, 3))
  t.false(existsSync(`${p}.0`))
  const q = fresh()
  const g = new RotatingFile(q, {maxSize: 0, maxBackups: 3})
  g.append(Buffer.from(lines(0, 1000)))
  g.close()
  t.is(readFileSync(q, 'utf8'), lines(0, 1000))
})

test('an existing log is appended to and its size counted', (t) => {
  const p = fresh()
  const f = new RotatingFile(p, {maxSize: 30, maxBackups: 2})
  f.append(Buffer.from(lines(0, 2)))
  f.close()
  const g = new RotatingFile(p, {maxSize: 30, maxBackups: 2})
  t.is(g.size, 20)
  g.append(Buffer.from(lines(2, 4)))
  g.close()
  t.is(readFileSync(`${p}.0`, 'utf8'), lines(0, 3))
  t.is(readFileSync(p, 'utf8'), lines(3, 4))
})

test('position and reads follow the data across rollovers', (t) => {
  const p = fresh()
  const f = new RotatingFile(p, {maxSize: 50, maxBackups: 3})
  f.append(Buffer.from(lines(0, 3)))
  const pos = logPosition(p)
  t.is(pos.offset, 30n)
  t.is(pos.inode, f.inode)
  f.append(Buffer.from(lines(3, 12))) // rolls over twice
  t.is(readLog(p, 3, pos.inode, pos.offset, 1 << 20).toString(), lines(3, 12))
  t.is(readLog(p, 3, pos.inode, pos.offset, 25).toString(), lines(3, 5) + 'line0')
  t.is(readLog(p, 3, 0n, 0n, 1000).toString(), readFileSync(p, 'utf8'), 'inode 0: the live file')
  // A position in a file no longer there reads from the oldest kept file. (A dropped file's inode
  // may be reused by a newer one, as with libvirt's positions, so use an inode no file has.)
  f.append(Buffer.from(lines(12, 40)))
  f.close()
  const kept = logFiles(p, 3)
  t.is(kept.length, 4)
  const unused = 1n + kept.reduce((m, k) => (k.inode > m ? k.inode : m), 0n)
  t.is(readLog(p, 3, unused, 30n, 1 << 20).toString(), kept.map((k) => readFileSync(k.path, 'utf8')).join(''))
})

test('utf8Whole drops only an incomplete trailing sequence', (t) => {
  const e = Buffer.from('aé€😀')
  t.is(utf8Whole(e).toString(), 'aé€😀')
  t.is(utf8Whole(e.subarray(0, e.length - 1)).toString(), 'aé€')
  t.is(utf8Whole(e.subarray(0, 2)).toString(), 'a')
  t.is(utf8Whole(e.subarray(0, 3)).toString(), 'aé')
})
