#!/usr/bin/env node
// Network driver latencies: net-start and net-destroy of a NAT network with DHCP, and a guest's
// start-to-DHCP-lease time, for vctl's libvirtd (bridge + nft table + dnsmasq) and Debian's real
// libvirtd 9.0 (bridge + iptables + dnsmasq), same libvirt-python client, same run. Each daemon
// runs in a network namespace of its own (`ip netns add`), so nothing of the host's network moves;
// libvirtd also in a private mount namespace over a temp copy of its tree.
import {execFileSync, spawn} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'
import {randomBytes} from 'node:crypto'
import {privateLibvirtd, waitGone} from './private-libvirtd.mjs'

const ROOT = resolve(import.meta.dirname, '..')
const KERNEL = join(ROOT, '.cache/test-guest/vmlinuz')
const INITRD = join(ROOT, '.cache/test-guest/initramfs.cpio.gz')
const ROUNDS = Number(process.env.ROUNDS ?? 20)
execFileSync('bash', [join(ROOT, 'scripts/build-test-guest.sh')], {stdio: ['ignore', 'ignore', 'inherit']})
for (const tool of ['/usr/sbin/iptables', '/usr/sbin/dnsmasq', '/usr/sbin/nft']) {
  if (!existsSync(tool)) throw new Error(`${tool} is missing: run scripts/install-system-deps.sh`)
}

function measure(ns, uri, work) {
  const out = execFileSync(
    'ip',
    ['netns', 'exec', ns, '/usr/bin/python3', join(ROOT, 'bench/network_client.py'), uri, KERNEL, INITRD, work, String(ROUNDS)],
    {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      timeout: 600000,
    },
  )
  return JSON.parse(out)
}

function netns(tag) {
  const ns = `vctl-b-${tag}-${randomBytes(3).toString('hex')}`
  execFileSync('ip', ['netns', 'add', ns])
  execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up'])
  return ns
}

/** Kills what still lives in the namespace (dnsmasq, QEMU), then removes it. */
function dropNetns(ns) {
  const want = execFileSync('stat', ['-L', '-c', '%i', `/run/netns/${ns}`], {encoding: 'utf8'}).trim()
  for (const pid of execFileSync('ls', ['/proc'], {encoding: 'utf8'}).split('\n')) {
    if (!/^\d+$/.test(pid)) continue
    try {
      if (execFileSync('stat', ['-L', '-c', '%i', `/proc/${pid}/ns/net`], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore']}).trim() === want) {
        process.kill(Number(pid), 'SIGKILL')
      }
    } catch {
      /* gone */
    }
  }
  execFileSync('ip', ['netns', 'del', ns])
}

async function waitFor(p, ms = 60000) {
  const end = Date.now() + ms
  while (!existsSync(p)) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${p}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

async function vctl() {
  const ns = netns('nv')
  const root = mkdtempSync(join(tmpdir(), 'bench-nv-'))
  try {
    execFileSync('ip', ['netns', 'exec', ns, process.execPath, join(ROOT, 'bin/run.js'), 'daemon', 'start', '--root', root, '-d'], {stdio: 'ignore'})
    const pid = Number(readFileSync(join(root, 'run/libvirtd.pid'), 'utf8'))
    try {
      return measure(ns, `qemu+unix:///system?socket=${root}/run/libvirt/libvirt-sock`, root)
    } finally {
      process.kill(pid, 'SIGTERM')
      await waitGone(pid)
    }
  } finally {
    dropNetns(ns)
    rmSync(root, {recursive: true, force: true})
  }
}

async function libvirtd() {
  const ns = netns('nl')
  const {base: b, script} = privateLibvirtd('bench-nl-', {
    libvirtdConf: 'auth_unix_rw = "none"\nauth_unix_ro = "none"\n',
    qemuConf: '\nuser = "root"\ngroup = "root"\n',
    virtlogd: true,
  })
  const child = spawn('ip', ['netns', 'exec', ns, 'unshare', '-m', '--propagation', 'private', 'sh', script], {stdio: 'ignore', detached: true})
  child.unref()
  try {
    await waitFor(join(b, 'run/libvirt-sock'))
    // The socket exists before the daemon accepts: let the client retry briefly.
    for (let i = 0; ; i++) {
      try {
        execFileSync('virsh', ['-c', `qemu+unix:///system?socket=${b}/run/libvirt-sock`, 'version'], {stdio: 'ignore'})
        break
      } catch (err) {
        if (i > 100) throw err
        await new Promise((r) => setTimeout(r, 100))
      }
    }
    return measure(ns, `qemu+unix:///system?socket=${b}/run/libvirt-sock`, b)
  } finally {
    dropNetns(ns)
    rmSync(b, {recursive: true, force: true})
  }
}

const ours = await vctl()
const theirs = await libvirtd()
const f = (x) => x.toFixed(1).padStart(8)
console.log(`network driver, NAT network with DHCP, median of ${ROUNDS} rounds (guest lease: ${Math.max(1, Math.floor(ROUNDS / 10))})`)
console.log(`                      vctl  libvirtd  ratio`)
for (const [k, label] of [
  ['start_ms', 'net-start (ms)    '],
  ['destroy_ms', 'net-destroy (ms)  '],
  ['lease_ms', 'start->lease (ms) '],
]) {
  console.log(`${label}${f(ours[k])}  ${f(theirs[k])}  ${(ours[k] / theirs[k]).toFixed(2)}`)
}
