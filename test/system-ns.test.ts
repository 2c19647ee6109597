// The private qemu:///system the graphical clients' tests use (test/helpers/system-ns.ts): a client in
// the namespace reaches vctl's daemon, and the host's /run/libvirt is left as it was.
import test from 'ava'
import {existsSync, readdirSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {startSystemNamespace} from './helpers/system-ns.js'
import {defineGuest} from './ui/guests.js'

test('qemu:///system in the namespace is vctl under its root; the host sees none of it', async (t) => {
  const hostBefore = existsSync('/run/libvirt') ? readdirSync('/run/libvirt') : null
  const ns = await startSystemNamespace('vctl-sysns-')
  try {
    const sock = join(ns.root, 'run/libvirt/libvirt-sock')
    // The same socket: /run/libvirt in the namespace is the daemon's run dir.
    const inNs = await ns.run('stat', ['-c', '%i', '/run/libvirt/libvirt-sock'])
    t.is(inNs.code, 0, inNs.stderr)
    t.is(Number(inNs.stdout.trim()), statSync(sock).ino)
    await defineGuest(ns, 'ns-probe')
    const list = await ns.virsh(['list', '--all', '--name'])
    t.is(list.stdout.trim(), 'ns-probe')
    t.is((await ns.virsh(['uri'])).stdout.trim(), 'qemu:///system')
    // Outside, /run/libvirt got none of the daemon's sockets (nor was it created).
    const hostNow = existsSync('/run/libvirt') ? readdirSync('/run/libvirt') : null
    t.is(hostNow === null, hostBefore === null)
    for (const name of ['libvirt-sock', 'libvirt-sock-ro', 'libvirt-admin-sock']) {
      if (hostNow?.includes(name)) {
        t.true(hostBefore?.includes(name), `${name} appeared in the host's /run/libvirt`)
        t.not(statSync(join('/run/libvirt', name)).ino, statSync(join(ns.root, 'run/libvirt', name)).ino)
      }
    }
  } finally {
    await ns.stop()
  }
  t.false(existsSync(ns.root))
})
