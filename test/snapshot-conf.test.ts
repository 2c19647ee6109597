// Snapshot XML and the per-domain snapshot tree (conf/snapshot.ts, conf/snapshot-list.ts).
import test from 'ava'
import {VirError} from '../src/lib/errors.js'
import {parseDomainXml} from '../src/lib/conf/domain.js'
import {defaultSnapshotDisks, formatSnapshotXml, parseSnapshotXml, type SnapshotDef} from '../src/lib/conf/snapshot.js'
import {SnapshotList, SnapshotListFlags as F} from '../src/lib/conf/snapshot-list.js'

const QEMU = 10

const DOM = parseDomainXml(`<domain type='qemu'><name>g</name><uuid>11111111-2222-3333-4444-555555555555</uuid><memory>131072</memory>
<os><type>hvm</type></os><devices>
<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/i/a.qcow2'/><target dev='vda' bus='virtio'/></disk>
<disk type='file' device='cdrom'><source file='/i/x.iso'/><target dev='hdc' bus='ide'/><readonly/></disk>
</devices></domain>`)

function snap(name: string, parent?: string, state = 'running'): SnapshotDef {
  return {
    name,
    parent,
    state,
    creationTime: 1700000000,
    memory: state === 'shutoff' ? 'no' : 'internal',
    disks: [{name: 'vda', snapshot: 'internal'}],
  }
}

test('format: libvirt element order, embedded domain, internal <active>', (t) => {
  const def: SnapshotDef = {...snap('s2', 's1'), description: 'a & b', domain: DOM, inactiveDomain: DOM}
  const xml = formatSnapshotXml(def, {internalCurrent: true})
  const order = [
    '<name>s2',
    '<description>a &amp; b',
    '<state>running',
    '<parent>',
    '<creationTime>1700000000',
    "<memory snapshot='internal'/>",
    '<disks>',
    "<domain type='qemu'>",
    "<inactiveDomain type='qemu'>",
    '<active>1</active>',
  ]
  let at = -1
  for (const piece of order) {
    const i = xml.indexOf(piece)
    t.true(i > at, `${piece} after the previous element in\n${xml}`)
    at = i
  }
  t.regex(xml, /^ {4}<name>g<\/name>$/m, 'the embedded domain is indented one level')
  t.false(formatSnapshotXml(def).includes('<active>'), 'clients never see <active>')
})

test('parse: a redefined snapshot round-trips; the driver file gives back current', (t) => {
  const def: SnapshotDef = {...snap('s2', 's1'), description: 'x', domain: DOM}
  const xml = formatSnapshotXml(def, {internalCurrent: true})
  const {def: back, current} = parseSnapshotXml(xml, {errDomain: QEMU, redefine: true, internal: true})
  t.true(current)
  t.is(back.name, 's2')
  t.is(back.parent, 's1')
  t.is(back.state, 'running')
  t.is(back.memory, 'internal')
  t.is(back.domain?.uuid, DOM.uuid)
  t.is(formatSnapshotXml(back), formatSnapshotXml(def))
  // 'no' is a valid location (libvirt's zero value is 'default', not 'no').
  const off = parseSnapshotXml(formatSnapshotXml(snap('o', undefined, 'shutoff'), {internalCurrent: false}), {
    errDomain: QEMU,
    redefine: true,
    internal: true,
  })
  t.is(off.def.memory, 'no')
  t.false(off.current)
})

test('parse: user XML errors as libvirt reports them', (t) => {
  const bad = (xml: string, opts = {}) => t.throws(() => parseSnapshotXml(xml, {errDomain: QEMU, ...opts}), {instanceOf: VirError})
  t.is(bad('<domain/>')?.message, "XML error: expecting root element of 'domainsnapshot', not 'domain'")
  t.is(bad('<domainsnapshot><name>a/b</name></domainsnapshot>')?.message, "XML error: invalid snapshot name 'a/b': name can't contain '/'")
  t.is(bad("<domainsnapshot><memory snapshot='external'/></domainsnapshot>")?.message, 'XML error: external memory snapshots require a filename')
  t.is(bad("<domainsnapshot><memory snapshot='bogus'/></domainsnapshot>")?.code, 27)
  t.is(bad('<domainsnapshot/>', {redefine: true})?.message, 'XML error: a redefined snapshot must have a name')
  const ok = parseSnapshotXml('<domainsnapshot><description>d</description></domainsnapshot>', {errDomain: QEMU})
  t.is(ok.def.name, '', 'no name: the driver names it by its creation time')
  t.is(ok.def.description, 'd')
})

test('default disks: writable disks internal, read-only ones and cdroms not', (t) => {
  t.deepEqual(defaultSnapshotDisks(DOM, [], QEMU), [
    {name: 'vda', snapshot: 'internal'},
    {name: 'hdc', snapshot: 'no'},
  ])
  t.deepEqual(defaultSnapshotDisks(DOM, [{name: 'vda', snapshot: 'no'}], QEMU)[0], {name: 'vda', snapshot: 'no'})
  t.throws(() => defaultSnapshotDisks(DOM, [{name: 'vdz'}], QEMU), {message: "invalid argument: no disk named 'vdz'"})
})

function tree(): SnapshotList {
  // a -> b -> c, a -> d (shut off), e (root)
  const l = new SnapshotList(QEMU)
  for (const s of [snap('a'), snap('b', 'a'), snap('c', 'b'), snap('d', 'a', 'shutoff'), snap('e')]) l.add(s)
  l.setCurrent(l.get('c'))
  return l
}

const names = (l: {def: SnapshotDef}[]) => l.map((s) => s.def.name)

test('list filters: roots, leaves, children, descendants, active/inactive, topological', (t) => {
  const l = tree()
  t.deepEqual(names(l.list(undefined, 0)), ['a', 'b', 'c', 'd', 'e'])
  t.deepEqual(names(l.list(undefined, F.ROOTS)), ['a', 'e'])
  t.deepEqual(names(l.list(undefined, F.LEAVES)), ['c', 'd', 'e'])
  t.deepEqual(names(l.list(undefined, F.NO_LEAVES)), ['a', 'b'])
  t.deepEqual(names(l.list(undefined, F.LEAVES | F.NO_LEAVES)), ['a', 'b', 'c', 'd', 'e'])
  t.deepEqual(names(l.list(undefined, F.INACTIVE)), ['d'])
  t.deepEqual(names(l.list(undefined, F.ACTIVE | F.ROOTS)), ['a', 'e'])
  t.deepEqual(names(l.list(undefined, F.NO_METADATA)), [], 'every snapshot has metadata')
  t.deepEqual(names(l.list(undefined, F.METADATA)), ['a', 'b', 'c', 'd', 'e'])
  t.deepEqual(names(l.list(l.get('a'), 0)), ['b', 'd'])
  t.deepEqual(names(l.list(l.get('a'), F.DESCENDANTS)), ['b', 'c', 'd'])
  t.deepEqual(names(l.list(undefined, F.TOPOLOGICAL)), ['a', 'b', 'c', 'd', 'e'])
  t.throws(() => l.get('nope'), {message: "Domain snapshot not found: no domain snapshot with matching name 'nope'", instanceOf: VirError})
})

test('discard: children move up, current passes to the parent (or to the snapshot itself with children only)', (t) => {
  let l = tree()
  const changed = l.discard(l.get('b'), [l.get('b')])
  t.deepEqual(names(changed), ['c'])
  t.is(l.get('c').def.parent, 'a')
  t.is(l.current?.def.name, 'c', 'deleting a non-current snapshot keeps the current one')

  l = tree()
  l.discard(l.get('b'), [l.get('c'), l.get('b')])
  t.is(l.current?.def.name, 'a', 'current deleted with its ancestor: the ancestor’s parent becomes current')
  t.deepEqual(names(l.all()), ['a', 'd', 'e'])

  l = tree()
  l.discard(l.get('a'), [l.get('c'), l.get('b'), l.get('d')])
  t.is(l.current?.def.name, 'a', 'children only: the snapshot itself becomes current')

  l = tree()
  l.setCurrent(l.get('e'))
  l.discard(l.get('e'), [l.get('e')])
  t.is(l.current, undefined, 'a deleted current root leaves no current snapshot')
})
