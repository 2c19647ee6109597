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
import {connect} from 'node:net'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {pathToFileURL} from 'node:url'
import {Script} from 'node:vm'

const [bundle, cacheFile] = process.argv.slice(2)
const REMOTE = 0x20008086
const PROC = {CONNECT_OPEN: 1, CONNECT_GET_VERSION: 4, AUTH_LIST: 66}

function call(proc, serial, payload = Buffer.alloc(0)) {
  const h = Buffer.alloc(28)
  h.writeUInt32BE(28 + payload.length, 0)
  h.writeUInt32BE(REMOTE, 4)
  h.writeUInt32BE(1, 8)
  h.writeInt32BE(proc, 12)
  h.writeUInt32BE(serial, 20)
  return Buffer.concat([h, payload])
}

function openArgs(uri) {
  const s = Buffer.from(uri)
  const str = Buffer.alloc(4 + s.length + ((4 - (s.length % 4)) % 4))
  str.writeUInt32BE(s.length, 0)
  s.copy(str, 4)
  // remote_connect_open_args: a non-null string (optional: 1, then the string), flags
  return Buffer.concat([Buffer.from([0, 0, 0, 1]), str, Buffer.alloc(4)])
}

/** The first calls of a client, one after the other; whatever the answers (a host without QEMU refuses the open). */
function firstCalls(path) {
  const calls = [call(PROC.AUTH_LIST, 0), call(PROC.CONNECT_OPEN, 1, openArgs('qemu:///system')), call(PROC.CONNECT_GET_VERSION, 2)]
  return new Promise((resolve, reject) => {
    const s = connect(path)
    let buf = Buffer.alloc(0)
    let next = 0
    s.once('connect', () => s.write(calls[next++]))
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d])
      while (buf.length >= 4 && buf.length >= buf.readUInt32BE(0)) {
        buf = buf.subarray(buf.readUInt32BE(0))
        if (next === calls.length) {
          s.destroy()
          resolve()
          return
        }
        s.write(calls[next++])
      }
    })
    s.once('error', reject)
  })
}

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
  await firstCalls(sock)
  await firstCalls(sock)
  writeFileSync(cacheFile, script.createCachedData())
  // readable by all, as the bundle (the daemon set its own umask, 077, in this process)
  chmodSync(cacheFile, 0o644)
} finally {
  rmSync(root, {recursive: true, force: true})
}
// The daemon started here is not stopped: this process exits with it.
process.exit(0)
