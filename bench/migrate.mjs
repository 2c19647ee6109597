#!/usr/bin/env node
// Live migration of the 128 MiB tiny guest between two hosts, each daemon in its own network
// namespace joined by a veth pair (private subnet inside those namespaces only), shared file
// system: vctl -> vctl against Debian's libvirtd -> libvirtd, same guest, same virsh, same run.
// Figures: total time of `virsh migrate --live --p2p` and the guest's downtime as the destination's
// `domjobinfo --completed` reports it (median of several migrations back and forth).
import {execFileSync, spawn} from 'node:child_process'
import {existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'
import {randomBytes, randomUUID} from 'node:crypto'
import {privateLibvirtd, waitGone} from './private-libvirtd.mjs'

const ROOT = resolve(import.meta.dirname, '..')
const KERNEL = join(ROOT, '.cache/test-guest/vmlinuz')
const INITRD = join(ROOT, '.cache/test-guest/initramfs.cpio.gz')
if (!existsSync(KERNEL)) execFileSync('bash', [join(ROOT, 'scripts/build-test-guest.sh')], {stdio: 'inherit'})
const ROUNDS = Number(process.env.MIGRATE_ROUNDS ?? 4)

const sh = (cmd, args, opts = {}) => execFileSync(cmd, args, {encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 300000, ...opts})
const virsh = (uri, args) => sh('virsh', ['-c', uri, ...args])
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

function guestXml(name, log) {
  return `<domain type='qemu'><name>${name}</name><memory unit='MiB'>128</memory><vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><kernel>${KERNEL}</kernel><initrd>${INITRD}</initrd>
  <cmdline>console=ttyS0 quiet panic=-1 cryptomgr.notests vctl.counter=100</cmdline></os>
  <features><acpi/></features><on_poweroff>destroy</on_poweroff><on_reboot>restart</on_reboot><on_crash>destroy</on_crash>
  <devices><serial type='file'><source path='${log}' append='on'/><target port='0'/></serial></devices></domain>`
}

/** Two namespaces joined by a veth pair; returns their names and addresses. */
function twoNamespaces(tag) {
  const subnet = `10.${200 + (randomBytes(1)[0] % 50)}.${randomBytes(1)[0]}`
  const ns = [0, 1].map((i) => `vctl-b-${tag}${i}-${randomBytes(3).toString('hex')}`)
  for (const n of ns) {
    sh('ip', ['netns', 'add', n])
    sh('ip', ['-n', n, 'link', 'set', 'lo', 'up'])
  }
  const va = `vb${randomBytes(3).toString('hex')}`
  sh('ip', ['-n', ns[0], 'link', 'add', va, 'type', 'veth', 'peer', 'name', 'mig0', 'netns', ns[1]])
  sh('ip', ['-n', ns[0], 'link', 'set', va, 'name', 'mig0'])
  const ips = [`${subnet}.1`, `${subnet}.2`]
  ns.forEach((n, i) => {
    sh('ip', ['-n', n, 'addr', 'add', `${ips[i]}/24`, 'dev', 'mig0'])
    sh('ip', ['-n', n, 'link', 'set', 'mig0', 'up'])
  })
  return {ns, ips}
}

function killNetns(n) {
  let pids
  try {
    pids = sh('ip', ['netns', 'pids', n])
  } catch {
    return
  }
  for (const p of pids.split('\n').filter(Boolean)) {
    try {
      process.kill(Number(p), 'SIGKILL')
    } catch {
      // gone
    }
  }
  try {
    sh('ip', ['netns', 'del', n])
  } catch {
    // gone
  }
}

async function waitFor(what, cond, ms = 90000) {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await sleep(100)
  }
}

async function vctlHosts(ns) {
  const hosts = []
  for (const n of ns) {
    const root = mkdtempSync(join(tmpdir(), 'bench-mv-'))
    mkdirSync(join(root, 'etc/libvirt'), {recursive: true})
    writeFileSync(join(root, 'etc/libvirt/libvirtd.conf'), `listen_tcp = 1\nlisten_tls = 0\nauth_tcp = "none"\nhost_uuid = "${randomUUID()}"\n`)
    sh('ip', ['netns', 'exec', n, process.execPath, join(ROOT, 'bin/run.js'), 'daemon', 'start', '--root', root, '-d', '--listen'])
    hosts.push({root, uri: `qemu+unix:///system?socket=${root}/run/libvirt/libvirt-sock`})
  }
  return hosts
}

async function libvirtdHosts(ns) {
  const hosts = []
  for (const n of ns) {
    const {base, script} = privateLibvirtd('bench-ml-', {
      libvirtdConf: `auth_unix_rw = "none"\nauth_unix_ro = "none"\nlisten_tcp = 1\nlisten_tls = 0\nauth_tcp = "none"\nhost_uuid = "${randomUUID()}"\n`,
      qemuConf: '\nuser = "root"\ngroup = "root"\nsecurity_driver = "none"\n',
      virtlogd: true,
    })
    writeFileSync(script, readFileSync(script, 'utf8').replace('exec /usr/sbin/libvirtd -p', 'exec /usr/sbin/libvirtd --listen -p'))
    const child = spawn('ip', ['netns', 'exec', n, 'unshare', '-m', '--propagation', 'private', 'sh', script], {stdio: 'ignore', detached: true})
    child.unref()
    const uri = `qemu+unix:///system?socket=${base}/run/libvirt-sock`
    await waitFor('libvirtd socket', () => existsSync(join(base, 'run/libvirt-sock')))
    await waitFor('libvirtd answering', () => {
      try {
        virsh(uri, ['version'])
        return true
      } catch {
        return false
      }
    })
    hosts.push({root: base, uri, child})
  }
  return hosts
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

async function measure(label, startHosts) {
  const {ns, ips} = twoNamespaces(label)
  const dir = mkdtempSync(join(tmpdir(), `bench-mg-${label}-`))
  let hosts = []
  try {
    hosts = await startHosts(ns)
    const log = join(dir, 'g.log')
    writeFileSync(join(dir, 'g.xml'), guestXml('mg', log))
    virsh(hosts[0].uri, ['create', join(dir, 'g.xml')])
    await waitFor('guest counting', () => existsSync(log) && /COUNT 5\b/.test(readFileSync(log, 'utf8')))
    const total = []
    const down = []
    for (let i = 0; i < ROUNDS; i++) {
      const [from, to] = i % 2 === 0 ? [0, 1] : [1, 0]
      const t0 = process.hrtime.bigint()
      virsh(hosts[from].uri, ['migrate', '--live', '--p2p', '--migrateuri', `tcp://${ips[to]}`, 'mg', `qemu+tcp://${ips[to]}/system`])
      total.push(Number(process.hrtime.bigint() - t0) / 1e6)
      const info = virsh(hosts[to].uri, ['domjobinfo', '--completed', 'mg'])
      const m = /Total downtime:\s+(\d+)/.exec(info)
      down.push(m ? Number(m[1]) : NaN)
    }
    virsh(hosts[ROUNDS % 2].uri, ['destroy', 'mg'])
    return {total_ms: median(total), downtime_ms: median(down)}
  } finally {
    for (const h of hosts) {
      for (const f of ['run/libvirtd.pid', 'libvirtd.pid']) {
        try {
          const pid = Number(readFileSync(join(h.root, f), 'utf8'))
          process.kill(pid, 'SIGTERM')
          await waitGone(pid, 10000)
        } catch {
          // no such pid file
        }
      }
    }
    for (const n of ns) killNetns(n)
    for (const h of hosts) rmSync(h.root, {recursive: true, force: true})
    rmSync(dir, {recursive: true, force: true})
  }
}

const a = await measure('v', vctlHosts)
const b = await measure('l', libvirtdHosts)
console.log(`live migration of the 128 MiB tiny guest between two namespaces, median of ${ROUNDS}`)
console.log('figure'.padEnd(36), 'vctl'.padStart(10), 'libvirtd'.padStart(10), 'ratio'.padStart(8))
for (const [label, key] of [
  ['total migration time (ms)', 'total_ms'],
  ['downtime, domjobinfo --completed (ms)', 'downtime_ms'],
]) {
  console.log(
    label.padEnd(36),
    a[key].toFixed(0).padStart(10),
    b[key].toFixed(0).padStart(10),
    `${(b[key] / Math.max(a[key], 0.1)).toFixed(2)}x`.padStart(8),
  )
}
console.log('(ratio = libvirtd / vctl; >= 1 means vctl is at least as fast; target: vctl <= libvirtd for both)')
