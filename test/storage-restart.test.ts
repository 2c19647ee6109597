// The storage driver across daemon restarts: pools and volumes persist, running and autostart pools
// come back refreshed, a `kill -9` in the middle of a volume creation leaves no volume reported as
// complete; and virtstoraged (`--driver storage`) serves storage:///system alone.
import test from 'ava'
import {spawn, type ChildProcess} from 'node:child_process'
import {createHash} from 'node:crypto'
import {existsSync, readFileSync, readdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {startDaemon, scratchDir, virsh, waitExit, waitFor} from './helpers/daemon.js'

/** Resolves once the child has exited (also when it already had). */
function exited(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return Promise.resolve()
  return new Promise((r) => c.once('exit', () => r()))
}

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex')

test('pools, autostart and volumes survive a restart; a kill -9 during vol-clone leaves no half-made volume', async (t) => {
  const root = scratchDir('vctl-stor-restart-')
  let d = await startDaemon([], {root, keepRoot: true})
  t.teardown(() => d.stop())
  const U = `qemu:///system?socket=${d.sock}`
  const dir = join(root, 'pool-a')
  const ok = async (args: string[]) => {
    const r = await virsh(U, args, {timeout: 120000})
    t.is(r.code, 0, `${args.join(' ')}: ${r.stderr}`)
    return r.stdout
  }
  await ok(['pool-define-as', 'a', 'dir', '--target', dir])
  await ok(['pool-build', 'a'])
  await ok(['pool-start', 'a'])
  await ok(['pool-autostart', 'a'])
  await ok(['pool-define-as', 'b', 'dir', '--target', join(root, 'pool-b')])
  await ok(['vol-create-as', 'a', 'small', '1M'])
  // 256 MiB of random data: cloning it takes long enough to kill the daemon in the middle.
  const big = join(dir, 'big')
  const chunk = Buffer.alloc(1 << 20)
  const parts: Buffer[] = []
  for (let i = 0; i < 256; i++) parts.push(chunk.fill(i % 251))
  writeFileSync(big, Buffer.concat(parts))
  await ok(['pool-refresh', 'a'])
  const bigSum = sha(big)

  const clone = spawn('virsh', ['-c', U, 'vol-clone', 'big', 'copy', '--pool', 'a'], {stdio: 'ignore'})
  await waitFor('the clone to start writing', () => readdirSync(dir).some((n) => n.startsWith('.vctl-partial-')), 60000)
  process.kill(d.pid, 'SIGKILL')
  t.true(await waitExit(d.pid))
  await exited(clone)
  t.false(existsSync(join(dir, 'copy')), 'no volume under the new name')

  d = await startDaemon([], {root, keepRoot: true})
  const U2 = `qemu:///system?socket=${d.sock}`
  const list = await virsh(U2, ['vol-list', 'a'])
  t.is(list.code, 0, list.stderr)
  t.regex(list.stdout, /big/)
  t.regex(list.stdout, /small/)
  t.notRegex(list.stdout, /copy|vctl-partial/)
  t.false(
    readdirSync(dir).some((n) => n.startsWith('.vctl-partial-')),
    'partial files removed at start',
  )
  t.is(sha(big), bigSum, 'the source volume is untouched')
  const info = await virsh(U2, ['pool-info', 'a'])
  t.regex(info.stdout, /State:\s+running/)
  t.regex(info.stdout, /Autostart:\s+yes/)
  const b = await virsh(U2, ['pool-info', 'b'])
  t.regex(b.stdout, /State:\s+inactive/)
  // The clone works once the daemon is back.
  const c = await virsh(U2, ['vol-clone', 'big', 'copy', '--pool', 'a'], {timeout: 120000})
  t.is(c.code, 0, c.stderr)
  t.is(sha(join(dir, 'copy')), bigSum)
})

test('virtstoraged serves storage:///system; its pools are in its own config', async (t) => {
  const d = await startDaemon(['--driver', 'storage'])
  t.teardown(() => d.stop())
  const U = `storage:///system?socket=${d.sock}`
  const r = await virsh(U, ['pool-list', '--all'])
  t.is(r.code, 0, r.stderr)
  t.regex(r.stdout, /default\s+active\s+yes/)
  const v = await virsh(U, ['vol-create-as', 'default', 'disk1', '1M'])
  t.is(v.code, 0, v.stderr)
  t.true(existsSync(join(d.root, 'var/lib/libvirt/images/disk1')))
  t.true(existsSync(join(d.root, 'etc/libvirt/storage/default.xml')))
  t.true(existsSync(join(d.root, 'etc/libvirt/storage/autostart/default.xml')))
  const q = await virsh(U, ['list'])
  t.not(q.code, 0, 'no hypervisor on a storage-only daemon')
})
