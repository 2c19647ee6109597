#!/usr/bin/env node
// Builds dist/: one ESM bundle per command (oclif finds them in dist/commands), the oclif entry
// bin/run.js uses and the lean daemon entry, with @oclif/core, the other dependencies and vctl's
// own modules split into shared chunks under dist/lib/chunks. Loading a few chunks instead of some
// 250 separate files is most of what makes `vctl` start quickly. Modules imported with import()
// stay separate chunks, loaded only by the commands that use them. Type checking is `npm run
// typecheck`.
import {build} from 'esbuild'
import {execFileSync} from 'node:child_process'
import {readdirSync, writeFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {join, resolve} from 'node:path'

const ROOT = resolve(import.meta.dirname, '..')

function tsFiles(dir) {
  return readdirSync(dir, {withFileTypes: true}).flatMap((e) =>
    e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  )
}

// Bundled CommonJS dependencies (oclif, cli-table3, ...) call require() and read __dirname.
const banner = [
  'import {createRequire as __vctlCreateRequire} from "node:module";',
  'import {fileURLToPath as __vctlFileURLToPath} from "node:url";',
  'const require = __vctlCreateRequire(import.meta.url);',
  'const __filename = __vctlFileURLToPath(import.meta.url);',
  'const __dirname = __vctlFileURLToPath(new URL(".", import.meta.url));',
].join(' ')

const result = await build({
  absWorkingDir: ROOT,
  entryPoints: [...tsFiles(join(ROOT, 'src/commands')), join(ROOT, 'src/lib/cli/oclif.ts'), join(ROOT, 'src/lib/cli/daemon-main.ts')],
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
  minifyWhitespace: !process.env.VCTL_BUILD_READABLE,
  legalComments: 'none',
  logLevel: 'warning',
  metafile: Boolean(process.env.VCTL_BUILD_META),
})
if (result.metafile) writeFileSync(process.env.VCTL_BUILD_META, JSON.stringify(result.metafile))

// oclif.manifest.json: the commands' flags, args and help, so oclif finds and describes a command
// without importing every command file at each start. (No update check: the build is offline.)
const oclifBin = createRequire(import.meta.url).resolve('oclif/bin/run.js')
execFileSync(process.execPath, [oclifBin, 'manifest'], {
  cwd: ROOT,
  stdio: ['ignore', 'ignore', 'inherit'],
  env: {...process.env, OCLIF_SKIP_NEW_VERSION_CHECK: 'true', OCLIF_DISABLE_UPDATE_NOTIFIER: 'true'},
})
