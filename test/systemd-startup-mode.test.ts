// The two start-up modes under a live systemd (container without QEMU): `mode switch traditional`
// masks the layout's sockets, drops --timeout, orders libvirt-guests after the service, and the
// daemon creates its sockets itself (--listen with TCP works); `mode switch socket-activation` undoes
// it. `units install` masks the sockets of a daemon started with --listen. Bad input leaves nothing
// half switched.
import test from 'ava'
import {BIN} from './helpers/daemon.js'
import {bootContainer, containerUnavailable, type SystemdContainer} from './helpers/systemd-container.js'

const unavailable = containerUnavailable()
let c: SystemdContainer | undefined
const SOCKETS = ['libvirtd.socket', 'libvirtd-ro.socket', 'libvirtd-admin.socket', 'libvirtd-tcp.socket', 'libvirtd-tls.socket']
const flat = (s: string) => s.replace(/\s*\n\s*›\s*/g, ' ')

test.before(async () => {
  // What a container needs is installed by setup (scripts/install-system-deps.sh): missing, the tests fail.
  if (unavailable) throw new Error(`a systemd container cannot boot here: ${unavailable}`)
  c = await bootContainer({variant: 'base'})
  await c.ok(`node ${BIN} units install && node ${BIN} mode switch monolithic --yes`)
  await c.ok(`mkdir -p /etc/libvirt && printf 'listen_tls = 0\\nlisten_tcp = 1\\nauth_tcp = "none"\\n' > /etc/libvirt/libvirtd.conf`)
})

test.after.always(async () => {
  await c?.stop()
})

const box = (): SystemdContainer => {
  if (!c) throw new Error('no container')
  return c
}
const enabledStates = async (units: string[]) => (await box().sh(`systemctl is-enabled ${units.join(' ')}`)).stdout.trim().split('\n')
const activeStates = async (units: string[]) => (await box().sh(`systemctl is-active ${units.join(' ')}`)).stdout.trim().split('\n')

/**
 * The state of a socket-activated service once past "activating": it sends READY=1 once its first
 * client is served, so just after that client it may still be activating (longer on a loaded machine).
 */
async function settledState(unit: string): Promise<string> {
  let state = ''
  for (const start = Date.now(); Date.now() - start < 30000; await new Promise((r) => setTimeout(r, 100))) {
    state = (await activeStates([unit]))[0]
    if (state !== 'activating') break
  }
  return state
}

const maybe = test.serial

maybe('bad input: an unknown name and a read-only unit directory change nothing', async (t) => {
  const c = box()
  const before = [...(await enabledStates(SOCKETS)), ...(await activeStates(SOCKETS))]
  const bogus = await c.sh(`node ${BIN} mode switch classic --yes`)
  t.is(bogus.code, 2)
  t.regex(flat(bogus.stderr), /Expected classic to be one of: modular, monolithic, traditional, socket-activation/)

  await c.ok('mount --bind /etc/systemd/system /etc/systemd/system && mount -o remount,bind,ro /etc/systemd/system')
  const ro = await c.sh(`node ${BIN} mode switch traditional`)
  await c.ok('umount /etc/systemd/system')
  t.is(ro.code, 1)
  t.regex(flat(ro.stderr), /step '.*' failed: .*Read-only file system.*; rolled back, the units and files are as they were/)
  t.deepEqual([...(await enabledStates(SOCKETS)), ...(await activeStates(SOCKETS))], before)
  t.regex(await c.ok('cat /etc/default/libvirtd'), /^LIBVIRTD_ARGS="--timeout 120"$/m)
})

maybe('traditional: sockets masked, no --timeout, guests ordered after the service, the daemon makes its sockets; --listen serves TCP', async (t) => {
  const c = box()
  const r = await c.sh(`node ${BIN} mode switch traditional`)
  t.is(r.code, 0, r.stderr + r.stdout)
  t.deepEqual(
    await enabledStates(SOCKETS),
    SOCKETS.map(() => 'masked'),
  )
  t.regex(await c.ok('cat /etc/default/libvirtd'), /^LIBVIRTD_ARGS=""$/m)
  t.deepEqual(await activeStates(['libvirtd.service']), ['active'])
  const guests = await c.ok('cat /etc/systemd/system/libvirt-guests.service')
  t.regex(guests, /^After=libvirtd\.service virtqemud\.socket virtproxyd\.socket$/m)
  t.notRegex(guests, /libvirtd\.socket/)
  t.regex(await c.ok('systemctl show -p After --value libvirt-guests.service'), /libvirtd\.service/)
  const list = await c.sh('virsh -c qemu:///system list --all')
  t.is(list.code, 0, list.stderr)
  t.true((await c.sh('test -S /run/libvirt/libvirt-sock')).code === 0)

  await c.ok(`sed -i 's/^LIBVIRTD_ARGS=.*/LIBVIRTD_ARGS="--listen"/' /etc/default/libvirtd && systemctl restart libvirtd.service`)
  const tcp = await c.sh("virsh -c 'qemu+tcp://127.0.0.1/system' list --all")
  t.is(tcp.code, 0, tcp.stderr + (await c.journal('libvirtd.service')))
  // Installing again keeps the sockets masked: the arguments carry --listen.
  const again = await c.sh(`node ${BIN} units install`)
  t.is(again.code, 0, again.stderr)
  t.regex(again.stdout, /masked libvirtd\.socket, .*--listen/)
})

maybe('socket-activation: back to sockets, with the idle timeout; the guests copy is gone', async (t) => {
  const c = box()
  const r = await c.sh(`node ${BIN} mode switch socket-activation`)
  t.is(r.code, 0, r.stderr + r.stdout)
  t.deepEqual(await enabledStates(SOCKETS.slice(0, 3)), ['enabled', 'enabled', 'enabled'])
  t.deepEqual(await activeStates([...SOCKETS.slice(0, 3), 'libvirtd.service']), ['active', 'active', 'active', 'inactive'])
  t.regex(await c.ok('cat /etc/default/libvirtd'), /^LIBVIRTD_ARGS="--timeout 120"$/m)
  t.not((await c.sh('test -e /etc/systemd/system/libvirt-guests.service')).code, 0)
  const list = await c.sh('virsh -c qemu:///system list --all')
  t.is(list.code, 0, list.stderr)
  t.is(await settledState('libvirtd.service'), 'active')
})
