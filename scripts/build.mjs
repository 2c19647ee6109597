#!/usr/bin/env node
// Builds dist/ with esbuild (npm run build): one ESM bundle per command (oclif finds them in
// dist/commands) and the oclif entry bin/run.js uses, sharing chunks under dist/lib/chunks (modules
// imported with import() stay separate chunks, loaded only by the commands that use them); @oclif/core
// as one CommonJS file with a V8 code cache; the daemon's fast path as two files; then
// oclif.manifest.json. Loading a few files instead of some 250 is most of what makes `vctl` start
// quickly. Type checking is `npm run typecheck`. VCTL_BUILD_READABLE=1 skips minifying (profiling).
import {build} from 'esbuild'
import {execFileSync} from 'node:child_process'
import {mkdirSync, readFileSync, readdirSync, writeFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {Script} from 'node:vm'
import {dirname, join, resolve} from 'node:path'

/**
 * The daemon's bundle is read as latin1 (bin/vctl-daemon.cjs, code-cache.ts): a one-byte string at
 * once, where decoding 1.7 MB of UTF-8 costs a starting daemon several ms. That holds only for ASCII,
 * which esbuild writes almost always (not in regular expressions: oclif's bundle has one, and is read
 * as UTF-8).
 */
function assertAscii(file, code) {
  // eslint-disable-next-line no-control-regex -- the range starts at NUL on purpose
  const at = code.search(/[^\x00-\x7f]/)
  if (at >= 0) throw new Error(`${file}: not ASCII at offset ${at} (${JSON.stringify(code.slice(at - 40, at + 20))}); it is read as latin1`)
}
const ROOT = resolve(import.meta.dirname, '..')

function tsFiles(dir) {
  return readdirSync(dir, {withFileTypes: true}).flatMap((e) =>
    e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  )
}

// Bundled CommonJS dependencies (cli-table3, ...) require() node's built-in modules.
const banner = 'import {createRequire as __vctlCreateRequire} from "node:module"; const require = __vctlCreateRequire(import.meta.url);'

// @oclif/core and its dependencies as one CommonJS file, loaded with a V8 code cache (see
// src/lib/cli/oclif-core.ts, which every `from '@oclif/core'` of the main build is pointed at).
// The file holds the module already wrapped as a function, and its import() calls go through a
// parameter: node cannot run import() in code compiled from a cache (no callback survives it).
const VENDOR = join(ROOT, 'dist/lib/vendor/oclif-wrapped.js')

// oclif sorts its command list with localeCompare at every start, and the first localeCompare of a
// process costs milliseconds of ICU set-up; command IDs are ASCII, where plain comparison orders alike.
const PLUGIN_SORT = '.sort((a, b) => a.id.localeCompare(b.id))'
const asciiSort = {
  name: 'oclif-ascii-sort',
  setup(b) {
    b.onLoad({filter: /@oclif[\\/]core[\\/]lib[\\/]config[\\/]plugin\.js$/}, (args) => {
      const code = readFileSync(args.path, 'utf8')
      if (!code.includes(PLUGIN_SORT)) throw new Error(`${args.path}: '${PLUGIN_SORT}' not found; update scripts/build.mjs`)
      return {contents: code.replace(PLUGIN_SORT, '.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))'), loader: 'js'}
    })
  },
}
const vendorBuild = await build({
  absWorkingDir: ROOT,
  stdin: {contents: "module.exports = require('@oclif/core')", resolveDir: ROOT, sourcefile: 'oclif-vendor.cjs', loader: 'js'},
  write: false,
  outfile: VENDOR,
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  external: ['typescript', 'ts-node'],
  plugins: [asciiSort],
  minifyWhitespace: !process.env.VCTL_BUILD_READABLE,
  legalComments: 'none',
  logLevel: 'warning',
})
let imports = 0
const vendorCode = vendorBuild.outputFiles[0].text.replace(/(?<![\w$."'`])import\(/g, () => (imports++, '__vctlImport('))
if (imports === 0) throw new Error('oclif bundle: no import() found to route through __vctlImport; check the rewrite')
mkdirSync(dirname(VENDOR), {recursive: true})
writeFileSync(VENDOR, `(function (exports, require, module, __filename, __dirname, __vctlImport) {${vendorCode}\n})`)

const result = await build({
  absWorkingDir: ROOT,
  entryPoints: [...tsFiles(join(ROOT, 'src/commands')), join(ROOT, 'src/lib/cli/oclif.ts')],
  outbase: 'src',
  outdir: 'dist',
  // Chunks sit as deep as dist/lib/<dir>/*.js, so paths relative to import.meta.url (templates/) hold.
  chunkNames: 'lib/chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // oclif's optional TypeScript support (ts-node, typescript) is never used by the built CLI.
  external: ['typescript', 'ts-node'],
  banner: {js: banner},
  alias: {'@oclif/core': './src/lib/cli/oclif-core.ts'},
  minifyWhitespace: !process.env.VCTL_BUILD_READABLE,
  legalComments: 'none',
  logLevel: 'warning',
  metafile: Boolean(process.env.VCTL_BUILD_META),
})
if (result.metafile) writeFileSync(process.env.VCTL_BUILD_META, JSON.stringify(result.metafile))

// The daemon's fast path (bin/run.js, `daemon start`): daemon-main.js parses the flags and detaches
// (all that the parent of `-d` loads); daemon-server.js (src/lib/cli/daemon-server-cached.ts) loads
// the daemon itself, one CommonJS bundle (src/lib/cli/daemon-bundle.ts: the daemon and its lean
// start) wrapped as a function (dist/lib/vendor/daemon-wrapped.js) with a V8 code cache, like
// oclif's; bin/vctl-daemon.cjs, which systemd's units run, loads only that. A daemon loads most of
// its code anyway, and one script compiled from a cache costs far less than ES modules compiled at
// every start: a socket-activated daemon answers its first client that much sooner.
const serverApart = {
  name: 'daemon-server-apart',
  setup(b) {
    b.onResolve({filter: /^\.\/server\.js$/}, (args) =>
      args.importer.endsWith(join('lib', 'daemon', 'launch.ts')) ? {path: './daemon-server.js', external: true} : undefined,
    )
  },
}
for (const [entry, outfile, plugins] of [
  ['src/lib/cli/daemon-main.ts', 'dist/lib/cli/daemon-main.js', [serverApart]],
  ['src/lib/cli/daemon-server-cached.ts', 'dist/lib/cli/daemon-server.js', []],
  ['src/lib/client/ssh-helper.ts', 'dist/lib/cli/ssh-helper.js', []],
]) {
  await build({
    absWorkingDir: ROOT,
    entryPoints: [join(ROOT, entry)],
    outfile,
    plugins,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    banner: {js: banner},
    alias: {'@oclif/core': './src/lib/cli/oclif-core.ts'},
    minifyWhitespace: !process.env.VCTL_BUILD_READABLE,
    legalComments: 'none',
    logLevel: 'warning',
  })
}
const DAEMON = join(ROOT, 'dist/lib/vendor/daemon-wrapped.js')
const daemonBuild = await build({
  absWorkingDir: ROOT,
  entryPoints: [join(ROOT, 'src/lib/cli/daemon-bundle.ts')],
  write: false,
  outfile: DAEMON,
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  // The wrapper's last parameter (src/lib/cli/code-cache.ts).
  define: {'import.meta.url': '__vctlImportMetaUrl'},
  minifyWhitespace: !process.env.VCTL_BUILD_READABLE,
  legalComments: 'none',
  logLevel: 'warning',
})
/**
 * esbuild's __toESM, which every `import * as fs from 'node:fs'` (and default import) of a CommonJS
 * module runs once per importing module, copying the module's every property into a new object:
 * for fifty modules importing node:fs a starting daemon made fifty copies. The same object serves
 * them all here (the copies are read-only views of the same module), made once per module.
 */
function shareToEsm(code) {
  const helper = /var __toESM=(\(mod,isNodeMode,target\)=>\(target=mod!=null\?[^;]*\)\);)/
  const m = helper.exec(code)
  if (!m) throw new Error("daemon bundle: esbuild's __toESM helper not found (has esbuild changed?)")
  const shared =
    'var __vctlEsm=new WeakMap;var __toESM=(mod,isNodeMode,target)=>{' +
    'if(target!==void 0||mod===null||(typeof mod!=="object"&&typeof mod!=="function"))return __vctlToEsm(mod,isNodeMode,target);' +
    'let c=__vctlEsm.get(mod);if(!c)__vctlEsm.set(mod,(c=[]));const i=isNodeMode?1:0;return c[i]??(c[i]=__vctlToEsm(mod,isNodeMode))};' +
    `var __vctlToEsm=${m[1]}`
  return code.replace(helper, () => shared)
}
/**
 * Node modules that cost a starting daemon milliseconds to load (node:crypto alone about 7 ms on these
 * machines) and that it needs only later, if at all: each `require()` of one in the bundle becomes
 * a stand-in that loads the module at its first use (a call, a property read). Namespace imports
 * (__toESM) copy the module's properties at once, so they are left as they are.
 */
const LAZY_BUILTINS = ['node:crypto', 'node:child_process', 'node:tty', 'node:readline']
function lazyBuiltins(code) {
  const lazy =
    'var __vctlLazy=(id)=>{let m;const load=()=>m??(m=require(id));return new Proxy({},{get:(_,k)=>load()[k],' +
    'has:(_,k)=>k in load(),ownKeys:()=>Reflect.ownKeys(load()),' +
    'getOwnPropertyDescriptor:(_,k)=>{const d=Reflect.getOwnPropertyDescriptor(load(),k);if(d)d.configurable=true;return d}})};'
  let n = 0
  const out = code.replace(/(?<!__toESM\()require\("(node:[a-z_/]+)"\)/g, (all, id) =>
    LAZY_BUILTINS.includes(id) ? (n++, `__vctlLazy("${id}")`) : all,
  )
  if (n === 0) throw new Error('daemon bundle: no require() of a lazy builtin found; check lazyBuiltins')
  return lazy + out
}
const daemonCode = lazyBuiltins(shareToEsm(daemonBuild.outputFiles[0].text))
// Code compiled from a cache cannot run import(): every module is in the bundle, and node's own are require()d.
if (/(?<![\w$."'`])import\(/.test(daemonCode)) throw new Error('daemon bundle: an import() was left in it; bundle or require() that module')
assertAscii(DAEMON, daemonCode)
writeFileSync(DAEMON, `(function (exports, require, module, __filename, __dirname, __vctlImportMetaUrl) {${daemonCode}\n})`)

// oclif.manifest.json: the commands' flags, args and help, so oclif finds and describes a command
// without importing every command file at each start. (No update check: the build is offline.)
const oclifBin = createRequire(import.meta.url).resolve('oclif/bin/run.js')
execFileSync(process.execPath, [oclifBin, 'manifest'], {
  cwd: ROOT,
  stdio: ['ignore', 'ignore', 'inherit'],
  env: {...process.env, OCLIF_SKIP_NEW_VERSION_CHECK: 'true', OCLIF_DISABLE_UPDATE_NOTIFIER: 'true'},
})

// The code cache, made the way src/lib/cli/oclif-core.ts compiles the file, after loading oclif
// and this CLI's configuration, so that it also holds the functions every command runs through.
// Made last: the configuration reads oclif.manifest.json.
const script = new Script(readFileSync(VENDOR, 'utf8'), {filename: VENDOR})
const vendor = {exports: {}}
script.runInThisContext().call(vendor.exports, vendor.exports, createRequire(VENDOR), vendor, VENDOR, dirname(VENDOR), (s) => import(s))
await vendor.exports.Config.load(ROOT)
writeFileSync(`${VENDOR}.cache`, script.createCachedData())

// The daemon's code cache, made in a process of its own after a daemon started from the bundle has
// answered a client's first calls (scripts/daemon-code-cache.mjs).
execFileSync(process.execPath, [join(ROOT, 'scripts/daemon-code-cache.mjs'), DAEMON, `${DAEMON}.cache`], {
  stdio: ['ignore', 'ignore', 'inherit'],
  timeout: 120000,
})
