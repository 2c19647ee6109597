// Guest statistics and guest control side by side: the same tiny guest (a disk, a user-mode NIC, a
// balloon polling its stats every second) on vctl's virtqemud and on Debian's real libvirtd 9.0,
// the same virsh commands on both: exit codes and output equal once figures are masked; domstats
// field names equal group by group. Then what only vctl's side checks: the dumps are real ELF /
// kdump / migration-stream files, the counters are plausible, the agent errors with a channel.
import test from 'ava'
import {closeSync, mkdirSync, openSync, readSync} from 'node:fs'
import {join} from 'node:path'
import {virsh} from './helpers/daemon.js'
import {sideBySide} from './helpers/side-by-side.js'
import {runAll, startGuest, waitBalloonStats, type CommandResult} from './helpers/stats-compare.js'

const pair = sideBySide('vctl-statscmp-', {daemonArgs: ['--driver', 'qemu']})
const root = pair.root

/** The output with figures, units and column padding masked, and the temp dir named DIR. */
function mask(r: CommandResult, dir: string): string {
  // QEMU reports a bandwidth only once it measured one; for a short dump that depends on timing, in both daemons.
  return `rc=${r.code}\n${r.out}`
    .replace(/^Memory bandwidth:.*\n/m, '')
    .replaceAll(dir, 'DIR')
    .replace(/-?\d+(\.\d+)?( ?(B|KiB|MiB|GiB|ms|pages\/s|bytes|MiB\/s))?/g, 'N')
    .replace(/[ \t]+/g, ' ')
    .replace(/-{5,}/g, '---')
}

/** domstats output -> field names (a vcpu/block/net index kept, values dropped). */
const fieldNames = (out: string) =>
  out
    .split('\n')
    .map((l) => l.trim().split('=')[0])
    .filter((l) => l.includes('.'))

function magic(file: string, n: number): Buffer {
  const fd = openSync(file, 'r')
  try {
    const b = Buffer.alloc(n)
    readSync(fd, b, 0, n, 0)
    return b
  } finally {
    closeSync(fd)
  }
}

const G = 'g1'
const running = (dir: string) => [
  ['domblkstat', G, 'vdb'],
  ['domblkstat', G, 'vdb', '--human'],
  ['domblkstat', G],
  ['domblkstat', G, 'vdz'],
  ['domblkstat', G, '/nonexistent'],
  ['domifstat', G, '52:54:00:12:34:56'],
  ['domifstat', G, 'vnet0'],
  ['dommemstat', G],
  ['domblkinfo', G, 'vdb'],
  ['domblkinfo', G, '--all'],
  ['domblkinfo', G, 'vdz'],
  ['domjobinfo', G],
  ['domjobinfo', G, '--completed'],
  ['domifaddr', G],
  ['domifaddr', G, '--source', 'agent'],
  ['send-key', G, 'KEY_A'],
  ['send-key', G, '--codeset', 'xt', '30'],
  ['send-key', G, '--codeset', 'usb', '4'],
  ['send-key', G, '--codeset', 'win32', '65'],
  ['send-key', G, '--holdtime', '50', 'KEY_LEFTCTRL', 'KEY_C'],
  ['send-key', G, 'nosuchkey'],
  ['send-key', G, '999'],
  ['inject-nmi', G],
  ['dump', G, join(dir, 'core.full')],
  ['domjobinfo', G, '--completed'],
  ['dump', G, join(dir, 'core.elf'), '--memory-only'],
  ['dump', G, join(dir, 'core.kdump'), '--memory-only', '--format', 'kdump-zlib'],
  ['dump', G, '/nonexistent-dir/core'],
  ['domstate', G, '--reason'],
  ['domcontrol', G],
  ['domhostname', G],
  ['domhostname', G, '--source', 'lease'],
  ['domtime', G],
  ['domtime', G, '--now'],
  ['suspend', G],
  ['domcontrol', G],
  ['domblkstat', G, 'vdb'],
  ['resume', G],
]
const stopped = (dir: string) => [
  ['destroy', G],
  ['domblkstat', G, 'vdb'],
  ['domifstat', G, '52:54:00:12:34:56'],
  ['dommemstat', G],
  ['domblkinfo', G, 'vdb'],
  ['domblkinfo', G, '--all'],
  ['domjobinfo', G],
  ['domjobinfo', G, '--completed'],
  ['domcontrol', G],
  ['domhostname', G],
  ['domtime', G],
  ['send-key', G, 'KEY_A'],
  ['inject-nmi', G],
  ['dump', G, join(dir, 'x')],
  ['domifaddr', G],
]
const GROUPS = [
  '',
  '--state',
  '--cpu-total',
  '--balloon',
  '--vcpu',
  '--interface',
  '--block',
  '--perf',
  '--iothread',
  '--memory',
  '--dirtyrate',
  '--vm',
]

interface Side {
  dir: string
  first: CommandResult[]
  groups: CommandResult[]
  after: CommandResult[]
  agent: CommandResult[]
}

async function session(uri: string, dir: string): Promise<Side> {
  await startGuest(uri, G, dir)
  await waitBalloonStats(uri, G)
  const first = await runAll(uri, running(dir))
  const groups = await runAll(uri, [
    ...GROUPS.map((g) => ['domstats', ...(g ? [g] : []), G]),
    ['domstats', '--state'],
    ['domstats', '--perf', '--enforce', G],
  ])
  const after = await runAll(uri, [...stopped(dir), ...GROUPS.map((g) => ['domstats', ...(g ? [g] : []), G])])
  await startGuest(uri, 'g2', dir, "<channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>")
  const agent = await runAll(uri, [
    ['domhostname', 'g2'],
    ['domtime', 'g2'],
    ['domtime', 'g2', '--sync'],
    ['domifaddr', 'g2', '--source', 'agent'],
    ['destroy', 'g2'],
  ])
  return {dir, first, groups, after, agent}
}

test.serial('virsh statistics and guest control: vctl answers as libvirtd 9.0 does for the same guest', async (t) => {
  t.timeout(900000)
  const [vdir, rdir] = [join(root, 'v'), join(root, 'r')]
  mkdirSync(vdir)
  mkdirSync(rdir)
  const {vctl: d, real} = await pair.start()
  const [v, r] = await Promise.all([session(d.uri('qemu'), vdir), session(real.uri, rdir)])

  for (const part of ['first', 'after', 'agent'] as const) {
    v[part].forEach((vr, i) => {
      const rr = r[part][i]
      if (vr.cmd.startsWith('domstats')) return
      t.is(mask(vr, vdir), mask(rr, rdir), `${part}: virsh ${vr.cmd.replaceAll(vdir, 'DIR')}`)
    })
  }
  // domstats: the same field names, group by group (libvirt also reports the cgroup CPU time of a shut-off guest; vctl does not).
  const pairs = [...v.groups.map((x, i) => [x, r.groups[i]]), ...v.after.map((x, i) => [x, r.after[i]])]
  for (const [vr, rr] of pairs) {
    if (!vr.cmd.startsWith('domstats')) continue
    t.is(vr.code, rr.code, `exit code of virsh ${vr.cmd}`)
    const inactive = v.after.includes(vr)
    const rn = fieldNames(rr.out).filter((f) => !(inactive && f.startsWith('cpu.')))
    t.deepEqual(fieldNames(vr.out), rn, `fields of virsh ${vr.cmd}`)
  }
  // --state alone: state.* only.
  const stateOnly = v.groups.find((x) => x.cmd === `domstats --state ${G}`)
  t.deepEqual(fieldNames(stateOnly?.out ?? ''), ['state.state', 'state.reason'])

  // The counters are the guest's: it read its disk at boot (partition probe), and domstats agrees with domblkstat.
  const blk = v.first[0].out
  const rdBytes = Number(/rd_bytes (\d+)/.exec(blk)?.[1])
  t.true(rdBytes > 0, blk)
  const statsBlock = v.groups[0].out
  t.true(Number(/block\.0\.rd\.bytes=(\d+)/.exec(statsBlock)?.[1]) >= rdBytes, statsBlock)
  t.regex(v.first.find((x) => x.cmd === `dommemstat ${G}`)?.out ?? '', /^actual 131072$/m)
  t.regex(statsBlock, /balloon\.usable=\d+/)
  // The dumps: a migration stream (QEVM), an ELF core, a kdump-compressed file.
  t.is(magic(join(vdir, 'core.full'), 4).toString('latin1'), 'QEVM')
  t.deepEqual(magic(join(vdir, 'core.elf'), 4), Buffer.from([0x7f, 0x45, 0x4c, 0x46]))
  t.regex(magic(join(vdir, 'core.kdump'), 16).toString('latin1'), /^makedumpfile|^KDUMP/)
  t.regex(v.first[24].out, /Job type: +Completed[\s\S]*Operation: +Dump[\s\S]*Memory total:/)
  // What a read-only connection may and may not do.
  const ro = await virsh(d.uri('qemu', true), ['domstats', '--state', G])
  t.is(ro.code, 0, ro.stderr)
})
