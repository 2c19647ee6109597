// libvirt-guests under a live systemd, in the container variant with QEMU: two tiny guests running
// under vctl's socket-activated libvirtd; `systemctl stop libvirt-guests` shuts them down
// (ON_SHUTDOWN=shutdown) within SHUTDOWN_TIMEOUT, `systemctl start libvirt-guests` (ON_BOOT=start)
// starts them again. With ON_SHUTDOWN=suspend they are saved (managed save) and the start restores
// them where they were. Also: `vctl guests status` and bad settings.
import test from 'ava'
import {BIN} from './helpers/daemon.js'
import {POWEROFF, READY, countInLog, guestXml, waitForLog} from './helpers/guest.js'
import {bootContainer, containerUnavailable, type SystemdContainer} from './helpers/systemd-container.js'

const unavailable = containerUnavailable()
let c: SystemdContainer | undefined
const GUESTS = ['lg-one', 'lg-two']
const serial = (name: string) => `/var/log/${name}.serial`
const SHUTDOWN_TIMEOUT = 90

test.before(async () => {
  // What a container needs is installed by setup (scripts/install-system-deps.sh): missing, the tests fail.
  if (unavailable) throw new Error(`a systemd container cannot boot here: ${unavailable}`)
  c = await bootContainer({variant: 'qemu'})
  // Debian's libvirt is in this image (for the benchmark): vctl's units replace its unit files.
  await c.ok(`node ${BIN} units install --force && node ${BIN} mode switch monolithic --yes`)
  await c.ok(
    `printf 'ON_BOOT=start\\nON_SHUTDOWN=shutdown\\nSHUTDOWN_TIMEOUT=${SHUTDOWN_TIMEOUT}\\nPARALLEL_SHUTDOWN=2\\n' > /etc/default/libvirt-guests && systemctl start libvirt-guests`,
  )
})

test.after.always(async () => {
  if (c) await c.sh('for d in $(virsh -c qemu:///system list --name); do virsh -c qemu:///system destroy $d; done')
  await c?.stop()
})

const box = (): SystemdContainer => {
  if (!c) throw new Error('no container')
  return c
}
const running = async () => (await box().ok('virsh -c qemu:///system list --name')).split('\n').filter(Boolean).sort()

const maybe = test.serial

maybe('two guests shut down by `systemctl stop libvirt-guests` and started again by `systemctl start`', async (t) => {
  t.timeout(600000) // two guests booted (twice) under TCG in the container: minutes on a loaded machine
  const c = box()
  for (const name of GUESTS) {
    await c.ok(`cat > /tmp/${name}.xml && virsh -c qemu:///system define /tmp/${name}.xml`, {input: guestXml(name, serial(name))})
    await c.ok(`virsh -c qemu:///system start ${name}`)
  }
  for (const name of GUESTS) await waitForLog(c.path(serial(name)), READY, 1, 120_000)
  t.deepEqual(await running(), GUESTS)

  const start = Date.now()
  const stop = await c.sh('systemctl stop libvirt-guests')
  const took = (Date.now() - start) / 1000
  t.is(stop.code, 0, stop.stderr + (await c.journal('libvirt-guests.service')))
  t.deepEqual(await running(), [], await c.journal('libvirt-guests.service'))
  t.true(took < SHUTDOWN_TIMEOUT, `took ${took} s`)
  for (const name of GUESTS) t.is(countInLog(c.path(serial(name)), POWEROFF), 1, name)
  const status = await c.ok(`node ${BIN} guests status`)
  t.regex(status, /qemu:\/\/\/system: 2 guests to start again/)
  t.regex(await c.journal('libvirt-guests.service'), /Shutdown of guest lg-one complete/)

  const boot = await c.sh('systemctl start libvirt-guests')
  t.is(boot.code, 0, boot.stderr + (await c.journal('libvirt-guests.service')))
  t.deepEqual(await running(), GUESTS)
  for (const name of GUESTS) await waitForLog(c.path(serial(name)), READY, 2, 120_000)
  t.regex(await c.ok(`node ${BIN} guests status`), /no guests to start again/)
})

maybe('ON_SHUTDOWN=suspend saves the guests with managed save; the next start restores them (no new boot)', async (t) => {
  t.timeout(600000) // two guests booted (twice) under TCG in the container: minutes on a loaded machine
  const c = box()
  t.deepEqual(await running(), GUESTS)
  const readyBefore = GUESTS.map((name) => countInLog(c.path(serial(name)), READY))
  const r = await c.sh(`ON_SHUTDOWN=suspend node ${BIN} guests stop`)
  t.is(r.code, 0, r.stderr)
  t.deepEqual(await running(), [])
  for (const name of GUESTS) {
    t.regex(await c.ok(`virsh -c qemu:///system dominfo ${name}`), /Managed save:\s+yes/, name)
    t.is(countInLog(c.path(serial(name)), POWEROFF), 1, `${name} was saved, not powered off again`)
  }
  const boot = await c.sh(`node ${BIN} guests start`)
  t.is(boot.code, 0, boot.stderr)
  t.deepEqual(await running(), GUESTS)
  for (const [i, name] of GUESTS.entries()) {
    t.regex(await c.ok(`virsh -c qemu:///system dominfo ${name}`), /Managed save:\s+no/, name)
    t.is(countInLog(c.path(serial(name)), READY), readyBefore[i], `${name} restored, not booted`)
  }
  const bad = await c.sh(`SHUTDOWN_TIMEOUT=soon node ${BIN} guests stop`)
  t.regex(bad.stderr, /SHUTDOWN_TIMEOUT=soon: expected a number/)
})
