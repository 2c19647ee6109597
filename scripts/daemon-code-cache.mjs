#!/usr/bin/env node
// Makes the V8 code cache of the daemon's bundle (scripts/build.mjs runs this, in a process of its
// own): the bundle is run as bin/vctl-daemon.cjs runs it, a daemon is started under a temporary
// --root, and a client makes the calls a client makes first (AUTH_LIST, CONNECT_OPEN of
// qemu:///system, CONNECT_GET_VERSION). The cache is made after that, so it holds the compiled code
// of everything a starting daemon runs until its first answers, not only the bundle's top level: a
// socket-activated daemon then compiles almost nothing before it answers.
// Usage: daemon-code-cache.mjs BUNDLE CACHE
import {chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {pathToFileURL} from 'node:url'
import {Script} from 'node:vm'
import {firstAnswer} from './first-answer.mjs'

const [bundle, cacheFile] = process.argv.slice(2)
const root = mkdtempSync(join(tmpdir(), 'vctl-code-cache-'))
try {
  const script = new Script(readFileSync(bundle, 'latin1'), {filename: bundle})
  const mod = {exports: {}}
  script.runInThisContext().call(mod.exports, mod.exports, createRequire(bundle), mod, bundle, dirname(bundle), pathToFileURL(bundle).href)
  const lean = mod.exports
  const argv = ['--root', root]
  void lean
    .startDaemon(lean.parseLean(argv), argv, () => {})
    .catch((err) => {
      console.error(`daemon code cache: the daemon did not start: ${err.message}`)
      process.exit(1)
    })
  const sock = join(root, 'run/libvirt/libvirt-sock')
  const deadline = Date.now() + 30000
  while (!existsSync(sock)) {
    if (Date.now() > deadline) throw new Error(`no socket ${sock} within 30 s`)
    await new Promise((r) => setTimeout(r, 10))
  }
  // Twice: the second connection is served by a daemon whose drivers are all set up.
  // (a host without QEMU refuses the open: an answer all the same)
  await firstAnswer(sock, 'qemu:///system', {timeoutMs: 30000, anyAnswer: true})
  await firstAnswer(sock, 'qemu:///system', {timeoutMs: 30000, anyAnswer: true})
  writeFileSync(cacheFile, script.createCachedData())
  // readable by all, as the bundle (the daemon set its own umask, 077, in this process)
  chmodSync(cacheFile, 0o644)
} finally {
  rmSync(root, {recursive: true, force: true})
}
// The daemon started here is not stopped: this process exits with it.
process.exit(0)
