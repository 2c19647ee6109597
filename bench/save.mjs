#!/usr/bin/env node
// Save + restore round trip of the tiny running guest (128 MiB, TCG), vctl's virtqemud against
// Debian's real libvirtd (qemu driver, private mount namespace: bench/private-libvirtd.mjs) in the
// same run, same XML, same virsh: `virsh save` then `virsh restore`, timed each, alternating.
import {execFileSync, spawn} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'
import {privateLibvirtd, waitGone} from './private-libvirtd.mjs'

const ROOT = resolve(import.meta.dirname, '..')
const KERNEL = join(ROOT, '.cache/test-guest/vmlinuz')
const INITRD = join(ROOT, '.cache/test-guest/initramfs.cpio.gz')
const ROUNDS = Number(process.env.ROUNDS ?? 5)
if (!existsSync(KERNEL)) execFileSync('bash', [join(ROOT, 'scripts/build-test-guest.sh')], {stdio: 'inherit'})

const virsh = (uri, ...args) => execFileSync('virsh', ['-c', uri, ...args], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 300000})

function guestXml(serial) {
  return `<domain type='qemu'><name>bench-save</name><memory unit='MiB'>128</memory><vcpu>1</vcpu>
<os><type arch='x86_64' machine='pc'>hvm</type><kernel>${KERNEL}</kernel><initrd>${INITRD}</initrd>
<cmdline>console=ttyS0 quiet panic=-1 cryptomgr.notests vctl.counter=100</cmdline></os><features><acpi/></features>
<devices><serial type='file'><source path='${serial}' append='on'/><target port='0'/></serial></devices></domain>`
}

async function waitFor(cond, what, ms = 90000) {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
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

function vctl() {
  const root = mkdtempSync(join(tmpdir(), 'bench-sv-'))
  execFileSync(process.execPath, [join(ROOT, 'bin/run.js'), 'daemon', 'start', '--driver', 'qemu', '--root', root, '-d'], {stdio: 'ignore'})
  const pid = Number(readFileSync(join(root, 'run/virtqemud.pid'), 'utf8'))
  return {
    name: 'vctl',
    uri: `qemu+unix:///system?socket=${root}/run/libvirt/virtqemud-sock`,
    work: root,
    stop: async () => {
      await stop([pid])
      rmSync(root, {recursive: true, force: true})
    },
  }
}

async function libvirtd() {
  const {base: b, script} = privateLibvirtd('bench-sl-', {
    libvirtdConf: 'auth_unix_rw = "none"\nauth_unix_ro = "none"\n',
    qemuConf: '\nuser = "root"\ngroup = "root"\n',
    virtlogd: true,
  })
  const child = spawn('unshare', ['-m', '--propagation', 'private', 'sh', script], {stdio: 'ignore', detached: true})
  child.unref()
  await waitFor(() => existsSync(join(b, 'run/libvirt-sock')), 'libvirtd socket')
  return {
    name: 'libvirtd',
    uri: `qemu+unix:///system?socket=${b}/run/libvirt-sock`,
    work: b,
    stop: async () => {
      const pids = [child.pid]
      try {
        pids.push(Number(readFileSync(join(b, 'virtlogd.pid'), 'utf8')))
      } catch {
        // virtlogd never started
      }
      await stop(pids)
      rmSync(b, {recursive: true, force: true})
    },
  }
}

async function prepare(side) {
  side.serial = join(side.work, 'serial.log')
  side.file = join(side.work, 'bench.save')
  writeFileSync(side.serial, '')
  writeFileSync(join(side.work, 'g.xml'), guestXml(side.serial))
  virsh(side.uri, 'create', join(side.work, 'g.xml'))
  await waitFor(() => readFileSync(side.serial, 'utf8').includes('VCTL-GUEST COUNT 3'), `${side.name}: guest counting`)
  side.save = []
  side.restore = []
}

function round(side) {
  let t = process.hrtime.bigint()
  virsh(side.uri, 'save', 'bench-save', side.file)
  side.save.push(Number(process.hrtime.bigint() - t) / 1e6)
  t = process.hrtime.bigint()
  virsh(side.uri, 'restore', side.file)
  side.restore.push(Number(process.hrtime.bigint() - t) / 1e6)
  rmSync(side.file, {force: true})
}

const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]
const sides = [vctl(), await libvirtd()]
try {
  for (const s of sides) await prepare(s)
  for (let i = 0; i < ROUNDS; i++) for (const s of sides) round(s)
  for (const s of sides) virsh(s.uri, 'destroy', 'bench-save')
} finally {
  for (const s of sides) await s.stop()
}
const [a, b] = sides
console.log(`figure (median of ${ROUNDS}, alternating)`.padEnd(40), 'vctl'.padStart(10), 'libvirtd'.padStart(10), 'ratio'.padStart(8))
for (const [label, key] of [
  ['virsh save, running 128 MiB guest (ms)', 'save'],
  ['virsh restore of that file (ms)', 'restore'],
]) {
  const x = median(a[key])
  const y = median(b[key])
  console.log(label.padEnd(40), x.toFixed(1).padStart(10), y.toFixed(1).padStart(10), `${(y / Math.max(x, 0.1)).toFixed(1)}x`.padStart(8))
}
console.log('(ratio = libvirtd time / vctl time; > 1 means vctl is faster)')
console.log(JSON.stringify({vctl: {save: a.save, restore: a.restore}, libvirtd: {save: b.save, restore: b.restore}}))
