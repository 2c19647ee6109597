// A pool refresh reads each file's header only when the file changed since the last refresh (same
// inode, size, allocation and times: the header cannot have changed); a changed file is probed again.
import test from 'ava'
import {execFileSync} from 'node:child_process'
import {mkdtempSync, rmSync, writeFileSync, utimesSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {scanDir} from '../src/lib/drivers/storage/backend-dir.js'

const formats = async (dir: string) => Object.fromEntries((await scanDir(dir)).map((v) => [v.name, `${v.def.format} ${v.def.capacity}`]))

test('a refresh sees every change, also of a file it remembers', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vctl-refresh-'))
  t.teardown(() => rmSync(dir, {recursive: true, force: true}))
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', join(dir, 'a'), '1G'])
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', join(dir, 'b'), '2G'])
  writeFileSync(join(dir, 'c'), Buffer.alloc(4096))
  // Older than the racy window, so that the refresh remembers them.
  await new Promise((r) => setTimeout(r, 2100))
  t.deepEqual(await formats(dir), {a: 'qcow2 1073741824', b: 'qcow2 2147483648', c: 'raw 4096'})
  t.deepEqual(await formats(dir), {a: 'qcow2 1073741824', b: 'qcow2 2147483648', c: 'raw 4096'})
  // Rewritten in place with the same size and its old modification time: the change time moved.
  const header = Buffer.alloc(4096)
  header.write('plain bytes now')
  const st = (await import('node:fs')).statSync(join(dir, 'a'))
  const size = st.size
  const raw = Buffer.alloc(size)
  header.copy(raw)
  writeFileSync(join(dir, 'a'), raw)
  utimesSync(join(dir, 'a'), st.atime, st.mtime)
  // b resized by qemu-img (its header says 3G), c replaced by another file of the same size
  execFileSync('qemu-img', ['resize', '-q', join(dir, 'b'), '3G'])
  rmSync(join(dir, 'c'))
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', join(dir, 'c'), '5M'])
  t.deepEqual(await formats(dir), {a: `raw ${size}`, b: 'qcow2 3221225472', c: 'qcow2 5242880'})
  rmSync(join(dir, 'b'))
  t.deepEqual(Object.keys(await formats(dir)), ['a', 'c'])
})
