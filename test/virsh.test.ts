// The real virsh against `vctl daemon start --root T -d` on the test driver.
import test from 'ava'
import {spawn} from 'node:child_process'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {startDaemon, virsh, run, waitFor, type TestDaemon} from './helpers/daemon.js'

let d: TestDaemon
let U: string
let RO: string

const DOM = (name: string) => `<domain type='test'>
  <name>${name}</name>
  <memory unit='MiB'>128</memory>
  <vcpu>2</vcpu>
  <os><type>hvm</type></os>
  <features><acpi/></features>
  <devices><disk type='file' device='disk'><source file='/guest/${name}.img'/><target dev='vda' bus='virtio'/></disk></devices>
</domain>
`

test.before(async () => {
  d = await startDaemon()
  U = d.uri('test')
  RO = d.uri('test', true)
})
test.after.always(async () => {
  await d?.stop()
})

test.serial('list --all shows the default test domain', async (t) => {
  const r = await virsh(U, ['list', '--all'])
  t.is(r.code, 0, r.stderr)
  t.regex(r.stdout, /^\s*1\s+test\s+running\s*$/m)
})

test.serial('full lifecycle of a defined domain', async (t) => {
  const file = join(d.root, 'vm1.xml')
  writeFileSync(file, DOM('vm1'))
  let r = await virsh(U, ['define', file])
  t.is(r.code, 0, r.stderr)
  t.regex(r.stdout, /Domain 'vm1' defined/)
  r = await virsh(U, ['domstate', 'vm1', '--reason'])
  t.is(r.stdout.trim(), 'shut off (unknown)')
  r = await virsh(U, ['domid', 'vm1'])
  t.is(r.stdout.trim(), '-')
  r = await virsh(U, ['start', 'vm1'])
  t.is(r.code, 0, r.stderr)
  r = await virsh(U, ['domstate', 'vm1', '--reason'])
  t.is(r.stdout.trim(), 'running (booted)')
  const id = (await virsh(U, ['domid', 'vm1'])).stdout.trim()
  t.regex(id, /^\d+$/)
  t.is((await virsh(U, ['domname', id])).stdout.trim(), 'vm1')
  const uuid = (await virsh(U, ['domuuid', 'vm1'])).stdout.trim()
  t.regex(uuid, /^[0-9a-f-]{36}$/)
  t.is((await virsh(U, ['domstate', uuid])).stdout.trim(), 'running')
  r = await virsh(U, ['start', 'vm1'])
  t.is(r.code, 1)
  t.regex(r.stderr, /already active/)
  r = await virsh(U, ['suspend', 'vm1'])
  t.is(r.code, 0, r.stderr)
  t.is((await virsh(U, ['domstate', 'vm1', '--reason'])).stdout.trim(), 'paused (user)')
  r = await virsh(U, ['resume', 'vm1'])
  t.is(r.code, 0, r.stderr)
  t.is((await virsh(U, ['domstate', 'vm1', '--reason'])).stdout.trim(), 'running (unpaused)')
  r = await virsh(U, ['dominfo', 'vm1'])
  t.is(r.code, 0, r.stderr)
  t.regex(r.stdout, /State:\s+running/)
  t.regex(r.stdout, /CPU\(s\):\s+2/)
  t.regex(r.stdout, /Max memory:\s+131072 KiB/)
  t.regex(r.stdout, /Persistent:\s+yes/)
  r = await virsh(U, ['reboot', 'vm1'])
  t.is(r.code, 0, r.stderr)
  t.is((await virsh(U, ['domstate', 'vm1'])).stdout.trim(), 'running')
  r = await virsh(U, ['shutdown', 'vm1'])
  t.is(r.code, 0, r.stderr)
  t.is((await virsh(U, ['domstate', 'vm1', '--reason'])).stdout.trim(), 'shut off (shutdown)')
  r = await virsh(U, ['start', 'vm1'])
  t.is(r.code, 0, r.stderr)
  r = await virsh(U, ['destroy', 'vm1'])
  t.is(r.code, 0, r.stderr)
  t.is((await virsh(U, ['domstate', 'vm1', '--reason'])).stdout.trim(), 'shut off (destroyed)')
  r = await virsh(U, ['destroy', 'vm1'])
  t.is(r.code, 1)
  t.regex(r.stderr, /domain is not running/)
  r = await virsh(U, ['autostart', 'vm1'])
  t.is(r.code, 0, r.stderr)
  t.regex((await virsh(U, ['dominfo', 'vm1'])).stdout, /Autostart:\s+enable/)
  r = await virsh(U, ['autostart', '--disable', 'vm1'])
  t.is(r.code, 0, r.stderr)
  t.regex((await virsh(U, ['dominfo', 'vm1'])).stdout, /Autostart:\s+disable/)
  r = await virsh(U, ['undefine', 'vm1'])
  t.is(r.code, 0, r.stderr)
  r = await virsh(U, ['list', '--all'])
  t.notRegex(r.stdout, /vm1/)
})

test.serial('dumpxml validates and keeps unknown elements', async (t) => {
  const file = join(d.root, 'vm2.xml')
  writeFileSync(file, DOM('vm2').replace('<features>', "<metadata><app:x xmlns:app='http://example.com/app'>kept</app:x></metadata><features>"))
  t.is((await virsh(U, ['define', file])).code, 0)
  for (const name of ['vm2', 'test']) {
    const r = await virsh(U, ['dumpxml', name])
    t.is(r.code, 0, r.stderr)
    const out = join(d.root, `${name}-dump.xml`)
    writeFileSync(out, r.stdout)
    const v = await run('virt-xml-validate', [out, 'domain'])
    t.is(v.code, 0, `${name}: ${v.stdout}${v.stderr}`)
  }
  const r = await virsh(U, ['dumpxml', 'vm2'])
  t.regex(r.stdout, /<app:x xmlns:app='http:\/\/example.com\/app'>kept<\/app:x>/)
  t.regex(r.stdout, /<acpi\/>/)
  t.is((await virsh(U, ['undefine', 'vm2'])).code, 0)
})

test.serial('host facts: version, hostname, nodeinfo, capabilities', async (t) => {
  let r = await virsh(U, ['version'])
  t.is(r.code, 0, r.stderr)
  t.regex(r.stdout, /Using API: TEST 9\.0\.0/)
  t.regex(r.stdout, /Running hypervisor: TEST 0\.0\.2/)
  r = await virsh(U, ['version', '--daemon'])
  t.regex(r.stdout, /Running against daemon: 9\.0\.0/)
  r = await virsh(U, ['hostname'])
  t.is(r.stdout.trim(), (await import('node:os')).hostname())
  r = await virsh(U, ['nodeinfo'])
  t.regex(r.stdout, /CPU model:\s+i686/)
  t.regex(r.stdout, /CPU\(s\):\s+16/)
  t.regex(r.stdout, /Memory size:\s+3145728 KiB/)
  r = await virsh(U, ['capabilities'])
  t.is(r.code, 0, r.stderr)
  const capsFile = join(d.root, 'caps.xml')
  writeFileSync(capsFile, r.stdout)
  const v = await run('virt-xml-validate', [capsFile, 'capability'])
  t.is(v.code, 0, v.stdout + v.stderr)
  t.regex(r.stdout, /<domain type='test'/)
})

test.serial('errors: unknown domain and bad XML', async (t) => {
  let r = await virsh(U, ['dominfo', 'nosuch'])
  t.is(r.code, 1)
  t.regex(r.stderr, /failed to get domain 'nosuch'/)
  r = await virsh(U, ['domstate', '77'])
  t.is(r.code, 1)
  const bad = join(d.root, 'bad.xml')
  writeFileSync(bad, "<domain type='test'><name>x</name>")
  r = await virsh(U, ['define', bad])
  t.is(r.code, 1)
  t.regex(r.stderr, /Premature end of data|Opening and ending tag/)
  writeFileSync(bad, "<domain type='test'><name>x</name><os><type>hvm</type></os></domain>")
  r = await virsh(U, ['define', bad])
  t.is(r.code, 1)
  t.regex(r.stderr, /memory/i)
})

test.serial('event --all shows a lifecycle event made meanwhile', async (t) => {
  // virsh prints nothing once it has registered for events, and may take long to get there on a
  // loaded machine: suspend and resume until it has printed both events (it flushes each one).
  const ev = spawn('virsh', ['-c', U, 'event', '--all', '--loop'], {env: {...process.env, LC_ALL: 'C'}, stdio: ['ignore', 'pipe', 'ignore']})
  t.teardown(() => ev.kill())
  let out = ''
  ev.stdout.on('data', (d: Buffer) => (out += d.toString()))
  const SUSPENDED = /event 'lifecycle' for domain 'test': Suspended Paused/
  const RESUMED = /event 'lifecycle' for domain 'test': Resumed Unpaused/
  await waitFor(
    'virsh event to print a suspend and a resume',
    async () => {
      if (SUSPENDED.test(out) && RESUMED.test(out)) return true
      t.is((await virsh(U, ['suspend', 'test'])).code, 0)
      t.is((await virsh(U, ['resume', 'test'])).code, 0)
      return false
    },
    60000,
  )
  t.regex(out, SUSPENDED)
  t.regex(out, RESUMED)
})

test.serial('read-only socket: reads work, writes are refused', async (t) => {
  let r = await virsh(RO, ['list', '--all'], {readonly: true})
  t.is(r.code, 0, r.stderr)
  t.regex(r.stdout, /test\s+running/)
  t.is((await virsh(RO, ['dominfo', 'test'], {readonly: true})).code, 0)
  const file = join(d.root, 'ro.xml')
  writeFileSync(file, DOM('ro1'))
  r = await virsh(RO, ['define', file], {readonly: true})
  t.is(r.code, 1)
  t.regex(r.stderr, /read only access prevents virDomainDefineXML/)
  // Without -r the client does not refuse locally: the daemon must still refuse on the ro socket.
  r = await virsh(RO, ['suspend', 'test'])
  t.is(r.code, 1)
  t.regex(r.stderr, /operation forbidden: read only access prevents virDomainSuspend/)
  t.is((await virsh(U, ['domstate', 'test'])).stdout.trim(), 'running')
})

test.serial('an unknown driver gets libvirt\'s "no connection driver available"', async (t) => {
  const r = await virsh(`bogus+unix:///x?socket=${d.sock}`, ['list'])
  t.is(r.code, 1)
  t.regex(r.stderr, /no connection driver available for bogus:\/\/\/x/)
})
