// Memory, vCPUs, pinning and metadata of a real QEMU guest through the real virsh: vctl's virtqemud, and
// Debian's libvirtd 9.0 beside it answering the same commands for the same guest.
import test from 'ava'
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {startDaemon, virsh, waitFor, type TestDaemon} from './helpers/daemon.js'
import {READY, guestXml, killGuestsUnder, qemuPidsUnder, waitForLog} from './helpers/guest.js'
import {startRealLibvirtd, type RealLibvirtd} from './helpers/real-libvirtd.js'

let d: TestDaemon
let real: RealLibvirtd | undefined

/** The guest: 128 MiB, 2 vCPUs of which 1 online at boot. */
function xml(dir: string): {file: string; log: string} {
  const log = join(dir, 'serial-tg.log')
  const file = join(dir, 'tg.xml')
  writeFileSync(file, guestXml('tg', log).replace('<vcpu>1</vcpu>', "<vcpu current='1'>2</vcpu>"))
  return {file, log}
}

async function boot(uri: string, dir: string): Promise<string> {
  const {file, log} = xml(dir)
  const r = await virsh(uri, ['define', file])
  if (r.code !== 0) throw new Error(r.stderr)
  const s = await virsh(uri, ['start', 'tg'])
  if (s.code !== 0) throw new Error(s.stderr)
  await waitForLog(log, READY, 1, 90000)
  return log
}

test.before(async () => {
  // Guests get their own cgroups by default (src/lib/drivers/qemu/cgroup.ts).
  delete process.env.VCTL_GUEST_CGROUPS
  d = await startDaemon(['--driver', 'qemu'])
  await boot(d.uri('qemu'), d.root)
})
test.after.always(async () => {
  if (real) {
    await virsh(real.uri, ['destroy', 'tg'])
    await real.stop()
  }
  if (d) {
    killGuestsUnder(d.root)
    await d.stop()
  }
})

const usedKiB = async (uri: string) => Number(/Used memory:\s+(\d+)/.exec((await virsh(uri, ['dominfo', 'tg'])).stdout)?.[1])

test.serial('setmem moves the balloon; above the maximum, and setmaxmem on a running guest, are refused', async (t) => {
  const U = d.uri('qemu')
  let r = await virsh(U, ['setmem', 'tg', '110M'])
  t.is(r.code, 0, r.stderr)
  await waitFor('the balloon to reach 110 MiB', async () => (await usedKiB(U)) === 112640, 60000)
  t.regex((await virsh(U, ['dumpxml', 'tg'])).stdout, /<currentMemory unit='KiB'>112640<\/currentMemory>/)
  // dommemstat reports the balloon's current size as `actual`.
  t.regex((await virsh(U, ['dommemstat', 'tg'])).stdout, /^actual 112640$/m)
  r = await virsh(U, ['setmem', 'tg', '200M'])
  t.is(r.code, 1)
  t.regex(r.stderr, /error: invalid argument: cannot set memory higher than max memory/)
  r = await virsh(U, ['setmaxmem', 'tg', '200M'])
  t.regex(r.stderr, /cannot resize the maximum memory on an active domain/)
  r = await virsh(U, ['setmaxmem', 'tg', '256M', '--config'])
  t.is(r.code, 0, r.stderr)
  t.regex((await virsh(U, ['dumpxml', 'tg', '--inactive'])).stdout, /<memory unit='KiB'>262144<\/memory>/)
  t.regex(readFileSync(join(d.root, 'etc/libvirt/qemu/tg.xml'), 'utf8'), /<memory unit='KiB'>262144<\/memory>/)
})

test.serial('setvcpus hot-plugs a vCPU: vcpucount and vcpuinfo see it; above the maximum is refused', async (t) => {
  const U = d.uri('qemu')
  let r = await virsh(U, ['setvcpus', 'tg', '2'])
  t.is(r.code, 0, r.stderr)
  r = await virsh(U, ['vcpucount', 'tg'])
  t.regex(r.stdout, /current\s+live\s+2/)
  t.regex(r.stdout, /current\s+config\s+1/)
  r = await virsh(U, ['vcpuinfo', 'tg'])
  t.is(r.stdout.match(/^VCPU:/gm)?.length, 2, r.stdout)
  r = await virsh(U, ['setvcpus', 'tg', '3'])
  t.regex(r.stderr, /requested vcpus is greater than max allowable vcpus for the live domain: 3 > 2/)
})

test.serial('vcpupin and emulatorpin set the threads affinity and keep it in <cputune>', async (t) => {
  const U = d.uri('qemu')
  let r = await virsh(U, ['vcpupin', 'tg', '0', '0'])
  t.is(r.code, 0, r.stderr)
  r = await virsh(U, ['vcpuinfo', 'tg'])
  t.regex(r.stdout, /VCPU:\s+0[\s\S]*?CPU Affinity:\s+y-/)
  r = await virsh(U, ['emulatorpin', 'tg', '1'])
  t.is(r.code, 0, r.stderr)
  t.regex((await virsh(U, ['emulatorpin', 'tg'])).stdout, /\*: 1$/m)
  const x = (await virsh(U, ['dumpxml', 'tg'])).stdout
  t.regex(x, /<vcpupin vcpu='0' cpuset='0'\/>/)
  t.regex(x, /<emulatorpin cpuset='1'\/>/)
  t.notRegex((await virsh(U, ['dumpxml', 'tg', '--inactive'])).stdout, /<cputune>/)
  r = await virsh(U, ['vcpupin', 'tg', '0', 'x'])
  t.regex(r.stderr, /Invalid cpulist 'x'/)
})

test.serial("schedinfo, memtune and blkiotune read and write the guest's own cgroup", async (t) => {
  const U = d.uri('qemu')
  const pid = qemuPidsUnder(d.root).get('tg') ?? 0
  const cg = (c: string) => {
    const line = readFileSync(`/proc/${pid}/cgroup`, 'utf8')
      .split('\n')
      .find((l) => l.split(':')[1] === c)
    return `/sys/fs/cgroup/${c}${line?.split(':')[2] ?? ''}`
  }
  if (!existsSync('/sys/fs/cgroup/cpu/cpu.shares') || cg('cpu') === '/sys/fs/cgroup/cpu/') {
    t.pass('no cgroup v1 cpu controller here')
    return
  }
  t.regex(cg('cpu'), /\/qemu-\d+\.vctl-qemu$/)
  let r = await virsh(U, ['schedinfo', 'tg', '--set', 'cpu_shares=512'])
  t.is(r.code, 0, r.stderr)
  t.regex(r.stdout, /cpu_shares\s+: 512/)
  t.is(readFileSync(join(cg('cpu'), 'cpu.shares'), 'utf8').trim(), '512')
  r = await virsh(U, ['memtune', 'tg', '--hard-limit', '500000'])
  t.is(r.code, 0, r.stderr)
  t.is(readFileSync(join(cg('memory'), 'memory.limit_in_bytes'), 'utf8').trim(), String(500000 * 1024))
  t.regex((await virsh(U, ['memtune', 'tg'])).stdout, /hard_limit\s+: 500000\nsoft_limit\s+: unlimited/)
  const x = (await virsh(U, ['dumpxml', 'tg'])).stdout
  t.regex(x, /<shares>512<\/shares>/)
  t.regex(x, /<hard_limit unit='KiB'>500000<\/hard_limit>/)
  r = await virsh(U, ['memtune', 'tg', '--hard-limit', '-1'])
  t.is(r.code, 0, r.stderr)
  t.regex((await virsh(U, ['memtune', 'tg'])).stdout, /hard_limit\s+: unlimited/)
})

test.serial('desc and metadata, live and persistent', async (t) => {
  const U = d.uri('qemu')
  t.is((await virsh(U, ['desc', 'tg', '--config', '--new-desc', 'kept'])).code, 0)
  t.is((await virsh(U, ['desc', 'tg'])).stdout.trim(), 'No description for domain: tg')
  t.is((await virsh(U, ['desc', 'tg', '--config'])).stdout.trim(), 'kept')
  t.regex(readFileSync(join(d.root, 'etc/libvirt/qemu/tg.xml'), 'utf8'), /<description>kept<\/description>/)
  let r = await virsh(U, ['metadata', 'tg', 'http://e/', '--key', 'e', '--set', '<x a="1"/>'])
  t.is(r.code, 0, r.stderr)
  t.is((await virsh(U, ['metadata', 'tg', 'http://e/'])).stdout.trim(), '<x a="1"/>')
  r = await virsh(U, ['metadata', 'tg', 'http://nothing/'])
  t.regex(r.stderr, /metadata not found: Requested metadata element is not present/)
})

test.serial('side by side with libvirtd 9.0: the same answers for the same guest', async (t) => {
  real = await startRealLibvirtd()
  await boot(real.uri, real.base)
  const script = [
    'vcpucount tg',
    'blkiotune tg',
    'numatune tg --config',
    'setmem tg 200M',
    'setmaxmem tg 200M',
    'setvcpus tg 3',
    'vcpupin tg 1 1 --config',
    'vcpupin tg --config',
    'emulatorpin tg --config',
    'numatune tg',
    'schedinfo tg --config',
    'memtune tg --config',
    'blkiotune tg --config',
    'desc tg --title',
    'metadata tg http://nothing/',
  ].join('; ')
  const ours = await virsh(d.uri('qemu'), [script])
  const theirs = await virsh(real.uri, [script])
  // the first test already changed our guest's persistent vCPU count and memory: compare what is comparable
  const norm = (s: string) => s.replace(/current\s+live\s+\d/, 'current live N')
  t.is(norm(ours.stdout), norm(theirs.stdout))
  t.is(ours.stderr, theirs.stderr)
  t.is(ours.code, theirs.code)
})
