#!/usr/bin/env node
// Storage: pool-refresh of a dir pool holding 1,000 qcow2 volumes, and vol-upload / vol-download of
// 1 GiB (dense random data, and a sparse image with --sparse) through the real virsh, for vctl's
// virtstoraged and for Debian's real libvirtd 9.0 (private mount namespace), same files, same run.
// Prints the median of a few runs per case and the ratio libvirtd / vctl (above 1: vctl is faster).
import {execFileSync, spawn} from 'node:child_process'
import {closeSync, existsSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync} from 'node:fs'
import {randomBytes} from 'node:crypto'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'
import {privateLibvirtd, waitGone} from './private-libvirtd.mjs'

const ROOT = resolve(import.meta.dirname, '..')
const VOLS = Number(process.env.BENCH_VOLS ?? 1000)
const RUNS = Number(process.env.BENCH_RUNS ?? 3)
const GiB = 1 << 30

const work = mkdtempSync(join(tmpdir(), 'bench-storage-'))
const virsh = (uri, ...args) => execFileSync('virsh', ['-c', uri, ...args], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 600000})

function timed(fn) {
  const t0 = process.hrtime.bigint()
  fn()
  return Number(process.hrtime.bigint() - t0) / 1e6
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

async function waitFor(p, ms = 30000) {
  const end = Date.now() + ms
  while (!existsSync(p)) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${p}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** The input files: 1 GiB of random bytes, and a 1 GiB sparse image with a few MiB of data. */
function makeInputs() {
  const dense = join(work, 'dense.bin')
  let fd = openSync(dense, 'w')
  const chunk = randomBytes(16 << 20)
  for (let i = 0; i < GiB / chunk.length; i++) writeSync(fd, chunk)
  closeSync(fd)
  const sparse = join(work, 'sparse.img')
  fd = openSync(sparse, 'w')
  ftruncateSync(fd, GiB)
  for (let i = 0; i < 8; i++) writeSync(fd, randomBytes(1 << 20), 0, 1 << 20, i * 128 * (1 << 20))
  closeSync(fd)
  return {dense, sparse}
}

/** A pool directory with VOLS small qcow2 images (made once, copied for each daemon). */
function makePoolDir(dir) {
  mkdirSync(dir, {recursive: true})
  const first = join(dir, 'v0000.qcow2')
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', first, '1G'])
  for (let i = 1; i < VOLS; i++) execFileSync('cp', ['--sparse=always', first, join(dir, `v${String(i).padStart(4, '0')}.qcow2`)])
}

function measure(uri, label, inputs) {
  const poolDir = join(work, `pool-${label}`)
  makePoolDir(poolDir)
  virsh(uri, 'pool-create-as', 'bench', 'dir', '--target', poolDir)
  const refresh = median(Array.from({length: RUNS}, () => timed(() => virsh(uri, 'pool-refresh', 'bench'))))
  const listed = virsh(uri, 'vol-list', 'bench')
    .split('\n')
    .filter((l) => l.includes('.qcow2')).length
  if (listed !== VOLS) throw new Error(`${label}: ${listed} volumes listed, ${VOLS} expected`)
  virsh(uri, 'vol-create-as', 'bench', 'dense', '1G')
  virsh(uri, 'vol-create-as', 'bench', 'sparse', '1G', '--allocation', '0')
  const out = join(work, `out-${label}`)
  const rep = (...args) => median(Array.from({length: RUNS}, () => timed(() => virsh(uri, ...args))))
  const r = {
    refresh,
    upload: rep('vol-upload', 'dense', inputs.dense, '--pool', 'bench'),
    download: rep('vol-download', 'dense', out, '--pool', 'bench'),
    sparseUpload: rep('vol-upload', 'sparse', inputs.sparse, '--pool', 'bench', '--sparse'),
    sparseDownload: rep('vol-download', 'sparse', out, '--pool', 'bench', '--sparse'),
  }
  if (!readFileSync(out).equals(readFileSync(inputs.sparse))) throw new Error(`${label}: the sparse download differs`)
  virsh(uri, 'pool-destroy', 'bench')
  rmSync(poolDir, {recursive: true, force: true})
  rmSync(out, {force: true})
  return r
}

async function vctl(inputs) {
  const root = mkdtempSync(join(tmpdir(), 'bench-vs-'))
  execFileSync(process.execPath, [join(ROOT, 'bin/run.js'), 'daemon', 'start', '--driver', 'storage', '--root', root, '-d'], {stdio: 'ignore'})
  const pid = Number(readFileSync(join(root, 'run/virtstoraged.pid'), 'utf8'))
  try {
    return measure(`storage:///system?socket=${root}/run/libvirt/virtstoraged-sock`, 'vctl', inputs)
  } finally {
    process.kill(pid, 'SIGTERM')
    await waitGone(pid)
    rmSync(root, {recursive: true, force: true})
  }
}

async function libvirtd(inputs) {
  const {base, script} = privateLibvirtd('bench-ls-', {libvirtdConf: 'auth_unix_rw = "none"\nauth_unix_ro = "none"\n'})
  const child = spawn('unshare', ['-m', '--propagation', 'private', 'sh', script], {stdio: 'ignore', detached: true})
  child.unref()
  await waitFor(join(base, 'run/libvirt-sock'))
  try {
    return measure(`qemu:///system?socket=${base}/run/libvirt-sock`, 'libvirtd', inputs)
  } finally {
    const pid = Number(readFileSync(join(base, 'libvirtd.pid'), 'utf8'))
    process.kill(pid, 'SIGTERM')
    await waitGone(pid)
    rmSync(base, {recursive: true, force: true})
  }
}

try {
  const inputs = makeInputs()
  const ours = await vctl(inputs)
  const theirs = await libvirtd(inputs)
  const rows = [
    [`pool-refresh, ${VOLS} qcow2 volumes`, 'refresh'],
    ['vol-upload 1 GiB dense', 'upload'],
    ['vol-download 1 GiB dense', 'download'],
    ['vol-upload 1 GiB sparse --sparse', 'sparseUpload'],
    ['vol-download 1 GiB sparse --sparse', 'sparseDownload'],
  ]
  console.log(`storage (median of ${RUNS} runs, ms)            vctl  libvirtd  libvirtd/vctl`)
  for (const [label, k] of rows) {
    console.log(
      `${label.padEnd(40)} ${ours[k].toFixed(0).padStart(8)} ${theirs[k].toFixed(0).padStart(9)} ${(theirs[k] / ours[k]).toFixed(2).padStart(14)}`,
    )
  }
} finally {
  rmSync(work, {recursive: true, force: true})
}
