// The real virt-admin against the daemon's admin socket.
import test from 'ava'
import {spawn} from 'node:child_process'
import {existsSync} from 'node:fs'
import {join} from 'node:path'
import {run, startDaemon, waitExit, waitFor} from './helpers/daemon.js'

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
  // A client held open by virsh shows up in the client list (once virsh has connected: wait for it).
  const held = spawn('virsh', ['-c', d.uri('test'), 'event', '--all', '--loop'], {stdio: 'ignore', env: {...process.env, LC_ALL: 'C'}})
  const heldExit = new Promise((res) => held.once('exit', res))
  try {
    await waitFor('virsh to show up as a client', async () => {
      r = await run('virt-admin', ['-c', A, 'srv-clients-info', 'libvirtd'])
      return /nclients\s+:\s+1\b/.test(r.stdout)
    })
    t.regex(r.stdout, /nclients\s+:\s+1\b/)
    r = await run('virt-admin', ['-c', A, 'srv-clients-list', 'libvirtd'])
    t.regex(r.stdout, /unix/)
  } finally {
    held.kill('SIGTERM')
    await heldExit
  }
  // Gone again once virsh has hung up, so the daemon is idle for the timeout below.
  await waitFor('the client list to empty', async () =>
    /nclients\s+:\s+0\b/.test((await run('virt-admin', ['-c', A, 'srv-clients-info', 'libvirtd'])).stdout),
  )
  r = await run('virt-admin', ['-c', A, 'srv-threadpool-info', 'nosuch'])
  t.is(r.code, 1)
  r = await run('virt-admin', ['-c', A, 'daemon-timeout', '--timeout', '1'])
  t.is(r.code, 0, r.stderr)
  t.true(await waitExit(d.pid, 30000))
  t.false(existsSync(join(d.root, 'run/libvirtd.pid')))
  await d.stop()
})
