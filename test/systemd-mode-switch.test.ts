// `vctl mode switch` under a live systemd (systemd-nspawn container, no QEMU): monolithic ->
// modular -> monolithic with the real virsh reaching the daemons systemd activates, and the
// rollback after a real failure (a socket unit that fails to start).
import test from 'ava'
import {BIN} from './helpers/daemon.js'
import {bootContainer, containerUnavailable, settledState, type SystemdContainer} from './helpers/systemd-container.js'
import {startableDrivers} from '../src/lib/systemd/mode.js'

const unavailable = containerUnavailable()
let c: SystemdContainer | undefined

test.before(async () => {
  // What a container needs is installed by setup (scripts/install-system-deps.sh): missing, the tests fail.
  if (unavailable) throw new Error(`a systemd container cannot boot here: ${unavailable}`)
  c = await bootContainer({variant: 'base'})
  await c.ok(`node ${BIN} units install`)
  await c.ok(`node ${BIN} mode switch monolithic --yes`)
})

test.after.always(async () => {
  await c?.stop()
})

const box = (): SystemdContainer => {
  if (!c) throw new Error('no container')
  return c
}

async function states(units: string[]): Promise<Record<string, string>> {
  const active = (await box().sh(`systemctl is-active ${units.join(' ')}`)).stdout.trim().split('\n')
  const enabled = (await box().sh(`systemctl is-enabled ${units.join(' ')}`)).stdout.trim().split('\n')
  return Object.fromEntries(units.map((u, i) => [u, `${active[i]}/${enabled[i]}`]))
}

const MONO = ['libvirtd.socket', 'libvirtd-ro.socket', 'libvirtd-admin.socket']
const MODULAR = ['virtqemud.socket', 'virtsecretd.socket', 'virtproxyd.socket', 'virtproxyd-ro.socket']
const maybe = test.serial

maybe('monolithic: libvirtd is socket-activated by the real virsh', async (t) => {
  const c = box()
  t.deepEqual(await states(MONO), Object.fromEntries(MONO.map((u) => [u, 'active/enabled'])))
  const r = await c.sh('virsh -c qemu:///system list --all')
  t.is(r.code, 0, r.stderr)
  t.is(await settledState(box(), 'libvirtd.service'), 'active')
})

maybe('a socket that fails to start: the switch to modular is rolled back on the live systemd', async (t) => {
  t.timeout(600000) // mode switches and a dozen processes in the container: minutes on a loaded machine
  const c = box()
  // A real failure: virtsecretd.socket cannot start (its ExecStartPre fails).
  await c.ok(
    'mkdir -p /run/systemd/system/virtsecretd.socket.d && printf "[Socket]\\nExecStartPre=/bin/false\\n" > /run/systemd/system/virtsecretd.socket.d/fail.conf && systemctl daemon-reload',
  )
  const before = await states([...MONO, ...MODULAR])
  const r = await c.sh(`node ${BIN} mode switch modular --yes --force`)
  const cleanup = await c.sh('rm -r /run/systemd/system/virtsecretd.socket.d && systemctl daemon-reload && systemctl reset-failed')
  t.is(cleanup.code, 0, cleanup.stderr)
  t.is(r.code, 1)
  t.regex(
    r.stderr.replace(/\s*\n\s*›\s*/g, ' '),
    /step 'Start the sockets of .*' failed: .*virtsecretd.*rolled back \d+ actions?, the units are as they were/s,
  )
  t.deepEqual(await states([...MONO, ...MODULAR]), before)
  const list = await c.sh('virsh -c qemu:///system list --all')
  t.is(list.code, 0, list.stderr)
  t.is(await settledState(box(), 'libvirtd.service'), 'active')
})

maybe('modular: only startable daemons enabled, each started by its socket, the old socket reaches virtproxyd; back to monolithic', async (t) => {
  t.timeout(600000) // mode switches and a dozen processes in the container: minutes on a loaded machine
  const c = box()
  const r = await c.sh(`node ${BIN} mode switch modular --yes --force --mask`)
  t.is(r.code, 0, r.stderr + r.stdout)
  const mono = await states([...MONO, 'libvirtd.service'])
  for (const u of Object.keys(mono)) t.is(mono[u], 'inactive/masked', u)
  const {drivers, leftOut} = startableDrivers()
  const enabled = await states(drivers.map((d) => `virt${d}d.socket`))
  for (const u of Object.keys(enabled)) t.is(enabled[u], 'active/enabled', u)
  for (const l of leftOut) t.is((await c.sh(`systemctl is-enabled virt${l.driver}d.socket`)).stdout.trim(), 'disabled', l.driver)
  if (leftOut.length) t.regex(r.stdout, new RegExp(`left out: ${leftOut.map((l) => `virt${l.driver}d`).join(', ')}`))

  // Every enabled daemon starts by its socket and answers its own URI (the real virsh picks the
  // modular socket of the URI's driver).
  const probe: Record<string, string> = {
    qemu: 'list --all',
    secret: 'secret-list',
    network: 'net-list --all',
    storage: 'pool-list --all',
    nodedev: 'nodedev-list',
    interface: 'iface-list --all',
    nwfilter: 'nwfilter-list',
  }
  t.true(drivers.includes('qemu') && drivers.includes('secret'))
  for (const d of drivers) {
    const cmd = probe[d]
    if (!cmd) {
      t.fail(`no probe for the ${d} driver`)
      continue
    }
    const r = await c.sh(`virsh -c ${d}:///system ${cmd}`)
    t.is(r.code, 0, `${d}: ${r.stderr}`)
    t.is(await settledState(box(), `virt${d}d.service`), 'active', d)
  }
  const proxied = await c.sh("virsh -c 'qemu+unix:///system?socket=/run/libvirt/libvirt-sock' list --all")
  t.is(proxied.code, 0, proxied.stderr)
  t.is(await settledState(box(), 'virtproxyd.service'), 'active')
  t.is((await c.sh('systemctl is-active libvirtd.service')).stdout.trim(), 'inactive')

  const back = await c.sh(`node ${BIN} mode switch monolithic --yes --force`)
  t.is(back.code, 0, back.stderr + back.stdout)
  t.deepEqual(await states(MONO), Object.fromEntries(MONO.map((u) => [u, 'active/enabled'])))
  for (const d of drivers) t.is((await c.sh(`systemctl is-active virt${d}d.service virt${d}d.socket`)).stdout.trim(), 'inactive\ninactive', d)
  t.is((await c.sh('virsh -c qemu:///system list --all')).code, 0)
  t.is(await settledState(box(), 'libvirtd.service'), 'active')
})
