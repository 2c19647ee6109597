#!/usr/bin/env node
// Daemon start-up: wall time from spawning the daemon to its first answered call (connect, AUTH_LIST,
// CONNECT_OPEN test:///default, CONNECT_GET_VERSION on the read-write socket, polled every 2 ms), and
// the idle daemon's resident memory, for vctl's daemon (foreground and -d) beside Debian's real
// libvirtd (system mode as root, all its drivers, QEMU included). libvirtd runs in a private mount
// namespace whose /etc/libvirt, /run/libvirt, /var/lib/libvirt, /var/log/libvirt and
// /var/cache/libvirt are temp directories, so the host's are never touched. Each daemon starts
// BENCH_DAEMON_RUNS times (default 7) on the same directories: the first start is cold (QEMU
// capabilities probed), the median is taken over the warm ones, as on a host that has run before.
import {spawn} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {ROOT, firstAnswer, median} from './harness.mjs'
import {privateLibvirtd, waitGone} from './private-libvirtd.mjs'

const RUNS = Number(process.env.BENCH_DAEMON_RUNS ?? 7)
const POLL_MS = 2
const SETTLE_MS = 1500
const START_TIMEOUT_MS = 30000
const URI = process.env.BENCH_DAEMON_URI ?? 'test:///default'

async function untilAnswered(path, t0) {
  for (;;) {
    if (performance.now() - t0 > START_TIMEOUT_MS) throw new Error(`no answer on ${path}`)
    if (existsSync(path)) {
      try {
        await firstAnswer(path, URI)
        return performance.now() - t0
      } catch {
        // not listening yet, or the drivers are not up
      }
    }
    await new Promise((r) => setTimeout(r, POLL_MS))
  }
}

function rssKiB(pid) {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m ? Number(m[1]) : NaN
}

async function waitExited(pid) {
  if (!(await waitGone(pid, 5000))) throw new Error(`pid ${pid} did not exit`)
}

function pidOf(file) {
  return Number(readFileSync(file, 'utf8').trim())
}

/** One start: spawn, poll until answered, settle, read RSS, stop. */
async function once(d) {
  const t0 = performance.now()
  const child = spawn(d.cmd, d.args, {stdio: 'ignore', detached: true})
  child.unref()
  const ms = await untilAnswered(d.sock, t0)
  await new Promise((r) => setTimeout(r, SETTLE_MS))
  const pid = d.pidFile ? pidOf(d.pidFile) : child.pid
  const rss = rssKiB(pid)
  process.kill(pid, 'SIGTERM')
  await waitExited(pid)
  return {ms, rss}
}

async function series(d) {
  const runs = []
  try {
    for (let i = 0; i < RUNS; i++) runs.push(await once(d))
  } finally {
    d.cleanup?.()
  }
  const warm = runs.slice(1)
  return {cold: runs[0].ms, ms: median(warm.map((r) => r.ms)), rss: median(runs.map((r) => r.rss)) / 1024}
}

function vctl(label, extra) {
  const root = mkdtempSync(join(tmpdir(), 'bench-vd-'))
  return {
    label,
    cmd: process.execPath,
    args: [join(ROOT, 'bin/run.js'), 'daemon', 'start', '--root', root, ...extra],
    sock: join(root, 'run/libvirt/libvirt-sock'),
    pidFile: join(root, 'run/libvirtd.pid'),
    cleanup: () => rmSync(root, {recursive: true, force: true}),
  }
}

function libvirtd() {
  const {base: b, script} = privateLibvirtd('bench-ld-', {
    libvirtdConf: 'auth_unix_rw = "none"\nauth_unix_ro = "none"\nlisten_tls = 0\nlisten_tcp = 0\n',
  })
  return {
    label: 'libvirtd (system, all drivers)',
    cmd: 'unshare',
    args: ['-m', '--propagation', 'private', 'sh', script],
    sock: join(b, 'run/libvirt-sock'),
    pidFile: join(b, 'libvirtd.pid'),
    cleanup: () => rmSync(b, {recursive: true, force: true}),
  }
}

const daemons = [libvirtd(), vctl('vctl daemon start --root DIR', []), vctl('vctl daemon start --root DIR -d', ['-d'])]
const results = []
for (const d of daemons) results.push({label: d.label, ...(await series(d))})
const ref = results[0]
console.log(`daemon start-up, ${RUNS} starts each (cold = first start; median over the warm ones)`)
console.log('daemon'.padEnd(36), 'cold ms'.padStart(9), 'start ms'.padStart(9), 'ratio'.padStart(7), 'idle RSS MB'.padStart(12), 'ratio'.padStart(7))
for (const r of results) {
  console.log(
    r.label.padEnd(36),
    r.cold.toFixed(0).padStart(9),
    r.ms.toFixed(0).padStart(9),
    `${(ref.ms / r.ms).toFixed(2)}x`.padStart(7),
    r.rss.toFixed(1).padStart(12),
    `${(ref.rss / r.rss).toFixed(2)}x`.padStart(7),
  )
}
console.log('(ratio = libvirtd / vctl: > 1 means vctl starts faster or holds less memory; targets: start <= libvirtd, RSS <= 50 MB)')
