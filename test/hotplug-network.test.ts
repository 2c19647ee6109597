// Hot-plugging an interface on a vctl network into a running guest (daemon in its own network
// namespace): the network gives a port, a tap joins its bridge, QEMU gets netdev and NIC; detaching
// removes all of it. A bad network name gives libvirt's error and leaves nothing behind.
import test from 'ava'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {virsh, waitFor} from './helpers/daemon.js'
import {READY, guestXml, waitForLog} from './helpers/guest.js'
import {netnsDaemon, type NetnsDaemon} from './helpers/netns.js'

let d: NetnsDaemon | undefined

test.after.always(async () => {
  await d?.cleanup()
})

const NET = `<network>
  <name>hpnet</name>
  <bridge name='vbhp0'/>
  <ip address='192.168.171.1' netmask='255.255.255.0'/>
</network>`

test('attach-interface / detach-interface on a network: port, tap on the bridge, NIC in QEMU', async (t) => {
  t.timeout(300000) // guests under TCG on a loaded machine: more than ava's default
  d = await netnsDaemon('hpn')
  await d.start()
  const U = d.uri
  writeFileSync(join(d.root, 'net.xml'), NET)
  t.is((await virsh(U, ['net-define', join(d.root, 'net.xml')])).code, 0)
  t.is((await virsh(U, ['net-start', 'hpnet'])).code, 0)
  const log = join(d.root, 'serial.log')
  writeFileSync(join(d.root, 'g.xml'), guestXml('g', log))
  const st = await virsh(U, ['create', join(d.root, 'g.xml')])
  t.is(st.code, 0, st.stderr)
  await waitForLog(log, READY, 1, 90000)
  const bridged = async () => (await d?.exec('ip', ['-o', 'link', 'show', 'master', 'vbhp0']))?.stdout ?? ''

  let r = await virsh(U, ['attach-interface', 'g', 'network', 'nosuchnet'])
  t.is(r.code, 1)
  t.true(r.stderr.includes("Network not found: no network with matching name 'nosuchnet'"), r.stderr)
  t.is((await virsh(U, ['domiflist', 'g'])).stdout.match(/52:54:00/g), null)

  r = await virsh(U, ['attach-interface', 'g', 'network', 'hpnet', '--mac', '52:54:00:00:07:01', '--model', 'virtio'])
  t.is(r.code, 0, r.stderr)
  t.is(r.stdout.trim(), 'Interface attached successfully')
  const list = (await virsh(U, ['domiflist', 'g'])).stdout
  const tap = /(vnet\d+)\s+network\s+hpnet\s+virtio\s+52:54:00:00:07:01/.exec(list)?.[1]
  t.truthy(tap, list)
  t.true((await bridged()).includes(`${tap ?? '?'}:`), 'the tap is on the network bridge')
  t.is((await virsh(U, ['net-port-list', 'hpnet'])).stdout.match(/[0-9a-f]{8}-/g)?.length, 1)
  t.regex((await virsh(U, ['dumpxml', 'g'])).stdout, /<alias name='net0'\/>\s*<address type='pci' domain='0x0000' bus='0x00' slot='0x03'/)

  r = await virsh(U, ['detach-interface', 'g', 'network', '--mac', '52:54:00:00:07:01'])
  t.is(r.code, 0, r.stderr)
  t.is(r.stdout.trim(), 'Interface detached successfully')
  // A loaded machine's guest may take longer than libvirt's 5 s wait: then the removal ends later.
  await waitFor('the NIC to go', async () => !(await virsh(U, ['domiflist', 'g'])).stdout.includes('52:54:00:00:07:01'), 60000)
  t.false((await bridged()).includes(`${tap ?? '?'}:`), 'the tap is gone')
  t.is((await virsh(U, ['net-port-list', 'hpnet'])).stdout.match(/[0-9a-f]{8}-/g), null)
})
