#!/usr/bin/env node
// Snapshot latencies of a running tiny guest on a qcow2 disk: snapshot-create (memory and disk,
// internal) and snapshot-revert, for vctl's virtqemud and for Debian's real libvirtd (qemu
// driver) in the same run, same XML, same libvirt-python client. libvirtd runs in a private mount
// namespace over temp directories (bench/private-libvirtd.mjs).
import {execFileSync, spawn} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'
import {privateLibvirtd, waitGone} from './private-libvirtd.mjs'

const ROOT = resolve(import.meta.dirname, '..')
const KERNEL = join(ROOT, '.cache/test-guest/vmlinuz')
const INITRD = join(ROOT, '.cache/test-guest/initramfs.cpio.gz')
if (!existsSync(KERNEL)) execFileSync('bash', [join(ROOT, 'scripts/build-test-guest.sh')], {stdio: 'inherit'})

function measure(a, b) {
  const out = execFileSync('/usr/bin/python3', [join(ROOT, 'bench/snapshot_client.py'), KERNEL, INITRD, a.uri, a.work, b.uri, b.work], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: 900000,
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

async function stop(pids) {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGTERM')
    } catch {
      // already gone
    }
  }
  for (const pid of pids) if (!(await waitGone(pid, 30000))) console.warn(`pid ${pid} still running 30 s after SIGTERM`)
}

/** Starts vctl's virtqemud; returns its URI, work dir and a stop function. */
function vctl() {
  const root = mkdtempSync(join(tmpdir(), 'bench-vs-'))
  execFileSync(process.execPath, [join(ROOT, 'bin/run.js'), 'daemon', 'start', '--driver', 'qemu', '--root', root, '-d'], {stdio: 'ignore'})
  const pid = Number(readFileSync(join(root, 'run/virtqemud.pid'), 'utf8'))
  return {
    uri: `qemu+unix:///system?socket=${root}/run/libvirt/virtqemud-sock`,
    work: root,
    stop: async () => {
      await stop([pid])
      rmSync(root, {recursive: true, force: true})
    },
  }
}

/** Starts Debian's libvirtd (with its virtlogd) in a private mount namespace. */
async function libvirtd() {
  const {base: b, script} = privateLibvirtd('bench-ls-', {
    libvirtdConf: 'auth_unix_rw = "none"\nauth_unix_ro = "none"\n',
    qemuConf: '\nuser = "root"\ngroup = "root"\n',
    virtlogd: true,
  })
  const child = spawn('unshare', ['-m', '--propagation', 'private', 'sh', script], {stdio: 'ignore', detached: true})
  child.unref()
  await waitFor(join(b, 'run/libvirt-sock'))
  return {
    uri: `qemu+unix:///system?socket=${b}/run/libvirt-sock`,
    work: b,
    stop: async () => {
      const pids = [child.pid]
      try {
        pids.push(Number(readFileSync(join(b, 'virtlogd.pid'), 'utf8')))
      } catch {
        // no pid file: virtlogd never started
      }
      await stop(pids)
      rmSync(b, {recursive: true, force: true})
    },
  }
}

const ours = vctl()
const theirs = await libvirtd()
let a, b
try {
  ;[a, b] = measure(ours, theirs)
} finally {
  await ours.stop()
  await theirs.stop()
}
const rows = [
  ['snapshot-create-as, running guest (ms)', 'create_ms'],
  ['snapshot-revert to a running snapshot (ms)', 'revert_ms'],
]
console.log('figure (median of 7, alternating)'.padEnd(44), 'vctl'.padStart(10), 'libvirtd'.padStart(10), 'ratio'.padStart(8))
for (const [label, key] of rows) {
  console.log(
    label.padEnd(44),
    a[key].toFixed(1).padStart(10),
    b[key].toFixed(1).padStart(10),
    `${(b[key] / Math.max(a[key], 0.1)).toFixed(1)}x`.padStart(8),
  )
}
console.log('(ratio = libvirtd time / vctl time; > 1 means vctl is faster)')
console.log(JSON.stringify({vctl: a.raw, libvirtd: b.raw}))
