// systemd-socket-activate hands the daemon its sockets; virsh works through rw and ro; idle exit.
import test from 'ava'
import {mkdirSync, existsSync} from 'node:fs'
import {join} from 'node:path'
import {spawn} from 'node:child_process'
import {BIN, tempRoot, virsh, vctl} from './helpers/daemon.js'

function activate(root: string, names: string[], fdnames: string[], extra: string[]) {
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
  let stderr = ''
  child.stderr.on('data', (d) => (stderr += d))
  const exited = new Promise<number | null>((r) => child.once('exit', r))
  return {child, exited, stderr: () => stderr, runDir}
}

async function waitForSocket(path: string) {
  for (let i = 0; i < 100 && !existsSync(path); i++) await new Promise((r) => setTimeout(r, 50))
}

test('libvirtd: rw and ro activated sockets, idle exit after -t 3', async (t) => {
  const root = tempRoot()
  const a = activate(
    root,
    ['libvirt-sock', 'libvirt-sock-ro', 'libvirt-admin-sock'],
    ['libvirtd.socket', 'libvirtd-ro.socket', 'libvirtd-admin.socket'],
    ['-t', '3'],
  )
  await waitForSocket(join(a.runDir, 'libvirt-admin-sock'))
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
  const started = Date.now()
  const code = await a.exited
  t.is(code, 0, a.stderr())
  t.true(Date.now() - started < 8000)
})

test('--listen is refused under socket activation', async (t) => {
  const root = tempRoot()
  const a = activate(root, ['libvirt-sock'], ['libvirtd.socket'], ['--listen'])
  await waitForSocket(join(a.runDir, 'libvirt-sock'))
  // The daemon starts on the first connection and refuses at once.
  await virsh(`test+unix:///default?socket=${join(a.runDir, 'libvirt-sock')}`, ['list'])
  const code = await a.exited
  t.not(code, 0)
  t.regex(a.stderr(), /--listen parameter not permitted with systemd activation sockets/)
})

test('sockets status sees activated sockets', async (t) => {
  const root = tempRoot()
  const a = activate(
    root,
    ['libvirt-sock', 'libvirt-sock-ro', 'libvirt-admin-sock'],
    ['libvirtd.socket', 'libvirtd-ro.socket', 'libvirtd-admin.socket'],
    ['-t', '2'],
  )
  await waitForSocket(join(a.runDir, 'libvirt-admin-sock'))
  const r = await vctl(['sockets', 'status', '--root', root, '--json'])
  t.is(r.code, 0, r.stderr)
  const list = JSON.parse(r.stdout)
  t.is(list.filter((s: any) => s.accepts).length, 3)
  await a.exited
})

test('modular daemon (virtsecretd) under socket activation', async (t) => {
  const root = tempRoot()
  const a = activate(
    root,
    ['virtsecretd-sock', 'virtsecretd-sock-ro', 'virtsecretd-admin-sock'],
    ['virtsecretd.socket', 'virtsecretd-ro.socket', 'virtsecretd-admin.socket'],
    ['--driver', 'secret', '-t', '2'],
  )
  await waitForSocket(join(a.runDir, 'virtsecretd-admin-sock'))
  const {writeFileSync} = await import('node:fs')
  const file = join(root, 's.xml')
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
  t.is(await a.exited, 0)
})
