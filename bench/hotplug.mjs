#!/usr/bin/env node
// Device hotplug latency on a running tiny guest: attach-disk (virtio, live) and detach-disk (until
// the call returns, which includes the guest letting go of the disk), for vctl's virtqemud and for
// Debian's real libvirtd (qemu driver) in the same run, same XML, same libvirt-python client,
// alternating rounds, medians. libvirtd runs in a private mount namespace (bench/private-libvirtd.mjs).
import {execFileSync, spawn} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'
import {privateLibvirtd, waitGone} from './private-libvirtd.mjs'

const ROOT = resolve(import.meta.dirname, '..')
const KERNEL = join(ROOT, '.cache/test-guest/vmlinuz')
const INITRD = join(ROOT, '.cache/test-guest/initramfs.cpio.gz')
const ROUNDS = 7
if (!existsSync(KERNEL)) execFileSync('bash', [join(ROOT, 'scripts/build-test-guest.sh')], {stdio: 'inherit'})

// The client: one guest per daemon, then ROUNDS alternating attach/detach pairs on each.
const CLIENT = `
import json, os, statistics, sys, time
import libvirt
kernel, initrd, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
sides = [(sys.argv[4], sys.argv[5]), (sys.argv[6], sys.argv[7])]
libvirt.registerErrorHandler(lambda *a: None, None)

def xml(work):
    return f"""<domain type='qemu'><name>hpbench</name><memory unit='MiB'>128</memory><vcpu>1</vcpu>
<os><type arch='x86_64' machine='pc'>hvm</type><kernel>{kernel}</kernel><initrd>{initrd}</initrd>
<cmdline>console=ttyS0 quiet panic=-1 cryptomgr.notests</cmdline></os><features><acpi/></features>
<devices><serial type='file'><source path='{work}/serial.log' append='on'/><target port='0'/></serial></devices></domain>"""

def wait_log(work, needle, count, timeout=120):
    end = time.time() + timeout
    while time.time() < end:
        try:
            if open(f'{work}/serial.log').read().count(needle) >= count:
                return
        except FileNotFoundError:
            pass
        time.sleep(0.02)
    raise SystemExit(f'{needle} x{count} not seen in {work}/serial.log')

doms = []
for uri, work in sides:
    c = libvirt.open(uri)
    with open(f'{work}/disk.img', 'wb') as f:
        f.truncate(16 << 20)
    d = c.defineXML(xml(work))
    d.create()
    doms.append((c, d, work))
for c, d, work in doms:
    wait_log(work, 'VCTL-GUEST READY', 1)

res = [{'attach': [], 'detach': []} for _ in doms]
for r in range(rounds):
    for i, (c, d, work) in enumerate(doms):
        disk = f"<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='{work}/disk.img'/><target dev='vdb' bus='virtio'/></disk>"
        t0 = time.perf_counter()
        d.attachDeviceFlags(disk, libvirt.VIR_DOMAIN_AFFECT_LIVE)
        res[i]['attach'].append((time.perf_counter() - t0) * 1000)
        wait_log(work, 'VCTL-GUEST BLK + vda', r + 1)
        t0 = time.perf_counter()
        d.detachDeviceFlags(disk, libvirt.VIR_DOMAIN_AFFECT_LIVE)
        res[i]['detach'].append((time.perf_counter() - t0) * 1000)
        wait_log(work, 'VCTL-GUEST BLK - vda', r + 1)
        # A removal libvirt left pending must be over before the next attach of vdb.
        end = time.time() + 30
        while 'vdb' in d.XMLDesc(0) and time.time() < end:
            time.sleep(0.02)
for c, d, work in doms:
    d.destroy()
    d.undefine()
print(json.dumps([{'attach_ms': statistics.median(x['attach']), 'detach_ms': statistics.median(x['detach']), 'raw': x} for x in res]))
`

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
  const root = mkdtempSync(join(tmpdir(), 'bench-hv-'))
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
  const {base: b, script} = privateLibvirtd('bench-hl-', {
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
  const out = execFileSync('/usr/bin/python3', ['-c', CLIENT, KERNEL, INITRD, String(ROUNDS), ours.uri, ours.work, theirs.uri, theirs.work], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: 900000,
  })
  ;[a, b] = JSON.parse(out)
} finally {
  await ours.stop()
  await theirs.stop()
}
const rows = [
  ['attach-disk, virtio, live (ms)', 'attach_ms'],
  ['detach-disk, live, guest lets go (ms)', 'detach_ms'],
]
console.log(`figure (median of ${ROUNDS}, alternating)`.padEnd(44), 'vctl'.padStart(10), 'libvirtd'.padStart(10), 'ratio'.padStart(8))
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
