#!/usr/bin/env node
// Benchmarks vctl's daemon against the real libvirtd (Debian's, test driver) in the same run,
// driven by the same libvirt-python client, and prints each figure for both with the ratio.
import {spawn, execFileSync} from 'node:child_process'
import {mkdtempSync, writeFileSync, readFileSync, existsSync, rmSync, mkdirSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'

const ROOT = resolve(import.meta.dirname, '..')
const DUR = process.env.BENCH_SECONDS ?? '3'

function sh(cmd, args, opts = {}) {
  return execFileSync(cmd, args, {encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], ...opts})
}

async function waitFor(path, ms = 15000) {
  const end = Date.now() + ms
  while (!existsSync(path)) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${path}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

async function startVctl() {
  const root = mkdtempSync(join(tmpdir(), 'bench-vctl-'))
  sh(process.execPath, [join(ROOT, 'bin/run.js'), 'daemon', 'start', '--root', root, '-d'])
  const pid = Number(readFileSync(join(root, 'run/libvirtd.pid'), 'utf8'))
  return {name: 'vctl', uri: `test+unix:///default?socket=${root}/run/libvirt/libvirt-sock`, stop: () => stop(pid, root)}
}

async function startLibvirtd() {
  const dir = mkdtempSync(join(tmpdir(), 'bench-libvirtd-'))
  mkdirSync(join(dir, 'run'))
  const conf = join(dir, 'libvirtd.conf')
  writeFileSync(conf, `unix_sock_dir = "${dir}/run"\nauth_unix_rw = "none"\nauth_unix_ro = "none"\nlisten_tls = 0\nlisten_tcp = 0\nlog_level = 4\n`)
  const child = spawn('/usr/sbin/libvirtd', ['-f', conf, '-p', join(dir, 'libvirtd.pid')], {stdio: 'ignore', detached: true})
  child.unref()
  await waitFor(join(dir, 'run/libvirt-sock'))
  await new Promise((r) => setTimeout(r, 500))
  return {name: 'libvirtd', uri: `test+unix:///default?socket=${dir}/run/libvirt-sock`, stop: () => stop(child.pid, dir)}
}

async function stop(pid, dir) {
  try {
    process.kill(pid, 'SIGTERM')
  } catch {}
  for (let i = 0; i < 100; i++) {
    try {
      process.kill(pid, 0)
    } catch {
      break
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  rmSync(dir, {recursive: true, force: true})
}

function measure(d) {
  return JSON.parse(sh('/usr/bin/python3', [join(ROOT, 'bench/client.py'), d.uri, DUR]))
}

const rows = [
  ['getVersion calls/s, 1 client', 'getVersion_1', true],
  ['getVersion calls/s, 20 clients', 'getVersion_20', true],
  ['listAllDomains, 1,000 domains (ms/call)', 'listAllDomains_1000_ms', false],
  ['virsh list --all, 1,000 domains (ms)', 'virsh_list_all_1000_ms', false],
]

const ours = await startVctl()
let a
try {
  a = measure(ours)
} finally {
  await ours.stop()
}
const theirs = await startLibvirtd()
let b
try {
  b = measure(theirs)
} finally {
  await theirs.stop()
}
if (a.listAllDomains_count !== 1001 || b.listAllDomains_count !== 1001)
  throw new Error(`domain counts differ: ${a.listAllDomains_count} vs ${b.listAllDomains_count}`)
console.log('figure'.padEnd(44), 'vctl'.padStart(12), 'libvirtd'.padStart(12), 'ratio'.padStart(8))
for (const [label, key, higherBetter] of rows) {
  const ratio = higherBetter ? a[key] / b[key] : b[key] / a[key]
  console.log(label.padEnd(44), a[key].toFixed(1).padStart(12), b[key].toFixed(1).padStart(12), `${ratio.toFixed(2)}x`.padStart(8))
}
console.log('(ratio > 1 means vctl is better: more calls/s, or less time)')
