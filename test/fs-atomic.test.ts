import {chmod, lstat, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import test from 'ava'

import {writeFileAtomic, writeFileAtomicSync} from '../src/lib/fs-atomic.js'

async function tempDir(t: import('ava').ExecutionContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'vctl-atomic-'))
  t.teardown(() => rm(dir, {recursive: true, force: true}))
  return dir
}

const variants = [
  ['async', writeFileAtomic],
  ['sync', async (p: string, d: string | Uint8Array, m?: number) => writeFileAtomicSync(p, d, m)],
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
