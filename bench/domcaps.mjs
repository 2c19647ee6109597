#!/usr/bin/env node
// virConnectGetDomainCapabilities latency with the QEMU capability probe cached (the daemon has
// answered once before the rounds), for vctl's virtqemud and for Debian's real libvirtd (QEMU
// driver) in a private mount namespace, same libvirt-python client, alternating rounds in the
// same run; medians of the per-round medians.
import {execFileSync, spawn} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'
import {privateLibvirtd, waitGone} from './private-libvirtd.mjs'

const ROOT = resolve(import.meta.dirname, '..')
const ROUNDS = Number(process.env.ROUNDS ?? 7)
const CALLS = Number(process.env.CALLS ?? 30)

const CLIENT = `
import libvirt, sys, time, json
conn = libvirt.open(sys.argv[1])
conn.getDomainCapabilities(None, None, None, None, 0)
times = []
for _ in range(int(sys.argv[2])):
    t = time.perf_counter()
    conn.getDomainCapabilities(None, None, None, None, 0)
    times.append((time.perf_counter() - t) * 1000)
times.sort()
print(json.dumps(times[len(times) // 2]))
`

async function waitFor(p, ms = 30000) {
  const end = Date.now() + ms
  while (!existsSync(p)) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${p}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const round = (uri) => JSON.parse(execFileSync('/usr/bin/python3', ['-c', CLIENT, uri, String(CALLS)], {encoding: 'utf8', timeout: 120000}))

const vroot = mkdtempSync(join(tmpdir(), 'bench-dc-'))
execFileSync(process.execPath, [join(ROOT, 'bin/run.js'), 'daemon', 'start', '--driver', 'qemu', '--root', vroot, '-d'], {stdio: 'ignore'})
const vpid = Number(readFileSync(join(vroot, 'run/virtqemud.pid'), 'utf8'))
const {base, script} = privateLibvirtd('bench-dcl-', {
  libvirtdConf: 'auth_unix_rw = "none"\nauth_unix_ro = "none"\n',
  qemuConf: '\nuser = "root"\ngroup = "root"\n',
})
const child = spawn('unshare', ['-m', '--propagation', 'private', 'sh', script], {stdio: 'ignore', detached: true})
child.unref()
try {
  await waitFor(join(base, 'run/libvirt-sock'))
  const uris = {
    vctl: `qemu+unix:///system?socket=${vroot}/run/libvirt/virtqemud-sock`,
    libvirtd: `qemu+unix:///system?socket=${base}/run/libvirt-sock`,
  }
  const res = {vctl: [], libvirtd: []}
  for (let i = 0; i < ROUNDS; i++) {
    const order = i % 2 ? ['libvirtd', 'vctl'] : ['vctl', 'libvirtd']
    for (const k of order) res[k].push(round(uris[k]))
  }
  const a = median(res.vctl)
  const b = median(res.libvirtd)
  console.log(
    `domcapabilities, cached probe (ms, median of ${ROUNDS} rounds x ${CALLS} calls): vctl ${a.toFixed(2)}  libvirtd ${b.toFixed(2)}  ratio ${(b / a).toFixed(2)}x (> 1: vctl faster)`,
  )
} finally {
  for (const pid of [vpid, child.pid]) {
    try {
      process.kill(pid, 'SIGTERM')
    } catch {
      // already gone
    }
  }
  await waitGone(vpid)
  await waitGone(child.pid)
  rmSync(vroot, {recursive: true, force: true})
  rmSync(base, {recursive: true, force: true})
}
