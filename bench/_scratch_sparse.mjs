import {execFileSync, spawn} from 'node:child_process'
import {closeSync, existsSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync} from 'node:fs'
import {randomBytes} from 'node:crypto'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'
import {privateLibvirtd, waitGone} from './private-libvirtd.mjs'
const ROOT = resolve(import.meta.dirname, '..')
const RUNS = Number(process.env.RUNS ?? 21)
const work = mkdtempSync(join(tmpdir(), 'bench-scr-'))
const virsh = (uri, ...args) => execFileSync('virsh', ['-c', uri, ...args], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit']})
const timed = (fn) => { const t0 = process.hrtime.bigint(); fn(); return Number(process.hrtime.bigint() - t0) / 1e6 }
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
async function waitFor(p) { while (!existsSync(p)) await new Promise((r) => setTimeout(r, 50)) }
const sparse = join(work, 'sparse.img')
let fd = openSync(sparse, 'w'); ftruncateSync(fd, 1 << 30)
for (let i = 0; i < 8; i++) writeSync(fd, randomBytes(1 << 20), 0, 1 << 20, i * 128 * (1 << 20))
closeSync(fd)
const root = mkdtempSync(join(tmpdir(), 'bench-vs-'))
execFileSync(process.execPath, [join(ROOT, 'bin/run.js'), 'daemon', 'start', '--driver', 'storage', '--root', root, '-d'], {stdio: 'ignore'})
const pid = Number(readFileSync(join(root, 'run/virtstoraged.pid'), 'utf8'))
const {base, script} = privateLibvirtd('bench-ls-', {libvirtdConf: 'auth_unix_rw = "none"\nauth_unix_ro = "none"\n'})
const child = spawn('unshare', ['-m', '--propagation', 'private', 'sh', script], {stdio: 'ignore', detached: true}); child.unref()
await waitFor(join(base, 'run/libvirt-sock'))
const sides = [[`storage:///system?socket=${root}/run/libvirt/virtstoraged-sock`, 'vctl'], [`qemu:///system?socket=${base}/run/libvirt-sock`, 'libvirtd']]
const cases = {
  info: ['pool-info', 'bench'],
  volinfo: ['vol-info', 'sparse', '--pool', 'bench'],
  up: ['vol-upload', 'sparse', sparse, '--pool', 'bench', '--sparse'],
  upd: ['vol-upload', 'sparse', sparse, '--pool', 'bench'],
  down: ['vol-download', 'sparse', '@OUT', '--pool', 'bench', '--sparse'],
}
const res = {}
for (const [uri, label] of sides) {
  const d = join(work, 'pool-' + label); mkdirSync(d)
  virsh(uri, 'pool-create-as', 'bench', 'dir', '--target', d)
  virsh(uri, 'vol-create-as', 'bench', 'sparse', '1G', '--allocation', '0')
}
for (const [k, args] of Object.entries(process.env.CASES ? Object.fromEntries(process.env.CASES.split(',').map(c => [c, cases[c]])) : cases)) {
  for (let i = 0; i < RUNS; i++) for (const [uri, label] of sides) {
    const a = args.map((x) => x === '@OUT' ? join(work, 'out-' + label) : x)
    ;(res[`${k} ${label}`] ??= []).push(timed(() => virsh(uri, ...a)))
  }
}
for (const [k, v] of Object.entries(res)) console.log(k.padEnd(20), median(v).toFixed(1))
for (const [uri] of sides) virsh(uri, 'pool-destroy', 'bench')
process.kill(pid, 'SIGTERM'); await waitGone(pid)
const lpid = Number(readFileSync(join(base, 'libvirtd.pid'), 'utf8')); process.kill(lpid, 'SIGTERM'); await waitGone(lpid)
rmSync(root, {recursive: true, force: true}); rmSync(base, {recursive: true, force: true}); rmSync(work, {recursive: true, force: true})
