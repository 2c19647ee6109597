#!/usr/bin/env node
// QEMU driver latencies (start, destroy, shutdown after the guest's power-off) for vctl's
// virtqemud and for Debian's real libvirtd (qemu driver, with its own virtlogd), same XML, same
// libvirt-python client, same run. libvirtd runs in a private mount namespace whose /etc/libvirt,
// /run/libvirt, /var/lib/libvirt, /var/log/libvirt and /var/cache/libvirt are temp directories.
import {execFileSync, spawn} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'
import {privateLibvirtd, waitGone} from './private-libvirtd.mjs'

const ROOT = resolve(import.meta.dirname, '..')
const KERNEL = join(ROOT, '.cache/test-guest/vmlinuz')
const INITRD = join(ROOT, '.cache/test-guest/initramfs.cpio.gz')
if (!existsSync(KERNEL)) execFileSync('bash', [join(ROOT, 'scripts/build-test-guest.sh')], {stdio: 'inherit'})

function measure(uri, work) {
  const out = execFileSync('/usr/bin/python3', [join(ROOT, 'bench/qemu_client.py'), uri, KERNEL, INITRD, work], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: 300000,
  })
  return JSON.parse(out)
}

async function waitFor(p, ms = 30000) {
  const end = Date.now() + ms
  while (!existsSync(p)) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${p}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** Waits until the process is gone, at most `ms`; says so when it is not. */
async function waitExited(pid, ms = 30000) {
  if (!(await waitGone(pid, ms))) console.warn(`pid ${pid} still running ${ms} ms after SIGTERM`)
}

async function vctl() {
  const root = mkdtempSync(join(tmpdir(), 'bench-vq-'))
  execFileSync(process.execPath, [join(ROOT, 'bin/run.js'), 'daemon', 'start', '--driver', 'qemu', '--root', root, '-d'], {stdio: 'ignore'})
  const pid = Number(readFileSync(join(root, 'run/virtqemud.pid'), 'utf8'))
  try {
    return measure(`qemu+unix:///system?socket=${root}/run/libvirt/virtqemud-sock`, root)
  } finally {
    process.kill(pid, 'SIGTERM')
    await waitExited(pid)
    rmSync(root, {recursive: true, force: true})
  }
}

async function libvirtd() {
  const {base: b, script} = privateLibvirtd('bench-lq-', {
    libvirtdConf: 'auth_unix_rw = "none"\nauth_unix_ro = "none"\n',
    qemuConf: '\nuser = "root"\ngroup = "root"\n',
    virtlogd: true,
  })
  const child = spawn('unshare', ['-m', '--propagation', 'private', 'sh', script], {stdio: 'ignore', detached: true})
  child.unref()
  await waitFor(join(b, 'run/libvirt-sock'))
  try {
    return measure(`qemu+unix:///system?socket=${b}/run/libvirt-sock`, b)
  } finally {
    // libvirtd is the exec'd shell (child.pid); virtlogd lives in the same namespace: find it by its pid file.
    const pids = [child.pid]
    try {
      pids.push(Number(readFileSync(join(b, 'virtlogd.pid'), 'utf8')))
    } catch {
      // no pid file: virtlogd never started
    }
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGTERM')
      } catch {
        // already gone
      }
    }
    for (const pid of pids) await waitExited(pid)
    rmSync(b, {recursive: true, force: true})
  }
}

const a = await vctl()
const b = await libvirtd()
const rows = [
  ['start RPC latency, no-OS guest (ms)', 'start_ms', 100],
  ['destroy latency (ms)', 'destroy_ms', 100],
  ['shut off seen after guest power-off (ms)', 'shutdown_after_poweroff_ms', 300],
]
console.log('figure (median)'.padEnd(44), 'vctl'.padStart(10), 'libvirtd'.padStart(10), 'ratio'.padStart(8), 'target'.padStart(8))
for (const [label, key, target] of rows) {
  console.log(
    label.padEnd(44),
    a[key].toFixed(1).padStart(10),
    b[key].toFixed(1).padStart(10),
    `${(b[key] / Math.max(a[key], 0.1)).toFixed(1)}x`.padStart(8),
    `<=${target}`.padStart(8),
  )
}
console.log('(ratio = libvirtd time / vctl time; > 1 means vctl is faster)')
