// What the benchmarks share: the tiny test guest, vctl's virtqemud and Debian's libvirtd (QEMU
// driver, private mount namespace) started side by side with the same stop logic, waiting, medians,
// alternating rounds, a client's first answered call, and the printed table. Each bench keeps only
// its own workload.
import {execFileSync, spawn} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'
import {privateLibvirtd, waitGone} from './private-libvirtd.mjs'

export const ROOT = resolve(import.meta.dirname, '..')
export const KERNEL = join(ROOT, '.cache/test-guest/vmlinuz')
export const INITRD = join(ROOT, '.cache/test-guest/initramfs.cpio.gz')

/** Builds the tiny test guest (kernel + initramfs) when it is not cached yet. */
export function ensureTestGuest() {
  if (!existsSync(KERNEL)) execFileSync('bash', [join(ROOT, 'scripts/build-test-guest.sh')], {stdio: 'inherit'})
}

/** Polls `cond` every 50 ms; throws naming `what` after `ms`. */
export async function waitFor(cond, what, ms = 90000) {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** SIGTERM to each PID, then waits for each to be gone. */
export async function stopPids(pids) {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGTERM')
    } catch {
      // already gone
    }
  }
  for (const pid of pids) if (!(await waitGone(pid, 30000))) console.warn(`pid ${pid} still running 30 s after SIGTERM`)
}

/**
 * Starts vctl's virtqemud on a temp root. `beforeStop(uri)` runs before the daemon is stopped
 * (e.g. to destroy the guests a bench left running).
 */
export function startVctlQemu(prefix, {beforeStop} = {}) {
  const root = mkdtempSync(join(tmpdir(), prefix))
  execFileSync(process.execPath, [join(ROOT, 'bin/run.js'), 'daemon', 'start', '--driver', 'qemu', '--root', root, '-d'], {stdio: 'ignore'})
  const pid = Number(readFileSync(join(root, 'run/virtqemud.pid'), 'utf8'))
  const uri = `qemu+unix:///system?socket=${root}/run/libvirt/virtqemud-sock`
  return {
    name: 'vctl',
    uri,
    work: root,
    stop: async () => {
      if (beforeStop) await beforeStop(uri)
      await stopPids([pid])
      rmSync(root, {recursive: true, force: true})
    },
  }
}

/** Starts Debian's libvirtd (QEMU driver, its own virtlogd, QEMU as root) in a private mount namespace. */
export async function startQemuLibvirtd(prefix, {beforeStop} = {}) {
  const {base, script} = privateLibvirtd(prefix, {
    libvirtdConf: 'auth_unix_rw = "none"\nauth_unix_ro = "none"\n',
    qemuConf: '\nuser = "root"\ngroup = "root"\n',
    virtlogd: true,
  })
  const child = spawn('unshare', ['-m', '--propagation', 'private', 'sh', script], {stdio: 'ignore', detached: true})
  child.unref()
  await waitFor(() => existsSync(join(base, 'run/libvirt-sock')), 'the libvirtd socket', 30000)
  const uri = `qemu+unix:///system?socket=${base}/run/libvirt-sock`
  return {
    name: 'libvirtd',
    uri,
    work: base,
    stop: async () => {
      if (beforeStop) await beforeStop(uri)
      const pids = [child.pid]
      try {
        pids.push(Number(readFileSync(join(base, 'virtlogd.pid'), 'utf8')))
      } catch {
        // virtlogd never started
      }
      await stopPids(pids)
      rmSync(base, {recursive: true, force: true})
    },
  }
}

/** Starts both daemons, runs `body(vctl, libvirtd)`, and always stops both. */
export async function sideBySide(prefix, body, opts = {}) {
  const ours = startVctlQemu(`${prefix}v-`, opts)
  let theirs
  try {
    theirs = await startQemuLibvirtd(`${prefix}l-`, opts)
    return await body(ours, theirs)
  } finally {
    await ours.stop()
    if (theirs) await theirs.stop()
  }
}

export const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]

/** The items in the order of round `round`: as given on even rounds, reversed on odd ones (so neither side always goes first). */
export const alternating = (round, items) => (round % 2 ? [...items].reverse() : items)

export {firstAnswer} from '../scripts/first-answer.mjs'

/** Milliseconds since `t0` (from process.hrtime.bigint()). */
export const msSince = (t0) => Number(process.hrtime.bigint() - t0) / 1e6

/**
 * Prints the figures: rows of [label, vctl ms, libvirtd ms], the ratio libvirtd / vctl, and the
 * raw samples as one JSON line.
 */
export function printTable(heading, rows, raw) {
  const width = Math.max(heading.length, ...rows.map(([label]) => label.length)) + 2
  console.log(heading.padEnd(width), 'vctl'.padStart(10), 'libvirtd'.padStart(10), 'ratio'.padStart(8))
  for (const [label, a, b] of rows) {
    console.log(label.padEnd(width), a.toFixed(1).padStart(10), b.toFixed(1).padStart(10), `${(b / Math.max(a, 0.1)).toFixed(1)}x`.padStart(8))
  }
  console.log('(ratio = libvirtd time / vctl time; > 1 means vctl is faster)')
  console.log(JSON.stringify(raw))
}
