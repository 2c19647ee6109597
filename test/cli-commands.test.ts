// Every command as oclif describes it (oclif.manifest.json, written by npm run build): realistic
// examples everywhere; every client command takes --json and -c/--connect.
import test from 'ava'
import {existsSync, readFileSync, readdirSync} from 'node:fs'
import {join, relative} from 'node:path'
import {Script} from 'node:vm'
import {ROOT_DIR} from './helpers/daemon.js'

interface ManifestFlag {
  name: string
  char?: string
}
interface ManifestCommand {
  id: string
  examples?: string[]
  flags: Record<string, ManifestFlag>
  relativePath: string[]
}

const MANIFEST = join(ROOT_DIR, 'oclif.manifest.json')

function commandFiles(dir: string): string[] {
  return readdirSync(dir, {withFileTypes: true}).flatMap((e) =>
    e.isDirectory() ? commandFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  )
}

function manifest(): ManifestCommand[] {
  if (!existsSync(MANIFEST)) throw new Error('oclif.manifest.json is missing: run npm run build')
  return Object.values((JSON.parse(readFileSync(MANIFEST, 'utf8')) as {commands: Record<string, ManifestCommand>}).commands)
}

test('the manifest lists every command file', (t) => {
  const ids = manifest()
    .map((c) => c.id)
    .sort()
  const files = commandFiles(join(ROOT_DIR, 'src/commands'))
    .map((f) => relative(join(ROOT_DIR, 'src/commands'), f).replace(/\.ts$/, '').split('/').join(':'))
    .sort()
  t.deepEqual(ids, files)
})

test('every command has examples that run vctl with that command', (t) => {
  for (const c of manifest()) {
    const examples = c.examples ?? []
    t.true(examples.length >= 1, `${c.id} has no examples`)
    const words = c.id.split(':').join(' ')
    const aliases = c.id === 'socket:status' ? ['socket status', 'sockets status'] : [words]
    for (const e of examples)
      t.true(
        aliases.some((a) => e.startsWith(`<%= config.bin %> ${a}`)),
        `${c.id}: ${e}`,
      )
  }
})

test('every client command takes --json and -c/--connect', (t) => {
  const client = manifest().filter((c) => c.relativePath.join('/').match(/commands\/(domain\/|version|hostname|nodeinfo|capabilities)/))
  t.true(client.length >= 20)
  for (const c of client) {
    t.truthy(c.flags.json, `${c.id} --json`)
    t.is(c.flags.connect?.char, 'c', `${c.id} -c`)
  }
})

test('the build made a V8 code cache for oclif that this node accepts', (t) => {
  const file = join(ROOT_DIR, 'dist/lib/vendor/oclif-wrapped.js')
  const script = new Script(readFileSync(file, 'utf8'), {filename: file, cachedData: readFileSync(`${file}.cache`)})
  t.false(script.cachedDataRejected)
})

test('the daemon fast path is small and loads the daemon itself only when it runs one', (t) => {
  const main = readFileSync(join(ROOT_DIR, 'dist/lib/cli/daemon-main.js'), 'utf8')
  t.true(main.length < 64 * 1024, `daemon-main.js is ${main.length} bytes`)
  t.regex(main, /import\("\.\/daemon-server\.js"\)/)
})
