import {spawn, spawnSync} from 'node:child_process'
import {chmod, lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import test, {type ExecutionContext} from 'ava'

import {removeStaleTempFiles, writeFileAtomic, writeFileAtomicSync} from '../src/lib/fs-atomic.js'

async function tempDir(t: ExecutionContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'vctl-atomic-'))
  t.teardown(() => rm(dir, {recursive: true, force: true}))
  return dir
}

const variants = [
  ['async', writeFileAtomic],
  ['sync', (p: string, d: string | Uint8Array, m?: number): Promise<void> => Promise.resolve(writeFileAtomicSync(p, d, m))],
] as const

for (const [name, write] of variants) {
  test(`${name}: writes a new file with default mode 0644`, async (t) => {
    const dir = await tempDir(t)
    const file = join(dir, 'a.xml')
    await write(file, '<domain/>\n')
    t.is(await readFile(file, 'utf8'), '<domain/>\n')
    t.is((await stat(file)).mode & 0o777, 0o644)
    t.deepEqual(await readdir(dir), ['a.xml'])
  })

  test(`${name}: replaces existing content and leaves no temp files`, async (t) => {
    const dir = await tempDir(t)
    const file = join(dir, 'b.conf')
    await writeFile(file, 'old content that is longer than the new one')
    await write(file, 'new')
    t.is(await readFile(file, 'utf8'), 'new')
    for (let i = 0; i < 5; i++) await write(file, `v${i}`)
    t.is(await readFile(file, 'utf8'), 'v4')
    t.deepEqual(await readdir(dir), ['b.conf'])
  })

  test(`${name}: honours the mode regardless of umask, also when replacing`, async (t) => {
    const dir = await tempDir(t)
    const file = join(dir, 'secret.key')
    await write(file, 'k', 0o600)
    t.is((await stat(file)).mode & 0o777, 0o600)
    await write(file, 'k2', 0o660)
    t.is((await stat(file)).mode & 0o777, 0o660)
    await writeFile(join(dir, 'wide'), 'x')
    await chmod(join(dir, 'wide'), 0o666)
    await write(join(dir, 'wide'), 'y', 0o640)
    t.is((await stat(join(dir, 'wide'))).mode & 0o777, 0o640)
  })

  test(`${name}: creates missing parent directories`, async (t) => {
    const dir = await tempDir(t)
    const file = join(dir, 'x', 'y', 'z', 'c.xml')
    await write(file, 'deep')
    t.is(await readFile(file, 'utf8'), 'deep')
  })

  test(`${name}: writes binary data exactly`, async (t) => {
    const dir = await tempDir(t)
    const file = join(dir, 'bin')
    const bytes = new Uint8Array([0, 1, 2, 255, 254, 0x0a, 0])
    await write(file, bytes)
    t.deepEqual(new Uint8Array(await readFile(file)), bytes)
  })

  test(`${name}: failure leaves the target untouched and no temp files`, async (t) => {
    const dir = await tempDir(t)
    // Renaming a file over a non-empty directory fails.
    const target = join(dir, 'occupied')
    await writeFileAtomic(join(target, 'inner'), 'keep')
    await t.throwsAsync(async () => write(target, 'nope'))
    t.is(await readFile(join(target, 'inner'), 'utf8'), 'keep')
    t.deepEqual(await readdir(dir), ['occupied'])
  })

  test(`${name}: replaces a symlink rather than writing through it`, async (t) => {
    const dir = await tempDir(t)
    const real = join(dir, 'real')
    await writeFile(real, 'original')
    await symlink(real, join(dir, 'link'))
    await write(join(dir, 'link'), 'replaced')
    t.is(await readFile(real, 'utf8'), 'original')
    t.is(await readFile(join(dir, 'link'), 'utf8'), 'replaced')
    t.false((await lstat(join(dir, 'link'))).isSymbolicLink())
  })
}

test('removeStaleTempFiles: removes temp files of dead writers only', async (t) => {
  const dir = await tempDir(t)
  // A PID that is certainly dead: a child that has exited.
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {encoding: 'utf8'}).stdout
  const stale = [`.a.xml.${dead}.0123456789ab.tmp`, `.b.conf.${dead}.abcdefabcdef.tmp`]
  const live = [`.c.xml.${process.pid}.0123456789ab.tmp`, `.d.xml.1.0123456789ab.tmp`]
  // Names that only look alike, and the real files.
  const other = [`.e.xml.${dead}.0123.tmp`, `e.xml.${dead}.0123456789ab.tmp`, `.f.xml.${dead}.0123456789ab.tmp.bak`, 'a.xml', '.hidden']
  for (const n of [...stale, ...live, ...other]) await writeFile(join(dir, n), 'x')
  await mkdir(join(dir, 'sub', 'deeper'), {recursive: true})
  await writeFile(join(dir, 'sub', stale[0]), 'x')
  await writeFile(join(dir, 'sub', 'deeper', stale[1]), 'x')
  // A directory with a temp-like name is left alone.
  await mkdir(join(dir, `.g.${dead}.0123456789ab.tmp`))

  t.deepEqual(removeStaleTempFiles(join(dir, 'missing')), [])
  t.deepEqual(removeStaleTempFiles(dir).sort(), stale.map((n) => join(dir, n)).sort())
  t.deepEqual((await readdir(dir)).sort(), [...live, ...other, 'sub', `.g.${dead}.0123456789ab.tmp`].sort())
  t.deepEqual(removeStaleTempFiles(dir, 1), [join(dir, 'sub', stale[0])])
  t.deepEqual(removeStaleTempFiles(dir, 2), [join(dir, 'sub', 'deeper', stale[1])])
})

test('removeStaleTempFiles: picks up what a killed writer left', async (t) => {
  const dir = await tempDir(t)
  // A writer stopped between creating its temp file and renaming it (as kill -9 leaves it).
  const child = spawn(process.execPath, [
    '-e',
    `require('fs').writeFileSync(${JSON.stringify(join(dir, '.x.xml.'))} + process.pid + '.0123456789ab.tmp', 'partial'); setInterval(() => {}, 1000)`,
  ])
  while ((await readdir(dir)).length === 0) await new Promise((r) => setTimeout(r, 20))
  t.deepEqual(removeStaleTempFiles(dir), [], 'writer alive: kept')
  child.kill('SIGKILL')
  await new Promise((r) => child.once('exit', r))
  t.is(removeStaleTempFiles(dir).length, 1)
  t.deepEqual(await readdir(dir), [])
})
