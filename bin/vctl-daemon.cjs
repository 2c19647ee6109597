#!/usr/bin/env node
// vctl's daemons as systemd's units start them: `vctl-daemon.cjs [daemon start] FLAGS` is
// `vctl daemon start FLAGS`. A CommonJS script that loads the daemon's one bundle with its V8 code
// cache (src/lib/cli/code-cache.ts does the same for bin/run.js), with no ES module loader and no
// oclif: a socket-activated daemon answers its first client that much sooner. Anything unusual
// (--help, --version, a flag it does not know or a value it would reject) goes to bin/run.js.
'use strict'
/* global __dirname, process */
const {readFileSync} = require('node:fs')
const {createRequire} = require('node:module')
const {dirname, join} = require('node:path')
const {pathToFileURL} = require('node:url')
const {Script} = require('node:vm')

const file = join(__dirname, '../dist/lib/vendor/daemon-wrapped.js')
let cachedData
try {
  cachedData = readFileSync(`${file}.cache`)
} catch {
  // no cache: compiled as usual
}
// The bundle is ASCII (scripts/build.mjs checks): read as latin1, it is a one-byte string at once,
// without the UTF-8 decoding (several ms for its 1.7 MB).
const wrapped = new Script(readFileSync(file, 'latin1'), {filename: file, cachedData}).runInThisContext()
const mod = {exports: {}}
wrapped.call(mod.exports, mod.exports, createRequire(file), mod, file, dirname(file), pathToFileURL(file).href)
const lean = mod.exports

let argv = process.argv.slice(2)
if (argv[0] === 'daemon' && argv[1] === 'start') argv = argv.slice(2)
const flags = lean.parseLean(argv)
const run = join(__dirname, 'run.js')
if (!flags) {
  process.argv = [process.argv[0], run, 'daemon', 'start', ...argv]
  void import(pathToFileURL(run).href)
} else {
  lean
    .startDaemon(flags, argv, (m) => process.stdout.write(`${m}\n`))
    .catch(async (err) => {
      // Reported by oclif, as `vctl daemon start` reports its errors.
      const {Errors} = await import(pathToFileURL(join(__dirname, '../dist/lib/cli/oclif.js')).href)
      await Errors.handle(new Errors.CLIError(err.message, {exit: err instanceof lean.DaemonStartFailure ? err.exit : 1}))
    })
}
