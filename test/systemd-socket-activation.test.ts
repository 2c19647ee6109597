// Under a live systemd (systemd-nspawn containers, one without QEMU and one with it): `vctl units
// install`, socket activation of vctl's libvirtd by the real virsh, the idle timeout and the next
// activation, and a daemon that starts with what the host has (no QEMU: qemu:///system opens,
// calls that need QEMU fail as libvirtd's do, the other drivers serve).
import test from 'ava'
import {BIN} from './helpers/daemon.js'
import {bootContainer, containerUnavailable, settledState, type SystemdContainer} from './helpers/systemd-container.js'

const unavailable = containerUnavailable()
let c: SystemdContainer | undefined
let withQemu: SystemdContainer | undefined

test.before(async () => {
  // What a container needs is installed by setup (scripts/install-system-deps.sh): missing, the tests fail.
  if (unavailable) throw new Error(`a systemd container cannot boot here: ${unavailable}`)
  ;[c, withQemu] = await Promise.all([bootContainer({variant: 'base'}), bootContainer({variant: 'qemu'})])
  await c.ok(`node ${BIN} units install`)
  // Debian's libvirt is in the QEMU image (for the benchmark): vctl's units replace its unit files.
  await withQemu.ok(`node ${BIN} units install --force`)
})

test.after.always(async () => {
  await Promise.all([c?.stop(), withQemu?.stop()])
})

const box = (): SystemdContainer => {
  if (!c) throw new Error('no container')
  return c
}

async function mainPid(unit: string, on = box()): Promise<number> {
  return Number((await on.ok(`systemctl show -p MainPID --value ${unit}`)).trim())
}

async function activeState(unit: string, on = box()): Promise<string> {
  return (await on.sh(`systemctl is-active ${unit}`)).stdout.trim()
}

async function waitState(unit: string, state: string, ms: number, on = box()): Promise<number> {
  const start = Date.now()
  while (Date.now() - start < ms) {
    if ((await activeState(unit, on)) === state) return Date.now() - start
    await new Promise((r) => setTimeout(r, 200))
  }
  throw new Error(`${unit} not ${state} within ${ms} ms: ${await on.journal(unit)}`)
}

const maybe = test.serial
const IDLE_TIMEOUT = 15

maybe('the install writes the Debian argument files, the units read them', async (t) => {
  const c = box()
  t.true((await c.sh('test -f /etc/default/libvirtd')).code === 0)
  t.not((await c.sh('test -e /etc/sysconfig/libvirtd')).code, 0)
  t.regex(await c.ok('systemctl cat libvirtd.service'), /^EnvironmentFile=-\/etc\/default\/libvirtd$/m)
  t.is((await c.sh('test -x /usr/bin/qemu-system-x86_64')).code === 0, false, 'the base container has no QEMU')
})

maybe('the real virsh socket-activates libvirtd with no QEMU installed; --timeout 15 lets it exit and come back', async (t) => {
  t.timeout(600000) // guests booted under TCG and many processes: minutes on a loaded machine
  const c = box()
  // 15 s: the daemon must not go idle between the checks below (each a process spawned into the
  // container, slow on a loaded machine), or it would start twice and log its warning twice.
  await c.ok(`echo 'LIBVIRTD_ARGS="--timeout ${IDLE_TIMEOUT}"' >> /etc/default/libvirtd`)
  await c.ok('systemctl start libvirtd.socket')
  t.is(await activeState('libvirtd.socket'), 'active')
  t.is(await activeState('libvirtd.service'), 'inactive', 'nothing started before the first client')

  const list = await c.sh('virsh -c qemu:///system list --all')
  t.is(list.code, 0, list.stderr + (await c.journal('libvirtd.service')))
  t.regex(list.stdout, /Id\s+Name\s+State/)
  t.is(await settledState(c, 'libvirtd.service'), 'active')
  const first = await mainPid('libvirtd.service')
  t.true(first > 0)

  // What needs QEMU fails as libvirtd 9.0's does on a host without it; the rest answers.
  const ver = await c.sh('virsh -c qemu:///system version')
  t.not(ver.code, 0)
  t.regex(ver.stderr, /internal error: Cannot find suitable emulator for x86_64/)
  const def = await c.sh(
    `virsh -c qemu:///system define /dev/stdin <<'EOF'
<domain type='qemu'><name>x</name><memory>131072</memory><os><type arch='x86_64'>hvm</type></os></domain>
EOF`,
  )
  t.regex(def.stderr, /unsupported configuration: No emulator found for arch 'x86_64'/)
  const caps = await c.sh('virsh -c qemu:///system domcapabilities')
  t.regex(caps.stderr, /unsupported configuration: unable to find any emulator to serve '\(null\)' architecture/)
  t.is((await c.sh('virsh -c qemu:///system capabilities')).stdout.includes('<guest>'), false)
  t.is((await c.sh('virsh -c secret:///system secret-list')).code, 0)
  const testDrv = await c.sh("virsh -c 'test+unix:///default?socket=/run/libvirt/libvirt-sock' list --all")
  t.regex(testDrv.stdout, /\btest\s+running/)
  // One warning in the log, naming what is missing.
  const log = await c.journal('libvirtd.service')
  t.is(log.split('\n').filter((l) => /warning : qemu: cannot find QEMU binary \/usr\/bin\/qemu-system-x86_64/.test(l)).length, 1, log)

  // Idle for 15 s: the daemon exits (not a failure), the socket stays.
  await waitState('libvirtd.service', 'inactive', 60_000)
  t.is(await activeState('libvirtd.socket'), 'active')
  t.is((await c.ok('systemctl show -p Result --value libvirtd.service')).trim(), 'success')
  const again = await c.sh('virsh -c qemu:///system list --all')
  t.is(again.code, 0, again.stderr)
  const second = await mainPid('libvirtd.service')
  t.true(second > 0 && second !== first, `a new daemon (${first} -> ${second})`)
})

maybe('with QEMU installed: socket activation, the QEMU driver answers, --timeout 15 exits and the next virsh starts it again', async (t) => {
  t.timeout(600000) // guests booted under TCG and many processes: minutes on a loaded machine
  const q = withQemu
  if (!q) throw new Error('no container')
  t.is((await q.sh('test -x /usr/bin/qemu-system-x86_64')).code, 0)
  await q.ok(`echo 'LIBVIRTD_ARGS="--timeout ${IDLE_TIMEOUT}"' >> /etc/default/libvirtd && systemctl start libvirtd.socket`)
  t.is(await activeState('libvirtd.service', q), 'inactive')
  const list = await q.sh('virsh -c qemu:///system list --all')
  t.is(list.code, 0, list.stderr + (await q.journal('libvirtd.service')))
  const first = await mainPid('libvirtd.service', q)
  const ver = await q.sh('virsh -c qemu:///system version')
  t.is(ver.code, 0, ver.stderr)
  t.regex(ver.stdout, /Running hypervisor: QEMU \d+\.\d+\.\d+/)
  t.regex(await q.ok('virsh -c qemu:///system capabilities'), /<guest>/)
  t.notRegex(await q.journal('libvirtd.service'), /cannot find QEMU binary/)
  await waitState('libvirtd.service', 'inactive', 60_000, q)
  t.is((await q.sh('virsh -c qemu:///system list --all')).code, 0)
  const second = await mainPid('libvirtd.service', q)
  t.true(second > 0 && second !== first, `a new daemon (${first} -> ${second})`)
})
