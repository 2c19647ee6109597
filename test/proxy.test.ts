// virtproxyd on libvirt-sock in front of virtqemud and virtsecretd: one qemu:///system connection
// lists and starts virtqemud's guests and manages virtsecretd's secrets.
import test from 'ava'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {python, startDaemon, scratchDir, virsh, type TestDaemon} from './helpers/daemon.js'
import {READY, guestXml, killGuestsUnder, waitForLog} from './helpers/guest.js'

const root = scratchDir('vctl-proxy-')
const daemons: TestDaemon[] = []
let U: string

test.before(async () => {
  daemons.push(await startDaemon(['--driver', 'qemu'], {root, keepRoot: true}))
  daemons.push(await startDaemon(['--driver', 'secret'], {root, keepRoot: true}))
  daemons.push(await startDaemon(['--driver', 'proxy'], {root, keepRoot: true}))
  U = `qemu+unix:///system?socket=${join(root, 'run/libvirt/libvirt-sock')}`
})
test.after.always(async () => {
  killGuestsUnder(root)
  for (const d of daemons.reverse()) await d.stop()
})

const SECRET = `<secret ephemeral='no' private='no'>
  <uuid>0a81f5b2-8403-7b23-c8d6-21ccc2f80d6f</uuid>
  <usage type='volume'><volume>/var/lib/images/p.img</volume></usage>
</secret>
`

test.serial('guests of virtqemud through the proxy', async (t) => {
  const log = join(root, 'serial-px.log')
  const file = join(root, 'px.xml')
  writeFileSync(file, guestXml('px', log))
  let r = await virsh(U, ['define', file])
  t.is(r.code, 0, r.stderr)
  r = await virsh(U, ['list', '--all'])
  t.regex(r.stdout, /px\s+shut off/)
  r = await virsh(U, ['start', 'px'])
  t.is(r.code, 0, r.stderr)
  await waitForLog(log, READY, 1, 60000)
  t.is((await virsh(U, ['domstate', 'px'])).stdout.trim(), 'running')
  // The same guest seen directly on virtqemud's socket.
  t.is((await virsh(daemons[0].uri('qemu'), ['domstate', 'px'])).stdout.trim(), 'running')
  r = await virsh(U, ['version'])
  t.regex(r.stdout, /Running hypervisor: QEMU \d+\.\d+\.\d+/)
  t.is((await virsh(U, ['destroy', 'px'])).code, 0)
  t.is((await virsh(U, ['undefine', 'px'])).code, 0)
})

test.serial('secrets of virtsecretd through a qemu:///system connection', async (t) => {
  const file = join(root, 'secret.xml')
  writeFileSync(file, SECRET)
  let r = await virsh(U, ['secret-define', file])
  t.is(r.code, 0, r.stderr)
  t.regex(r.stdout, /Secret 0a81f5b2-8403-7b23-c8d6-21ccc2f80d6f created/)
  const valueFile = join(root, 'value.bin')
  writeFileSync(valueFile, 's3cret')
  r = await virsh(U, ['secret-set-value', '0a81f5b2-8403-7b23-c8d6-21ccc2f80d6f', '--file', valueFile, '--plain'])
  t.is(r.code, 0, r.stderr)
  r = await virsh(U, ['secret-get-value', '0a81f5b2-8403-7b23-c8d6-21ccc2f80d6f'])
  t.is(r.stdout.trim(), Buffer.from('s3cret').toString('base64'))
  r = await virsh(U, ['secret-list'])
  t.regex(r.stdout, /0a81f5b2-8403-7b23-c8d6-21ccc2f80d6f\s+volume \/var\/lib\/images\/p\.img/)
  // Stored by virtsecretd with 0600 permissions.
  const {statSync} = await import('node:fs')
  const st = statSync(join(root, 'etc/libvirt/secrets/0a81f5b2-8403-7b23-c8d6-21ccc2f80d6f.base64'))
  t.is(st.mode & 0o777, 0o600)
  // One libvirt-python connection to qemu:///system uses both daemons.
  const py = await python(`
import libvirt, json
c = libvirt.open(${JSON.stringify(U)})
s = c.secretLookupByUUIDString('0a81f5b2-8403-7b23-c8d6-21ccc2f80d6f')
print(json.dumps({'value': s.value().decode(), 'type': c.getType(), 'doms': len(c.listAllDomains(0))}))
`)
  t.is(py.code, 0, py.stderr)
  t.deepEqual(JSON.parse(py.stdout), {value: 's3cret', type: 'QEMU', doms: 0})
  r = await virsh(U, ['secret-undefine', '0a81f5b2-8403-7b23-c8d6-21ccc2f80d6f'])
  t.is(r.code, 0, r.stderr)
  t.is((await virsh(U, ['secret-list'])).stdout.includes('0a81f5b2'), false)
})

test.serial('read-only proxy socket refuses writes on the backends', async (t) => {
  const RO = `qemu+unix:///system?socket=${join(root, 'run/libvirt/libvirt-sock-ro')}`
  let r = await virsh(RO, ['list', '--all'], {readonly: true})
  t.is(r.code, 0, r.stderr)
  const file = join(root, 'secret-ro.xml')
  writeFileSync(file, SECRET)
  r = await virsh(RO, ['secret-define', file])
  t.is(r.code, 1)
  t.regex(r.stderr, /read only access prevents virSecretDefineXML/)
})
