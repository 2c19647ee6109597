// Snapshots of the test driver through the real virsh and libvirt-python, compared with libvirt's
// own test driver (virsh -c test:///default, in process) for the same command sequence.
import test from 'ava'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {python, run, startDaemon, virsh, type TestDaemon} from './helpers/daemon.js'

let d: TestDaemon

test.before(async () => {
  d = await startDaemon()
})
test.after.always(async () => {
  await d?.stop()
})

const SEQUENCE = [
  'list --all --with-snapshot --name',
  'list --all --without-snapshot --name',
  'snapshot-create-as test s1 --description "first one"',
  'snapshot-create-as test s2',
  'snapshot-create-as test s3',
  'list --all --with-snapshot --name',
  'list --all --without-snapshot --name',
  'snapshot-list test --name',
  'snapshot-list test --tree',
  'snapshot-list test --parent',
  'snapshot-list test --roots --name',
  'snapshot-list test --leaves --name',
  'snapshot-list test --from s1 --name',
  'snapshot-list test --from s1 --descendants --name',
  'snapshot-list test --topological --name',
  'snapshot-info test s2',
  'snapshot-current test --name',
  'snapshot-parent test s2',
  'snapshot-revert test s1',
  'snapshot-create-as test s4',
  'snapshot-list test --tree',
  'snapshot-current test s2',
  'snapshot-current test --name',
  'snapshot-delete test s2',
  'snapshot-list test --parent',
  'snapshot-create-as test s5 --disk-only',
  'snapshot-create-as test h --halt',
  'domstate test --reason',
  'snapshot-revert test h',
  'domstate test --reason',
  'snapshot-revert test s1 --paused',
  'domstate test --reason',
  'snapshot-revert test nope',
  'snapshot-delete test s1 --children-only',
  'snapshot-list test --name',
  'snapshot-dumpxml test s1',
  'snapshot-delete test s1 --children',
  'snapshot-list test --name',
  'destroy test',
  'snapshot-create-as test off',
  'snapshot-info test off',
  'undefine test',
]

/** Creation times and the embedded domain differ between the two drivers' defaults: compare the rest. */
function normalize(out: string): string {
  return out
    .replace(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}/g, 'TIME')
    .replace(/<creationTime>\d+<\/creationTime>/g, '<creationTime>T</creationTime>')
    .replace(/ {2}<domain type='test'>[\s\S]*?<\/domain>\n/g, '  DOMAIN\n')
    .replace(/-{5,}/g, '---')
    .replace(/ +$/gm, '')
}

/** One interactive virsh session (libvirt's test:///default lives only as long as its process). */
async function session(uri: string): Promise<string[]> {
  const input = join(d.root, 'snapshot-session.txt')
  writeFileSync(input, SEQUENCE.map((c, i) => `echo @@@ ${i}\n${c}\n`).join(''))
  const r = await run('sh', ['-c', 'virsh -c "$U" < "$IN" 2>&1'], {env: {U: uri, IN: input, LC_ALL: 'C'}})
  return r.stdout
    .replace(/virsh # .*$/gm, '')
    .split(/@@@ \d+/)
    .slice(1)
    .map((step) => normalize(step).trim())
}

test.serial('the same virsh snapshot session against vctl and libvirt test:///default', async (t) => {
  const ours = await session(d.uri())
  const theirs = await session('test:///default')
  t.is(ours.length, SEQUENCE.length, ours.join('\n'))
  t.is(theirs.length, SEQUENCE.length, theirs.join('\n'))
  for (let i = 0; i < SEQUENCE.length; i++) t.is(ours[i], theirs[i], `step ${i}: ${SEQUENCE[i]}`)
})

test.serial('libvirt-python: the snapshot calls, and a read-only connection refused as libvirt refuses it', async (t) => {
  const code = `
import libvirt, json
out = {}
c = libvirt.open(${JSON.stringify(d.uri())})
dom = c.defineXML("<domain type='test'><name>pydom</name><memory>65536</memory><os><type>hvm</type></os></domain>")
dom.create()
a = dom.snapshotCreateXML('<domainsnapshot><name>pa</name><description>py</description></domainsnapshot>')
b = dom.snapshotCreateXML('<domainsnapshot><name>pb</name></domainsnapshot>')
out['num'] = dom.snapshotNum()
out['names'] = sorted(dom.snapshotListNames())
out['all'] = sorted(s.getName() for s in dom.listAllSnapshots())
out['current'] = dom.snapshotCurrent().getName()
out['has_current'] = dom.hasCurrentSnapshot()
out['parent'] = b.getParent().getName()
out['is_current'] = [a.isCurrent(), b.isCurrent()]
out['metadata'] = b.hasMetadata()
out['children'] = [a.numChildren(), a.listChildrenNames(), [s.getName() for s in a.listAllChildren()]]
out['xml_name'] = b.getXMLDesc().split('<name>')[1].split('<')[0]
try:
  a.getParent()
except libvirt.libvirtError as e:
  out['noparent'] = [e.get_error_code(), e.get_error_domain(), str(e)]
dom.revertToSnapshot(a)
out['after_revert'] = dom.snapshotCurrent().getName()
r = libvirt.openReadOnly(${JSON.stringify(d.uri('test', true))})
rdom = r.lookupByName('pydom')
rsnap = rdom.snapshotLookupByName('pa')
out['ro_list'] = sorted(s.getName() for s in rdom.listAllSnapshots())
out['ro'] = []
for f in (lambda: rdom.snapshotCreateXML('<domainsnapshot/>'), lambda: rdom.revertToSnapshot(rsnap), lambda: rsnap.delete(), lambda: rsnap.getXMLDesc(libvirt.VIR_DOMAIN_SNAPSHOT_XML_SECURE)):
  try:
    f()
    out['ro'].append('allowed')
  except libvirt.libvirtError as e:
    out['ro'].append([e.get_error_code(), e.get_error_domain(), str(e)])
b.delete()
a.delete()
out['left'] = dom.snapshotNum()
print(json.dumps(out))
`
  const r = await python(code)
  t.is(r.code, 0, r.stderr)
  const out = JSON.parse(r.stdout) as Record<string, unknown>
  t.is(out.num, 2)
  t.deepEqual(out.names, ['pa', 'pb'])
  t.deepEqual(out.all, ['pa', 'pb'])
  t.is(out.current, 'pb')
  t.is(out.has_current, 1)
  t.is(out.parent, 'pa')
  t.deepEqual(out.is_current, [0, 1])
  t.is(out.metadata, 1)
  t.deepEqual(out.children, [1, ['pb'], ['pb']])
  t.is(out.xml_name, 'pb')
  t.deepEqual(out.noparent, [72, 12, "Domain snapshot not found: snapshot 'pa' does not have a parent"])
  t.is(out.after_revert, 'pa')
  t.deepEqual(out.ro_list, ['pa', 'pb'])
  t.deepEqual(out.ro, [
    [29, 35, 'operation forbidden: read only access prevents virDomainSnapshotCreateXML'],
    [29, 35, 'operation forbidden: read only access prevents virDomainRevertToSnapshot'],
    [29, 35, 'operation forbidden: read only access prevents virDomainSnapshotDelete'],
    [29, 35, 'operation forbidden: virDomainSnapshotGetXMLDesc with secure flag'],
  ])
  t.is(out.left, 0)
})

test.serial('virsh undefine of an inactive domain with snapshots: refused, then allowed with --snapshots-metadata', async (t) => {
  const xml = join(d.root, 'snapdom.xml')
  writeFileSync(xml, "<domain type='test'><name>snapdom</name><memory>65536</memory><os><type>hvm</type></os></domain>")
  t.is((await virsh(d.uri(), ['define', xml])).code, 0)
  t.is((await virsh(d.uri(), ['snapshot-create-as', 'snapdom', 'x'])).code, 0)
  const r = await virsh(d.uri(), ['undefine', 'snapdom'])
  t.not(r.code, 0)
  t.regex(r.stderr, /Requested operation is not valid: cannot delete inactive domain with 1 snapshots/)
  const ok = await virsh(d.uri(), ['undefine', 'snapdom', '--snapshots-metadata'])
  t.is(ok.code, 0, ok.stderr)
  t.not((await virsh(d.uri(), ['dominfo', 'snapdom'])).code, 0)
})
