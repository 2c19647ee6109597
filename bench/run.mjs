#!/usr/bin/env node
// Benchmarks vctl's daemon against the real libvirtd (Debian's, test driver) in the same run,
// driven by the same libvirt-python client, and prints each figure for both with the ratio.
import {spawn, execFileSync} from 'node:child_process'
import {mkdtempSync, writeFileSync, readFileSync, existsSync, rmSync, mkdirSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'
import {waitGone} from './private-libvirtd.mjs'

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
  } catch {
    // already gone
  }
  await waitGone(pid, 5000)
  rmSync(dir, {recursive: true, force: true})
}

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]

function measure(d, what) {
  return JSON.parse(sh('/usr/bin/python3', [join(ROOT, 'bench/client.py'), d.uri, DUR, what]))
}

// [label, key, higher is better, measure]
const rows = [
  ['getVersion calls/s, 1 client', 'getVersion_1', true, 'rate1'],
  ['getVersion calls/s, 20 clients', 'getVersion_20', true, 'rate20'],
  ["2nd client's call while 1 streams: median (ms)", 'fair_median_ms', false, 'fair'],
  ["2nd client's call while 1 streams: p99 (ms)", 'fair_p99_ms', false, 'fair'],
  ['  the streaming client meanwhile (calls/s)', 'fair_streamer_rate', true, 'fair'],
  ['listAllDomains, 1,000 domains (ms/call)', 'listAllDomains_1000_ms', false, 'domains'],
  ['virsh list --all, 1,000 domains (ms)', 'virsh_list_all_1000_ms', false, 'domains'],
]

// Both daemons run side by side; rounds alternate between them (and which goes first), and each
// figure is the median of its rounds: one round is at the mercy of whatever else the machine runs.
const ours = await startVctl()
const theirs = await startLibvirtd()
const samples = {vctl: {}, libvirtd: {}}
const add = (name, out) => {
  for (const [k, v] of Object.entries(out)) (samples[name][k] ??= []).push(v)
}
try {
  for (let i = 0; i < ROUNDS; i++) {
    const order = i % 2 ? [theirs, ours] : [ours, theirs]
    for (const what of ['rate1', 'rate20', 'fair']) for (const d of order) add(d.name, measure(d, what))
  }
  for (const d of [ours, theirs]) add(d.name, measure(d, 'domains'))
} finally {
  await ours.stop()
  await theirs.stop()
}
const a = Object.fromEntries(Object.entries(samples.vctl).map(([k, v]) => [k, median(v)]))
const b = Object.fromEntries(Object.entries(samples.libvirtd).map(([k, v]) => [k, median(v)]))
if (a.listAllDomains_count !== 1001 || b.listAllDomains_count !== 1001)
  throw new Error(`domain counts differ: ${a.listAllDomains_count} vs ${b.listAllDomains_count}`)
const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')
console.log(`median of ${ROUNDS} alternating rounds (${DUR} s each); load average at the end: ${load}`)
console.log('figure'.padEnd(50), 'vctl'.padStart(12), 'libvirtd'.padStart(12), 'ratio'.padStart(8))
for (const [label, key, higherBetter] of rows) {
  const ratio = higherBetter ? a[key] / b[key] : b[key] / a[key]
  console.log(label.padEnd(50), a[key].toFixed(1).padStart(12), b[key].toFixed(1).padStart(12), `${ratio.toFixed(2)}x`.padStart(8))
}
console.log('(ratio > 1 means vctl is better: more calls/s, or less time)')
