// Network filters over the wire: real virsh against vctl's virtnwfilterd (nwfilter:///system) and
// libvirtd, side by side with Debian's libvirtd 9.0 given the same commands (UUIDs aside, which
// differ per install): the standard filters, define/undefine of a custom filter, libvirt's errors
// for bad input and loops, bindings created by hand, read-only refusal, and the vctl CLI.
import test from 'ava'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {BIN, python, startDaemon, vctl, virsh} from './helpers/daemon.js'
import {netnsDaemon, nsExec, realLibvirtd, type NetnsDaemon} from './helpers/netns.js'

let d: NetnsDaemon
let uri: string
let monoUri: string
let real: Awaited<ReturnType<typeof realLibvirtd>>

test.before(async () => {
  d = await netnsDaemon('nwfv', ['--driver', 'nwfilter'])
  await d.start()
  uri = `nwfilter:///system?socket=${d.sock}`
  const r = await nsExec(d.ns, process.execPath, [BIN, 'daemon', 'start', '--root', join(d.root, 'mono'), '-d'], 120000)
  if (r.code !== 0) throw new Error(r.stderr)
  monoUri = `qemu:///system?socket=${join(d.root, 'mono/run/libvirt/libvirt-sock')}`
  real = await realLibvirtd('nwfr')
})

test.after.always(async () => {
  await d?.cleanup()
  await real?.cleanup()
})

const noUuids = (s: string) => s.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, 'UUID')
const file = (name: string, xml: string) => {
  const f = join(d.root, name)
  writeFileSync(f, xml)
  return f
}

/** Runs the same virsh command against vctl (both daemons) and real libvirtd; returns [vctl, real]. */
async function both(args: string[], opts: {readonly?: boolean} = {}): Promise<[string, string, number, number]> {
  const a = await virsh(uri, args, opts)
  const m = await virsh(monoUri, args, opts)
  const b = await virsh(real.uri, args, opts)
  if (noUuids(a.stdout + a.stderr) !== noUuids(m.stdout + m.stderr))
    throw new Error(`virtnwfilterd and libvirtd differ on ${args.join(' ')}:\n${a.stdout}${a.stderr}\n---\n${m.stdout}${m.stderr}`)
  return [noUuids(a.stdout + a.stderr), noUuids(b.stdout + b.stderr), a.code, b.code]
}

test.serial('nwfilter-list and every standard filter’s XML are libvirt’s', async (t) => {
  const [mine, theirs] = await both(['nwfilter-list'])
  t.is(mine, theirs)
  const names = [...mine.matchAll(/^ UUID\s+(\S+)$/gm)].map((m) => m[1]).filter((n) => n !== 'Name')
  t.is(names.length, 24)
  t.true(names.includes('clean-traffic'))
  for (const n of names) {
    const [x, y] = await both(['nwfilter-dumpxml', n])
    t.is(x, y, n)
  }
})

test.serial('define, dump (by name and UUID), redefine, undefine a custom filter; lookups of what is gone', async (t) => {
  const xml = `<filter name='custom1' chain='ipv4' priority='-650'>
  <uuid>11111111-2222-3333-4444-555555555555</uuid>
  <rule action='drop' direction='out' priority='10'><ip srcipaddr='10.1.2.3' srcipmask='255.255.0.0' protocol='tcp' dstportstart='22' match='no'/></rule>
  <rule action='accept' direction='in'><tcp srcipaddr='$IP' state='NEW,ESTABLISHED' flags='SYN,ACK/ALL' dstportstart='0x50'/></rule>
  <rule action='return' direction='out'><arp opcode='Reply' gratuitous='yes' arpsrcipaddr='1.2.3.4' arpsrcipmask='24'/></rule>
  <filterref filter='clean-traffic'><parameter name='IP' value='10.0.0.1'/><parameter name='IP' value='10.0.0.2'/></filterref>
</filter>`
  const f = file('custom1.xml', xml)
  for (const args of [
    ['nwfilter-define', f],
    ['nwfilter-dumpxml', 'custom1'],
    ['nwfilter-dumpxml', '11111111-2222-3333-4444-555555555555'],
    ['nwfilter-define', f],
    ['nwfilter-list'],
    ['nwfilter-undefine', 'custom1'],
    ['nwfilter-undefine', 'custom1'],
    ['nwfilter-dumpxml', 'nosuch'],
  ]) {
    const [x, y, cx, cy] = await both(args)
    t.is(x, y, args.join(' '))
    t.is(cx, cy, args.join(' '))
  }
})

test.serial('bad filters, loops, a filter of another UUID under a known name: libvirt’s errors', async (t) => {
  const cases: Array<[string, string]> = [
    ['noname', `<filter chain='root'><rule action='accept' direction='in'/></filter>`],
    ['loop', `<filter name='loopy' chain='root'><filterref filter='loopy'/></filter>`],
    ['badchain', `<filter name='bc' chain='foo'/>`],
    ['badprio', `<filter name='bp' chain='ipv4' priority='2000'/>`],
    ['badaction', `<filter name='na'><rule action='foo' direction='in'/></filter>`],
    ['nodir', `<filter name='na'><rule action='drop'/></filter>`],
    ['badval', `<filter name='na'><rule action='drop' direction='in'><ip dstipaddr='300.1.1.1'/></rule></filter>`],
    ['badport', `<filter name='na'><rule action='drop' direction='in'><ip dstportstart='22'/></rule></filter>`],
    ['badroot', `<filtre name='na'/>`],
    ['baduuid', `<filter name='na'><uuid>zzz</uuid></filter>`],
    ['dupname', `<filter name='clean-traffic' chain='root'><uuid>11111111-2222-3333-4444-555555555555</uuid></filter>`],
  ]
  for (const [name, xml] of cases) {
    const [x, y, cx, cy] = await both(['nwfilter-define', file(`${name}.xml`, xml)])
    t.is(x, y, name)
    t.is(cx, 1, name)
    t.is(cy, 1, name)
  }
  // a loop through two filters is refused when it closes
  t.deepEqual((await both(['nwfilter-define', file('la.xml', `<filter name='la'><filterref filter='lb'/></filter>`)])).slice(0, 2), [
    'Network filter la defined from ' + join(d.root, 'la.xml') + '\n\n',
    'Network filter la defined from ' + join(d.root, 'la.xml') + '\n\n',
  ])
  const [x, y] = await both(['nwfilter-define', file('lb.xml', `<filter name='lb'><filterref filter='la'/></filter>`)])
  t.is(x, y)
  t.regex(x, /operation failed: filter would introduce a loop/)
  await both(['nwfilter-undefine', 'la'])
})

test.serial('bindings: create on a device that does not exist, list, dump, delete; errors for missing ones', async (t) => {
  const b = file(
    'binding.xml',
    `<filterbinding><owner><name>g</name><uuid>11111111-2222-3333-4444-555555555556</uuid></owner><portdev name='nosuchdev0'/><mac address='52:54:00:11:22:33'/><filterref filter='clean-traffic'><parameter name='IP' value='1.2.3.4'/></filterref></filterbinding>`,
  )
  for (const args of [
    ['nwfilter-binding-list'],
    ['nwfilter-binding-create', b],
    ['nwfilter-binding-list'],
    ['nwfilter-binding-dumpxml', 'nosuchdev0'],
    ['nwfilter-binding-delete', 'nosuchdev0'],
    ['nwfilter-binding-list'],
    ['nwfilter-binding-dumpxml', 'vnet9'],
    ['nwfilter-binding-delete', 'vnet9'],
  ]) {
    const [x, y, cx, cy] = await both(args)
    t.is(x, y, args.join(' '))
    t.is(cx, cy, args.join(' '))
  }
  const noUuid = file(
    'b2.xml',
    `<filterbinding><owner><name>g</name></owner><portdev name='x'/><mac address='52:54:00:11:22:33'/><filterref filter='a'/></filterbinding>`,
  )
  const [x, y] = await both(['nwfilter-binding-create', noUuid])
  t.is(x, y)
  t.regex(x, /filter binding has no owner UUID/)
})

test.serial('a read-only connection lists but cannot define', async (t) => {
  const f = file('ro.xml', `<filter name='rof'><rule action='drop' direction='in'/></filter>`)
  const [x, y, cx] = await both(['nwfilter-define', f], {readonly: true})
  t.is(x, y)
  t.is(cx, 1)
  t.regex(x, /operation forbidden: read only access prevents virNWFilterDefineXML/)
  const [l1, l2] = await both(['nwfilter-list'], {readonly: true})
  t.is(l1, l2)
})

test.serial('libvirt-python: lists, lookups by name and UUID, XML, define and undefine, bindings', async (t) => {
  const code = (u: string) => `import libvirt
c = libvirt.open(${JSON.stringify(u)})
fs = c.listAllNWFilters()
f = c.nwfilterLookupByName('allow-arp')
same = c.nwfilterLookupByUUIDString(f.UUIDString())
n = c.nwfilterDefineXML("<filter name='py-f' chain='arp'><rule action='drop' direction='out'/></filter>")
x = n.XMLDesc()
n.undefine()
try:
    c.nwfilterLookupByName('py-f')
except libvirt.libvirtError as e:
    err = (e.get_error_code(), e.get_error_domain())
print(len(fs), c.numOfNWFilters(), len(c.listNWFilters()), same.name(), "priority='-500'" in x, err, c.listAllNWFilterBindings())`
  const mine = await python(code(uri))
  const theirs = await python(code(real.uri))
  t.is(mine.stdout, theirs.stdout, mine.stderr)
  t.is(mine.stdout.trim(), '24 24 24 allow-arp True (62, 33) []')
})

test.serial('vctl nwfilter list, dumpxml, define, undefine, binding-list', async (t) => {
  const list = await vctl(['nwfilter', 'list', '--json', '-c', uri])
  t.is(list.code, 0, list.stderr)
  const filters = JSON.parse(list.stdout) as Array<{name: string; uuid: string}>
  t.is(filters.length, 24)
  t.regex((await vctl(['nwfilter', 'list', '-c', uri])).stdout, /clean-traffic/)
  const dump = await vctl(['nwfilter', 'dumpxml', 'allow-arp', '-c', uri])
  t.regex(dump.stdout, /^<filter name='allow-arp' chain='arp' priority='-500'>/)
  const f = file('cli.xml', `<filter name='cli-f' chain='mac'><rule action='drop' direction='out'><mac srcmacaddr='$MAC'/></rule></filter>`)
  const def = await vctl(['nwfilter', 'define', f, '-c', uri])
  t.is(def.code, 0, def.stderr)
  t.regex(def.stdout, /Network filter cli-f defined/)
  t.regex((await vctl(['nwfilter', 'dumpxml', 'cli-f', '--json', '-c', uri])).stdout, /chain='mac' priority='-800'/)
  t.is((await vctl(['nwfilter', 'undefine', 'cli-f', '-c', uri])).code, 0)
  const gone = await vctl(['nwfilter', 'dumpxml', 'cli-f', '-c', uri])
  t.not(gone.code, 0)
  t.regex(gone.stderr, /no nwfilter with matching name 'cli-f'/)
  const bl = await vctl(['nwfilter', 'binding-list', '--json', '-c', uri])
  t.deepEqual(JSON.parse(bl.stdout), [])
})

test.serial('test:///default has no network filters, as libvirt’s test driver', async (t) => {
  const td = await startDaemon()
  try {
    for (const [args, api] of [
      [['nwfilter-list'], 'virConnectNumOfNWFilters'],
      [['nwfilter-binding-list'], 'virConnectListAllNWFilterBindings'],
    ] as const) {
      const mine = await virsh(td.uri(), [...args])
      const theirs = await virsh('test:///default', [...args])
      t.is(mine.stderr, theirs.stderr)
      t.regex(mine.stderr, new RegExp(`this function is not supported by the connection driver: ${api}`))
    }
  } finally {
    await td.stop()
  }
})
