// systemd-socket-activate hands the daemon its sockets; virsh works through rw and ro; idle exit.
import test, {type ExecutionContext} from 'ava'
import {mkdirSync, existsSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {spawn} from 'node:child_process'
import {BIN, connectUnix, tempRoot, virsh, vctl, waitFor} from './helpers/daemon.js'
import type {SocketStatus} from '../src/lib/daemon/socket-status.js'

/**
 * Runs the daemon under systemd-socket-activate, which binds the sockets at once and starts the
 * daemon on the first connection. The root is removed and the process killed when the test ends.
 */
function activate(t: ExecutionContext, names: string[], fdnames: string[], extra: string[]) {
  const root = tempRoot()
  const runDir = join(root, 'run/libvirt')
  mkdirSync(runDir, {recursive: true})
  const args = [
    ...names.flatMap((n) => ['-l', join(runDir, n)]),
    `--fdname=${fdnames.join(':')}`,
    '--',
    process.execPath,
    BIN,
    'daemon',
    'start',
    '--root',
    root,
    ...extra,
  ]
  const child = spawn('systemd-socket-activate', args, {stdio: ['ignore', 'ignore', 'pipe']})
  t.teardown(() => {
    child.kill()
    rmSync(root, {recursive: true, force: true})
  })
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  let exitedAt: number | undefined
  const exited = new Promise<number | null>((r) =>
    child.once('exit', (code) => {
      exitedAt = Date.now()
      r(code)
    }),
  )
  return {root, child, exited, exitedAt: () => exitedAt, stderr: () => stderr, runDir}
}

/** Waits until systemd-socket-activate has bound the socket (it binds them all before waiting). */
async function waitForSocket(path: string) {
  await waitFor(`activation socket ${path}`, () => existsSync(path))
}

test('libvirtd: rw and ro activated sockets, idle exit after -t 3', async (t) => {
  const a = activate(
    t,
    ['libvirt-sock', 'libvirt-sock-ro', 'libvirt-admin-sock'],
    ['libvirtd.socket', 'libvirtd-ro.socket', 'libvirtd-admin.socket'],
    ['-t', '3'],
  )
  await waitForSocket(join(a.runDir, 'libvirt-admin-sock'))
  // A connection held open starts the daemon and keeps it from going idle between the virsh runs,
  // however slowly they start on a loaded machine; the idle time is measured from its close.
  const held = await connectUnix(join(a.runDir, 'libvirt-sock'))
  const rw = `test+unix:///default?socket=${join(a.runDir, 'libvirt-sock')}`
  const ro = `test+unix:///default?socket=${join(a.runDir, 'libvirt-sock-ro')}`
  let r = await virsh(rw, ['list', '--all'])
  t.is(r.code, 0, r.stderr + a.stderr())
  t.regex(r.stdout, /test\s+running/)
  r = await virsh(rw, ['suspend', 'test'])
  t.is(r.code, 0, r.stderr)
  r = await virsh(ro, ['domstate', 'test'], {readonly: true})
  t.is(r.stdout.trim(), 'paused')
  r = await virsh(ro, ['resume', 'test'])
  t.is(r.code, 1)
  t.regex(r.stderr, /read only access prevents virDomainResume/)
  t.is(a.exitedAt(), undefined, 'the daemon exited while a client was connected')
  const closedAt = Date.now()
  held.destroy()
  const code = await a.exited
  t.is(code, 0, a.stderr())
  const idle = (a.exitedAt() ?? Date.now()) - closedAt
  t.true(idle >= 3000, `exited ${idle} ms after the last client left`)
  // About 3 s; the bound leaves room for a loaded machine (a daemon that never went idle would not exit at all).
  t.true(idle < 20000, `exited ${idle} ms after the last client left`)
})

test('--listen is refused under socket activation', async (t) => {
  const a = activate(t, ['libvirt-sock'], ['libvirtd.socket'], ['--listen'])
  await waitForSocket(join(a.runDir, 'libvirt-sock'))
  // The daemon starts on the first connection and refuses at once.
  await virsh(`test+unix:///default?socket=${join(a.runDir, 'libvirt-sock')}`, ['list'])
  const code = await a.exited
  t.not(code, 0)
  t.regex(a.stderr(), /--listen parameter not permitted with systemd activation sockets/)
})

test('sockets status sees activated sockets', async (t) => {
  const a = activate(
    t,
    ['libvirt-sock', 'libvirt-sock-ro', 'libvirt-admin-sock'],
    ['libvirtd.socket', 'libvirtd-ro.socket', 'libvirtd-admin.socket'],
    ['-t', '2'],
  )
  await waitForSocket(join(a.runDir, 'libvirt-admin-sock'))
  const r = await vctl(['sockets', 'status', '--root', a.root, '--json'])
  t.is(r.code, 0, r.stderr)
  const list = JSON.parse(r.stdout) as SocketStatus[]
  t.is(list.filter((s) => s.accepts).length, 3)
  await a.exited
})

test('modular daemon (virtsecretd) under socket activation', async (t) => {
  const a = activate(
    t,
    ['virtsecretd-sock', 'virtsecretd-sock-ro', 'virtsecretd-admin-sock'],
    ['virtsecretd.socket', 'virtsecretd-ro.socket', 'virtsecretd-admin.socket'],
    ['--driver', 'secret', '-t', '2'],
  )
  await waitForSocket(join(a.runDir, 'virtsecretd-admin-sock'))
  // Held open so that the daemon (-t 2) cannot go idle between the virsh runs.
  const held = await connectUnix(join(a.runDir, 'virtsecretd-sock'))
  const file = join(a.root, 's.xml')
  writeFileSync(
    file,
    "<secret ephemeral='no' private='no'><uuid>11111111-2222-3333-4444-555555555555</uuid><usage type='ceph'><name>client.admin</name></usage></secret>",
  )
  const rw = `secret+unix:///system?socket=${join(a.runDir, 'virtsecretd-sock')}`
  const ro = `secret+unix:///system?socket=${join(a.runDir, 'virtsecretd-sock-ro')}`
  let r = await virsh(rw, ['secret-define', file])
  t.is(r.code, 0, r.stderr + a.stderr())
  r = await virsh(ro, ['secret-list'], {readonly: true})
  t.regex(r.stdout, /11111111-2222-3333-4444-555555555555\s+ceph client\.admin/)
  r = await virsh(ro, ['secret-undefine', '11111111-2222-3333-4444-555555555555'])
  t.is(r.code, 1)
  t.regex(r.stderr, /read only access/)
  held.destroy()
  t.is(await a.exited, 0, a.stderr())
})
