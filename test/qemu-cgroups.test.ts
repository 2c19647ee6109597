// Guests in their own cgroups by default: each QEMU goes to qemu-PID.vctl-qemu under the daemon's own
// placement in every cgroup v1 controller (as libvirt places guests relative to its own cgroup),
// schedinfo answers libvirt's defaults from it, the cgroups go when the guest stops, and
// VCTL_GUEST_CGROUPS=0 leaves QEMU in the daemon's cgroups.
import test from 'ava'
import {existsSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {startDaemon, tempRoot, virsh, waitFor, type TestDaemon} from './helpers/daemon.js'
import {READY, guestXml, killGuestsUnder, qemuPidsUnder, waitForLog} from './helpers/guest.js'

const root = tempRoot('vctl-cgroups-')
const daemons: TestDaemon[] = []
const V1 = ['cpu', 'cpuacct', 'cpuset', 'memory', 'blkio']
const usable = process.getuid?.() === 0 && existsSync('/sys/fs/cgroup/cpu/cgroup.procs')

test.after.always(async () => {
  killGuestsUnder(root)
  for (const d of daemons) await d.stop()
  rmSync(root, {recursive: true, force: true})
})

function placement(pid: number | 'self'): Record<string, string> {
  const out: Record<string, string> = {}
  for (const line of readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n')) {
    const [, ctrls, path] = line.split(':')
    for (const c of ctrls?.split(',') ?? []) if (V1.includes(c) && path !== undefined) out[c] = path
  }
  return out
}

async function boot(name: string, env: string | undefined): Promise<{d: TestDaemon; pid: number}> {
  if (env === undefined) delete process.env.VCTL_GUEST_CGROUPS
  else process.env.VCTL_GUEST_CGROUPS = env
  const dir = join(root, name)
  const d = await startDaemon(['--driver', 'qemu'], {root: dir})
  daemons.push(d)
  const U = d.uri('qemu')
  writeFileSync(join(dir, 'g.xml'), guestXml(name, join(dir, 'serial.log')))
  const r = await virsh(U, ['create', join(dir, 'g.xml')])
  if (r.code !== 0) throw new Error(r.stderr)
  await waitForLog(join(dir, 'serial.log'), READY, 1, 120000)
  return {d, pid: qemuPidsUnder(dir).get(name) ?? 0}
}

test.serial('a guest gets its own cgroup under the daemon placement by default, gone when it stops', async (t) => {
  if (!usable) return t.pass('needs root and cgroup v1 controllers')
  const {d, pid} = await boot('cg1', undefined)
  t.true(pid > 0)
  const mine = placement('self')
  const its = placement(pid)
  for (const c of V1) {
    if (mine[c] === undefined) continue
    t.is(its[c], join(mine[c], `qemu-${pid}.vctl-qemu`), c)
    t.true(
      readFileSync(join('/sys/fs/cgroup', c, its[c], 'cgroup.procs'), 'utf8')
        .split('\n')
        .includes(String(pid)),
      c,
    )
  }
  // QEMU's threads made after the move are in it too.
  const tasks = readFileSync(join('/sys/fs/cgroup/cpu', its.cpu, 'tasks'), 'utf8')
    .trim()
    .split('\n')
  t.true(tasks.length > 1, 'QEMU threads in the cgroup')
  const U = d.uri('qemu')
  const r = await virsh(U, ['schedinfo', 'cg1'])
  t.is(r.code, 0, r.stderr)
  t.regex(r.stdout, /cpu_shares\s+: 1024\n/)
  t.is((await virsh(U, ['destroy', 'cg1'])).code, 0)
  const left = () => V1.filter((c) => its[c] !== undefined && existsSync(join('/sys/fs/cgroup', c, its[c])))
  await waitFor('the cgroups to go', () => left().length === 0, 30000).catch(() => undefined)
  t.deepEqual(left(), [], 'cgroups left after the guest stopped')
})

test.serial('VCTL_GUEST_CGROUPS=0: QEMU stays in the daemon cgroups and tuning says so as libvirt does', async (t) => {
  if (!usable) return t.pass('needs root and cgroup v1 controllers')
  const {d, pid} = await boot('cg0', '0')
  t.deepEqual(placement(pid), placement(d.pid))
  const r = await virsh(d.uri('qemu'), ['schedinfo', 'cg0'])
  t.is(r.code, 1)
  t.regex(r.stderr, /cgroup CPU controller is not mounted/)
  delete process.env.VCTL_GUEST_CGROUPS
})
