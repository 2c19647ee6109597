#!/usr/bin/env node
// CLI start-up: median wall time over BENCH_CLI_RUNS runs (default 20) of vctl's commands against a
// vctl daemon this script starts on a temp --root (test driver), beside virsh on the same daemon and
// node itself doing nothing (the floor for any Node.js CLI on this machine).
import {execFileSync, spawnSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'

const ROOT = resolve(import.meta.dirname, '..')
const BIN = join(ROOT, 'bin/run.js')
const RUNS = Number(process.env.BENCH_CLI_RUNS ?? 20)
const TARGET_LIST_MS = 150

function median(xs) {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]
}

/** Median wall time of a command, from spawn to exit; a failing run aborts the benchmark. */
function time(cmd, args) {
  const ms = []
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now()
    const r = spawnSync(cmd, args, {stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8'})
    ms.push(performance.now() - t0)
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`)
  }
  return median(ms)
}

const root = mkdtempSync(join(tmpdir(), 'bench-cli-'))
execFileSync(process.execPath, [BIN, 'daemon', 'start', '--root', root, '-d'], {stdio: 'ignore'})
const pid = Number(readFileSync(join(root, 'run/libvirtd.pid'), 'utf8'))
const uri = `test+unix:///default?socket=${root}/run/libvirt/libvirt-sock`
const rows = []
try {
  rows.push(['node -e 0 (no vctl at all)', time(process.execPath, ['-e', '0'])])
  rows.push(['vctl version --help', time(process.execPath, [BIN, 'version', '--help'])])
  rows.push(['vctl version', time(process.execPath, [BIN, 'version', '-c', uri])])
  rows.push(['vctl domain list --all', time(process.execPath, [BIN, 'domain', 'list', '--all', '-c', uri])])
  rows.push(['virsh list --all', time('virsh', ['-c', uri, 'list', '--all'])])
} finally {
  process.kill(pid, 'SIGTERM')
  await new Promise((r) => setTimeout(r, 300))
  rmSync(root, {recursive: true, force: true})
}
const virsh = rows.at(-1)[1]
console.log(`CLI start-up, median wall time of ${RUNS} runs each, against the same vctl daemon (test driver)`)
console.log('command'.padEnd(32), 'ms'.padStart(8), 'x virsh'.padStart(9))
for (const [label, ms] of rows) console.log(label.padEnd(32), ms.toFixed(1).padStart(8), `${(ms / virsh).toFixed(1)}x`.padStart(9))
const list = rows.find(([label]) => label === 'vctl domain list --all')[1]
console.log(`target: vctl domain list --all <= ${TARGET_LIST_MS} ms: ${list <= TARGET_LIST_MS ? 'met' : 'missed'}`)
if (process.env.NODE_EXTRA_CA_CERTS) console.log(`(NODE_EXTRA_CA_CERTS is set: node reads that CA bundle at every start, which node -e 0 includes)`)
