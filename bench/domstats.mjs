#!/usr/bin/env node
// `virsh domstats` over 100 guests (4 running tiny guests with a disk and a NIC, 96 defined), for
// vctl's virtqemud and for Debian's real libvirtd (qemu driver) in the same run, same XML, same
// virsh: all groups, and --state alone. Rounds alternate between the daemons; medians are printed.
// libvirtd runs in a private mount namespace over temp directories (bench/private-libvirtd.mjs).
import {execFile, execFileSync, spawn} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'
import {promisify} from 'node:util'
import {privateLibvirtd, waitGone} from './private-libvirtd.mjs'

const ROOT = resolve(import.meta.dirname, '..')
const KERNEL = join(ROOT, '.cache/test-guest/vmlinuz')
const INITRD = join(ROOT, '.cache/test-guest/initramfs.cpio.gz')
if (!existsSync(KERNEL)) execFileSync('bash', [join(ROOT, 'scripts/build-test-guest.sh')], {stdio: 'inherit'})
const pexec = promisify(execFile)
const TOTAL = 100
const RUNNING = 4
const ROUNDS = 7

const virsh = (uri, ...args) => pexec('virsh', ['-c', uri, ...args], {timeout: 120000, maxBuffer: 64 << 20})

function guestXml(name, disk) {
  return `<domain type='qemu'><name>${name}</name><memory unit='MiB'>128</memory><vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><kernel>${KERNEL}</kernel><initrd>${INITRD}</initrd><cmdline>console=ttyS0 quiet</cmdline></os>
  <devices>
    <disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='${disk}'/><target dev='vdb' bus='virtio'/></disk>
    <interface type='user'><model type='virtio'/></interface>
    <memballoon model='virtio'><stats period='5'/></memballoon>
  </devices></domain>`
}

/** Defines TOTAL guests on a daemon and starts RUNNING of them. */
async function populate(uri, work) {
  for (let i = 0; i < TOTAL; i++) {
    const disk = join(work, `disk${i}.img`)
    writeFileSync(disk, Buffer.alloc(1 << 20))
    const xml = join(work, `g${i}.xml`)
    writeFileSync(xml, guestXml(`bench-g${i}`, disk))
    await virsh(uri, 'define', xml)
  }
  for (let i = 0; i < RUNNING; i++) await virsh(uri, 'start', `bench-g${i}`)
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

async function destroyAll(uri) {
  for (let i = 0; i < RUNNING; i++) await virsh(uri, 'destroy', `bench-g${i}`).catch(() => undefined)
}

function vctl() {
  const root = mkdtempSync(join(tmpdir(), 'bench-ds-'))
  execFileSync(process.execPath, [join(ROOT, 'bin/run.js'), 'daemon', 'start', '--driver', 'qemu', '--root', root, '-d'], {stdio: 'ignore'})
  const pid = Number(readFileSync(join(root, 'run/virtqemud.pid'), 'utf8'))
  const uri = `qemu+unix:///system?socket=${root}/run/libvirt/virtqemud-sock`
  return {
    uri,
    work: root,
    stop: async () => {
      await destroyAll(uri)
      await stop([pid])
      rmSync(root, {recursive: true, force: true})
    },
  }
}

async function libvirtd() {
  const {base: b, script} = privateLibvirtd('bench-dl-', {
    libvirtdConf: 'auth_unix_rw = "none"\nauth_unix_ro = "none"\n',
    qemuConf: '\nuser = "root"\ngroup = "root"\n',
    virtlogd: true,
  })
  const child = spawn('unshare', ['-m', '--propagation', 'private', 'sh', script], {stdio: 'ignore', detached: true})
  child.unref()
  await waitFor(join(b, 'run/libvirt-sock'))
  const uri = `qemu+unix:///system?socket=${b}/run/libvirt-sock`
  return {
    uri,
    work: b,
    stop: async () => {
      await destroyAll(uri)
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

async function timed(uri, args) {
  const t0 = process.hrtime.bigint()
  const r = await virsh(uri, ...args)
  const ms = Number(process.hrtime.bigint() - t0) / 1e6
  return {ms, domains: (r.stdout.match(/^Domain: /gm) ?? []).length}
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

const ours = vctl()
const theirs = await libvirtd()
const cases = [
  ['virsh domstats, all groups, 100 guests (ms)', ['domstats']],
  ['virsh domstats --state, 100 guests (ms)', ['domstats', '--state']],
  ['virsh domstats --block --interface (ms)', ['domstats', '--block', '--interface']],
]
const results = {}
try {
  await Promise.all([populate(ours.uri, ours.work), populate(theirs.uri, theirs.work)])
  for (const [label, args] of cases) {
    const a = []
    const b = []
    for (let i = 0; i < ROUNDS; i++) {
      const x = await timed(ours.uri, args)
      const y = await timed(theirs.uri, args)
      if (x.domains !== TOTAL || y.domains !== TOTAL) throw new Error(`${label}: ${x.domains} / ${y.domains} domains listed`)
      a.push(x.ms)
      b.push(y.ms)
    }
    results[label] = {vctl: median(a), libvirtd: median(b), raw: {vctl: a, libvirtd: b}}
  }
} finally {
  await ours.stop()
  await theirs.stop()
}
console.log(`figure (median of ${ROUNDS}, alternating)`.padEnd(48), 'vctl'.padStart(10), 'libvirtd'.padStart(10), 'ratio'.padStart(8))
for (const [label, r] of Object.entries(results)) {
  console.log(
    label.padEnd(48),
    r.vctl.toFixed(1).padStart(10),
    r.libvirtd.toFixed(1).padStart(10),
    `${(r.libvirtd / r.vctl).toFixed(1)}x`.padStart(8),
  )
}
console.log('(ratio = libvirtd time / vctl time; > 1 means vctl is faster)')
console.log(JSON.stringify(Object.fromEntries(Object.entries(results).map(([k, r]) => [k, r.raw]))))
