// The real virt-admin against the daemon's admin socket.
import test from 'ava'
import {existsSync} from 'node:fs'
import {join} from 'node:path'
import {run, startDaemon, virsh, waitExit} from './helpers/daemon.js'

test('virt-admin: version, servers, thread pool, clients, daemon timeout', async (t) => {
  const d = await startDaemon()
  const A = `libvirtd:///system?socket=${d.sockAdmin}`
  let r = await run('virt-admin', ['-c', A, 'version'])
  t.is(r.code, 0, r.stderr)
  t.regex(r.stdout, /Running against daemon: 9\.0\.0/)
  r = await run('virt-admin', ['-c', A, 'srv-list'])
  t.regex(r.stdout, /0\s+admin/)
  t.regex(r.stdout, /1\s+libvirtd/)
  r = await run('virt-admin', ['-c', A, 'srv-threadpool-info', 'libvirtd'])
  t.regex(r.stdout, /maxWorkers\s+:\s+20/)
  // A client held open by virsh shows up in the client list.
  const held = virsh(d.uri('test'), ['event', '--all', '--timeout', '2'])
  await new Promise((res) => setTimeout(res, 700))
  r = await run('virt-admin', ['-c', A, 'srv-clients-info', 'libvirtd'])
  t.regex(r.stdout, /nclients\s+:\s+1/)
  r = await run('virt-admin', ['-c', A, 'srv-clients-list', 'libvirtd'])
  t.regex(r.stdout, /unix/)
  await held
  r = await run('virt-admin', ['-c', A, 'srv-threadpool-info', 'nosuch'])
  t.is(r.code, 1)
  r = await run('virt-admin', ['-c', A, 'daemon-timeout', '--timeout', '1'])
  t.is(r.code, 0, r.stderr)
  t.true(await waitExit(d.pid, 5000))
  t.false(existsSync(join(d.root, 'run/libvirtd.pid')))
  await d.stop()
})
