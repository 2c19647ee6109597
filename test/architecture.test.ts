/**
 * The dependency rules of ARCHITECTURE.md, checked on the source tree: which folder may import
 * which, and the size limit of a source file. A change that breaks a rule fails here, naming the
 * file and the import.
 */
import test from 'ava'
import {readdirSync, readFileSync} from 'node:fs'
import {dirname, join, relative, resolve} from 'node:path'

const ROOT = resolve(import.meta.dirname, '..')
const SRC = join(ROOT, 'src')
const MAX_LINES = 500

function sources(dir: string): string[] {
  return readdirSync(dir, {withFileTypes: true}).flatMap((e) => {
    const p = join(dir, e.name)
    if (e.isDirectory()) return sources(p)
    return e.name.endsWith('.ts') ? [p] : []
  })
}

interface Edge {
  from: string
  to: string
  typeOnly: boolean
}

/** Every relative import of a file (static, re-exports and dynamic), resolved to a src path. */
function importsOf(file: string): Edge[] {
  const text = readFileSync(file, 'utf8')
  const edges: Edge[] = []
  const from = relative(SRC, file)
  const patterns = [/^\s*(import|export)\s+(type\s+)?[^'"]*?from\s+'(\.[^']+)'/gm, /import\(\s*'(\.[^']+)'\s*\)/g]
  for (const m of text.matchAll(patterns[0])) {
    edges.push({from, to: relative(SRC, resolve(dirname(file), m[3])).replace(/\.js$/, '.ts'), typeOnly: m[2] !== undefined})
  }
  for (const m of text.matchAll(patterns[1])) {
    edges.push({from, to: relative(SRC, resolve(dirname(file), m[1])).replace(/\.js$/, '.ts'), typeOnly: false})
  }
  return edges
}

const files = sources(SRC)
const edges = files.flatMap(importsOf)
const under = (p: string, dir: string) => p.startsWith(`${dir}/`)
const broken = (rule: (e: Edge) => boolean) =>
  edges
    .filter(rule)
    .map((e) => `${e.from} -> ${e.to}`)
    .sort()

test('the source tree has the folders ARCHITECTURE.md describes', (t) => {
  for (const dir of ['commands', 'lib/cli', 'lib/client', 'lib/rpc', 'lib/daemon', 'lib/drivers', 'lib/services', 'lib/conf', 'lib/systemd']) {
    t.true(
      files.some((f) => under(relative(SRC, f), dir)),
      dir,
    )
  }
})

test('a driver imports neither the daemon, the services, the RPC layer, the client nor another driver', (t) => {
  const driverOf = (p: string) => (under(p, 'lib/drivers') ? p.split('/')[2] : undefined)
  const bad = broken((e) => {
    if (!under(e.from, 'lib/drivers')) return false
    if (['lib/daemon', 'lib/services', 'lib/rpc', 'lib/client', 'lib/cli', 'commands'].some((d) => under(e.to, d))) return true
    const a = driverOf(e.from)
    const b = driverOf(e.to)
    // Files directly under drivers/ (types, registry, list filter) are shared by all drivers.
    const own = (p: string) => p.split('/').length > 4
    return own(e.from) && own(e.to) && a !== b
  })
  t.deepEqual(bad, [])
})

test('conf (XML and object lists) depends on nothing above it', (t) => {
  const above = ['lib/drivers', 'lib/daemon', 'lib/services', 'lib/rpc', 'lib/client', 'lib/cli', 'commands', 'lib/systemd']
  t.deepEqual(
    broken((e) => under(e.from, 'lib/conf') && above.some((d) => under(e.to, d))),
    [],
  )
})

test('the RPC layer knows no daemon, driver, service, client library or command', (t) => {
  const above = ['lib/drivers', 'lib/daemon', 'lib/services', 'lib/client', 'lib/cli', 'commands', 'lib/conf']
  t.deepEqual(
    broken((e) => under(e.from, 'lib/rpc') && above.some((d) => under(e.to, d))),
    [],
  )
})

test('services do not import drivers; the client library does not import the daemon side', (t) => {
  t.deepEqual(
    broken((e) => under(e.from, 'lib/services') && ['lib/drivers', 'lib/client', 'lib/cli', 'commands'].some((d) => under(e.to, d))),
    [],
  )
  t.deepEqual(
    broken((e) => under(e.from, 'lib/client') && ['lib/drivers', 'lib/daemon', 'lib/services', 'lib/cli', 'commands'].some((d) => under(e.to, d))),
    [],
  )
})

test('commands reach procedures only through the client library', (t) => {
  // Client commands never touch the RPC layer or a driver; the daemon, units and mode commands
  // run the daemon or systemd side through their own libraries.
  t.deepEqual(
    broken((e) => under(e.from, 'commands') && !e.typeOnly && ['lib/rpc', 'lib/drivers', 'lib/services'].some((d) => under(e.to, d))),
    [],
  )
})

test(`no source file is over ${MAX_LINES} lines`, (t) => {
  const long = files
    .map((f) => ({f: relative(ROOT, f), n: readFileSync(f, 'utf8').split('\n').length - 1}))
    .filter((x) => x.n > MAX_LINES)
    .map((x) => `${x.f}: ${x.n}`)
  t.deepEqual(long, [])
})
