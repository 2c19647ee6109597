#!/usr/bin/env node
// Console first-byte latency (virDomainOpenConsole, a carriage return, the first byte of the guest's
// answer) for vctl's virtqemud and for Debian's real libvirtd (qemu driver) in the same run, the same
// tiny guest on each, the same libvirt-python client, rounds alternating between the two daemons.
// libvirtd runs in a private mount namespace over temp directories (bench/private-libvirtd.mjs).
import {execFileSync, spawn} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'
import {privateLibvirtd, waitGone} from './private-libvirtd.mjs'

const ROOT = resolve(import.meta.dirname, '..')
const KERNEL = join(ROOT, '.cache/test-guest/vmlinuz')
const INITRD = join(ROOT, '.cache/test-guest/initramfs.cpio.gz')
const ROUNDS = Number(process.env.ROUNDS ?? 21)
execFileSync('bash', [join(ROOT, 'scripts/build-test-guest.sh')], {stdio: 'ignore'})

async function waitFor(p, ms = 30000) {
  const end = Date.now() + ms
  while (!existsSync(p)) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${p}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

const vroot = mkdtempSync(join(tmpdir(), 'bench-vc-'))
execFileSync(process.execPath, [join(ROOT, 'bin/run.js'), 'daemon', 'start', '--driver', 'qemu', '--root', vroot, '-d'], {stdio: 'ignore'})
const vpid = Number(readFileSync(join(vroot, 'run/virtqemud.pid'), 'utf8'))
const {base, script} = privateLibvirtd('bench-lc-', {
  libvirtdConf: 'auth_unix_rw = "none"\nauth_unix_ro = "none"\n',
  qemuConf: '\nuser = "root"\ngroup = "root"\n',
  virtlogd: true,
})
const child = spawn('unshare', ['-m', '--propagation', 'private', 'sh', script], {stdio: 'ignore', detached: true})
child.unref()
const pids = [vpid, child.pid]
let result
try {
  await waitFor(join(base, 'run/libvirt-sock'))
  const V = `qemu+unix:///system?socket=${vroot}/run/libvirt/virtqemud-sock`
  const L = `qemu+unix:///system?socket=${base}/run/libvirt-sock`
  const out = execFileSync('/usr/bin/python3', [join(ROOT, 'bench/console_client.py'), KERNEL, INITRD, String(ROUNDS), V, L], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: 600000,
  })
  const r = JSON.parse(out)
  result = {vctl: r[V], libvirtd: r[L]}
} finally {
  try {
    pids.push(Number(readFileSync(join(base, 'virtlogd.pid'), 'utf8')))
  } catch {
    // virtlogd never started
  }
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGTERM')
    } catch {
      // already gone
    }
  }
  for (const pid of pids) if (!(await waitGone(pid, 30000))) console.warn(`pid ${pid} still running after SIGTERM`)
  rmSync(vroot, {recursive: true, force: true})
  rmSync(base, {recursive: true, force: true})
}
const {vctl, libvirtd} = result
console.log(`figure (median of ${ROUNDS} alternating rounds, ms)`.padEnd(48), 'vctl'.padStart(10), 'libvirtd'.padStart(10), 'ratio'.padStart(8))
for (const [label, key] of [
  ['open the console (virDomainOpenConsole)', 'open_ms'],
  ['console first-byte latency (open, CR, 1st byte)', 'first_byte_ms'],
  ['until the whole prompt arrived', 'prompt_ms'],
]) {
  const a = vctl[key].median
  const b = libvirtd[key].median
  console.log(label.padEnd(48), a.toFixed(2).padStart(10), b.toFixed(2).padStart(10), `${(b / Math.max(a, 0.01)).toFixed(2)}x`.padStart(8))
}
console.log(`first byte, vctl:     ${vctl.first_byte_ms.samples.map((x) => x.toFixed(1)).join(' ')}`)
console.log(`first byte, libvirtd: ${libvirtd.first_byte_ms.samples.map((x) => x.toFixed(1)).join(' ')}`)
console.log('(ratio = libvirtd time / vctl time; > 1 means vctl is faster)')
