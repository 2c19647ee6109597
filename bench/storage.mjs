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

const CASES = (process.env.BENCH_CASES ?? 'upload,download,sparseUpload,sparseDownload').split(',')

/** A pool with VOLS qcow2 volumes on `uri`, and the two volumes the transfers use. */
function setup(uri, label) {
  const poolDir = join(work, `pool-${label}`)
  makePoolDir(poolDir)
  virsh(uri, 'pool-create-as', 'bench', 'dir', '--target', poolDir)
  const listed = virsh(uri, 'vol-list', 'bench')
    .split('\n')
    .filter((l) => l.includes('.qcow2')).length
  if (listed !== VOLS) throw new Error(`${label}: ${listed} volumes listed, ${VOLS} expected`)
  virsh(uri, 'vol-create-as', 'bench', 'dense', '1G')
  virsh(uri, 'vol-create-as', 'bench', 'sparse', '1G', '--allocation', '0')
  return {uri, label, poolDir, out: join(work, `out-${label}`), times: Object.fromEntries(['refresh', ...CASES].map((k) => [k, []]))}
}

/** One timed run of a case. */
function runCase(t, k, inputs) {
  const args = {
    refresh: ['pool-refresh', 'bench'],
    upload: ['vol-upload', 'dense', inputs.dense, '--pool', 'bench'],
    download: ['vol-download', 'dense', t.out, '--pool', 'bench'],
    sparseUpload: ['vol-upload', 'sparse', inputs.sparse, '--pool', 'bench', '--sparse'],
    sparseDownload: ['vol-download', 'sparse', t.out, '--pool', 'bench', '--sparse'],
  }[k]
  // A download writes a new file: truncating the last one (1 GiB in the page cache after the check
  // below) would be timed too, the same for both daemons but large and noisy.
  rmSync(t.out, {force: true})
  t.times[k].push(timed(() => virsh(t.uri, ...args)))
  if (k === 'sparseDownload' && !readFileSync(t.out).equals(readFileSync(inputs.sparse))) throw new Error(`${t.label}: the sparse download differs`)
}

function teardown(t) {
  virsh(t.uri, 'pool-destroy', 'bench')
  rmSync(t.poolDir, {recursive: true, force: true})
  rmSync(t.out, {force: true})
  return Object.fromEntries(['refresh', ...CASES].map((k) => [k, median(t.times[k])]))
}

/** Both daemons at once; each case runs RUNS rounds, the two daemons alternating (so machine noise hits both alike). */
async function both(inputs) {
  const root = mkdtempSync(join(tmpdir(), 'bench-vs-'))
  execFileSync(process.execPath, [join(ROOT, 'bin/run.js'), 'daemon', 'start', '--driver', 'storage', '--root', root, '-d'], {stdio: 'ignore'})
  const pid = Number(readFileSync(join(root, 'run/virtstoraged.pid'), 'utf8'))
  const {base, script} = privateLibvirtd('bench-ls-', {libvirtdConf: 'auth_unix_rw = "none"\nauth_unix_ro = "none"\n'})
  const child = spawn('unshare', ['-m', '--propagation', 'private', 'sh', script], {stdio: 'ignore', detached: true})
  child.unref()
  try {
    await waitFor(join(base, 'run/libvirt-sock'))
    const a = setup(`storage:///system?socket=${root}/run/libvirt/virtstoraged-sock`, 'vctl')
    const b = setup(`qemu:///system?socket=${base}/run/libvirt-sock`, 'libvirtd')
    for (const k of ['refresh', ...CASES]) {
      // The sparse transfers take tens of ms, where machine noise weighs more: three times the rounds.
      const rounds = k.startsWith('sparse') ? 3 * RUNS : RUNS
      for (let i = 0; i < rounds; i++) for (const t of i % 2 ? [b, a] : [a, b]) runCase(t, k, inputs)
    }
    return [teardown(a), teardown(b)]
  } finally {
    process.kill(pid, 'SIGTERM')
    await waitGone(pid)
    rmSync(root, {recursive: true, force: true})
    if (existsSync(join(base, 'libvirtd.pid'))) {
      const lpid = Number(readFileSync(join(base, 'libvirtd.pid'), 'utf8'))
      process.kill(lpid, 'SIGTERM')
      await waitGone(lpid)
    }
    rmSync(base, {recursive: true, force: true})
  }
}

try {
  const inputs = makeInputs()
  const [ours, theirs] = await both(inputs)
  const rows = [
    [`pool-refresh, ${VOLS} qcow2 volumes`, 'refresh'],
    ['vol-upload 1 GiB dense', 'upload'],
    ['vol-download 1 GiB dense', 'download'],
    ['vol-upload 1 GiB sparse --sparse', 'sparseUpload'],
    ['vol-download 1 GiB sparse --sparse', 'sparseDownload'],
  ]
  console.log(`storage (median of ${RUNS} alternating runs, ${3 * RUNS} for the sparse ones, ms)            vctl  libvirtd  libvirtd/vctl`)
  for (const [label, k] of rows) {
    if (ours[k] === undefined) continue
    console.log(
      `${label.padEnd(40)} ${ours[k].toFixed(0).padStart(8)} ${theirs[k].toFixed(0).padStart(9)} ${(theirs[k] / ours[k]).toFixed(2).padStart(14)}`,
    )
  }
} finally {
  rmSync(work, {recursive: true, force: true})
}
