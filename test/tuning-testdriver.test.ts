// Memory, vCPUs, tuning and metadata on vctl's test driver, side by side with libvirt's own test driver
// (virsh -c test:///default, in process): the same output and errors for the same command sequence.
import test from 'ava'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {python, startDaemon, vctl, virsh, type TestDaemon} from './helpers/daemon.js'

let d: TestDaemon

test.before(async () => {
  d = await startDaemon()
})
test.after.always(async () => {
  if (d) await d.stop()
})

/** Both outputs of one virsh session, with the lines whose values are clocks (CPU time) masked. */
async function both(script: string): Promise<{ours: string; theirs: string}> {
  const mask = (s: string) => s.replace(/^CPU time:?\s+[\d.]+s$/gm, 'CPU time: X')
  const a = await virsh(d.uri(), [script])
  const b = await virsh('test:///default', [script])
  return {ours: mask(a.stdout + a.stderr), theirs: mask(b.stdout + b.stderr)}
}

test.serial('the same answers as libvirt test driver for setmem, setvcpus, vcpu pinning, tuning and metadata', async (t) => {
  const script = [
    'vcpucount test',
    'vcpuinfo test',
    'vcpupin test',
    'emulatorpin test',
    'schedinfo test',
    'memtune test',
    'blkiotune test',
    'numatune test',
    'desc test',
    'desc test --title',
    'metadata test http://x/',
    'nodecpumap',
    'setmem test 1000',
    'setmem test 99999999',
    'setmaxmem test 100000',
    'setmaxmem test 100000 --config',
    'setvcpus test 1',
    'setvcpus test 3',
    'vcpucount test',
    'vcpupin test 0 3',
    'vcpupin test 1 0-2 --config',
    'vcpupin test 5 1',
    'vcpupin test 0 x',
    'emulatorpin test 1-2',
    'vcpuinfo test',
    'vcpupin test',
    'emulatorpin test',
    'schedinfo test --set weight=10',
    'schedinfo test --config',
    'memtune test --hard-limit 100000',
    'memtune test',
    'memtune test --config',
    'blkiotune test --weight 300',
    'blkiotune test --config --device-weights /dev/sda,100',
    'blkiotune test --config',
    'blkiotune test',
    'numatune test --nodeset 0 --mode preferred',
    'numatune test',
    'numatune test --config --mode interleave',
    'desc test --new-desc hello',
    'desc test',
    "desc test --title --new-desc 'my title'",
    'desc test --title',
    'desc test --config',
    `metadata test http://e.com/ --key ex --set '<foo a="1"><bar b="2">x</bar></foo>'`,
    'metadata test http://e.com/',
    "metadata test http://e.com/ --key ex --set 'junk'",
    'metadata test http://e.com/ --remove',
    'metadata test http://e.com/',
    'dumpxml test --xpath //cputune',
    'dumpxml test --xpath //memtune',
    'dumpxml test --xpath //numatune',
    'destroy test',
    'vcpuinfo test',
    'vcpupin test',
    'emulatorpin test',
    'schedinfo test',
    'memtune test',
    'numatune test',
    'vcpucount test',
    'setvcpus test 1',
    'setmem test 1000 --live',
  ].join('; ')
  const {ours, theirs} = await both(script)
  t.is(ours, theirs)
  // the sequence did meet the interesting answers
  t.regex(ours, /requested cpu amount exceeds maximum \(3 > 2\)/)
  t.regex(ours, /cannot set memory higher than max memory/)
  t.regex(ours, /requested vcpu '5' is not present in the domain/)
  t.regex(ours, /<vcpupin vcpu=["']0["'] cpuset=["']3["']\/>/)
})

test.serial("<vcpu current='1'>2</vcpu>: dominfo and vcpucount report 1 current vCPU, as libvirt", async (t) => {
  const file = join(d.root, 'cur.xml')
  writeFileSync(file, `<domain type='test'><name>cur</name><memory>65536</memory><vcpu current='1'>2</vcpu><os><type>hvm</type></os></domain>`)
  const script = `create ${file}; dominfo cur; vcpucount cur; vcpuinfo cur; vcpupin cur; destroy cur`
  const a = await virsh(d.uri(), [script])
  t.is(a.code, 0, a.stderr)
  t.regex(a.stdout, /^CPU\(s\):\s+1$/m)
  t.regex(a.stdout, /current\s+live\s+1/)
  t.regex(a.stdout, /maximum\s+live\s+2/)
  const b = await virsh('test:///default', [script])
  const cpus = (s: string) => /^CPU\(s\):.*$/m.exec(s)?.[0]
  t.is(cpus(a.stdout), cpus(b.stdout))
})

test.serial('bad tunables and metadata keys are refused as libvirt does; read-only connections may not set', async (t) => {
  const code = (uri: string) => `
import libvirt
c = libvirt.open('${uri}')
dom = c.lookupByName('test')
try:
    dom.setMemoryParameters({'hard_limit': 100, 'swap_hard_limit': 50}, 0)
except libvirt.libvirtError as e:
    print(e.get_error_code(), e.get_error_message())
try:
    dom.setMetadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, '<a/>', 'a b', 'http://x/', 0)
except libvirt.libvirtError as e:
    print(e.get_error_code(), e.get_error_message())
print(dom.vcpusFlags(libvirt.VIR_DOMAIN_AFFECT_CONFIG | libvirt.VIR_DOMAIN_VCPU_MAXIMUM))
`
  const ours = await python(code(d.uri()))
  const theirs = await python(code('test:///default'))
  t.notRegex(ours.stderr, /Traceback/)
  t.is(ours.stdout, theirs.stdout)
  t.regex(ours.stdout, /^8 invalid argument: memory hard_limit tunable value must be lower than or equal to swap_hard_limit$/m)
  t.regex(ours.stdout, /failed to validate prefix for a new XML namespace/)
  const ro = await virsh(d.uri('test', true), ['setmem', 'test', '1000'])
  t.regex(ro.stderr, /operation forbidden: read only access prevents virDomainSetMemory/)
})

test.serial('METADATA_CHANGE event reaches a registered client', async (t) => {
  const code = `
import libvirt, threading
libvirt.virEventRegisterDefaultImpl()
c = libvirt.open('${d.uri()}')
dom = c.lookupByName('test')
got = []
def cb(conn, dom, mtype, nsuri, opaque):
    got.append((dom.name(), mtype, nsuri))
c.domainEventRegisterAny(dom, libvirt.VIR_DOMAIN_EVENT_ID_METADATA_CHANGE, cb, None)
dom.setMetadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, '<b/>', 'k', 'http://ev/', libvirt.VIR_DOMAIN_AFFECT_CONFIG)
for i in range(50):
    if got: break
    libvirt.virEventRunDefaultImpl()
print(got)
`
  const r = await python(code)
  t.is(r.stderr, '')
  t.is(r.stdout.trim(), "[('test', 2, 'http://ev/')]")
})

test.serial('vctl domain setmem, setvcpus, vcpuinfo, vcpupin, desc and metadata', async (t) => {
  const c = ['-c', d.uri()]
  let r
  const xmlFile = join(d.root, 'cli.xml')
  writeFileSync(xmlFile, `<domain type='test'><name>cli</name><memory>1048576</memory><vcpu current='1'>2</vcpu><os><type>hvm</type></os></domain>`)
  t.is((await virsh(d.uri(), ['create', xmlFile])).code, 0)
  r = await vctl(['domain', 'setmem', 'cli', '512M', ...c])
  t.is(r.code, 0, r.stderr)
  t.regex((await virsh(d.uri(), ['dominfo', 'cli'])).stdout, /Used memory:\s+524288 KiB/)
  r = await vctl(['domain', 'setmem', 'cli', '2G', ...c])
  t.is(r.code, 1)
  t.regex(r.stderr, /cannot set memory higher than max memory/)
  r = await vctl(['domain', 'setvcpus', 'cli', '2', ...c])
  t.is(r.code, 0, r.stderr)
  r = await vctl(['domain', 'setvcpus', 'cli', '3', ...c])
  t.regex(r.stderr, /requested cpu amount exceeds maximum \(3 > 2\)/)
  r = await vctl(['domain', 'vcpupin', 'cli', '1', '2-3', ...c])
  t.is(r.code, 0, r.stderr)
  r = await vctl(['domain', 'vcpuinfo', 'cli', '--json', ...c])
  t.is(r.code, 0, r.stderr)
  const info = JSON.parse(r.stdout) as Array<{vcpu: number; affinity: string; state: string}>
  t.deepEqual(
    info.map((v) => [v.vcpu, v.affinity, v.state]),
    [
      [0, '0-7', 'running'],
      [1, '2-3', 'running'],
    ],
  )
  r = await vctl(['domain', 'desc', 'cli', '--set', 'hello', ...c])
  t.is(r.code, 0, r.stderr)
  t.is((await vctl(['domain', 'desc', 'cli', ...c])).stdout.trim(), 'hello')
  t.is((await virsh(d.uri(), ['desc', 'cli'])).stdout.trim(), 'hello')
  r = await vctl(['domain', 'metadata', 'cli', 'http://a/', '--key', 'a', '--set', '<q x="1"/>', ...c])
  t.is(r.code, 0, r.stderr)
  t.is((await virsh(d.uri(), ['metadata', 'cli', 'http://a/'])).stdout.trim(), '<q x="1"/>')
  r = await vctl(['domain', 'metadata', 'cli', 'http://b/', ...c])
  t.is(r.code, 1)
  t.regex(r.stderr, /metadata not found: Requested metadata element is not present/)
  await virsh(d.uri(), ['destroy', 'cli'])
})
