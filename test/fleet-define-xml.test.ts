/**
 * What community.libvirt's virt module reads back after `command: define` (XMLDesc with
 * VIR_DOMAIN_XML_INACTIVE, to decide whether a redefinition changed anything, and get_xml): the
 * inactive XML of the fleet's tiny guest, defined on a vctl daemon and on Debian's real libvirtd 9.0
 * from the same input, is the same document: `<boot dev='hd'/>` beside a direct kernel boot, and the
 * implicit console copying its serial port's source, append='on' included.
 */
import test from 'ava'
import {rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {python, startDaemon, tempRoot, virsh, type TestDaemon} from './helpers/daemon.js'
import {guestXml} from './helpers/guest.js'
import {startRealLibvirtd, type RealLibvirtd} from './helpers/real-libvirtd.js'

let vctl: TestDaemon | undefined
let real: RealLibvirtd | undefined
let dir = ''
const UUID = 'c0ffee00-0000-4000-8000-0000000000d1'

test.before(async () => {
  dir = tempRoot('vctl-fleet-xml-')
  vctl = await startDaemon()
})

test.after.always(async () => {
  await vctl?.stop()
  await real?.stop()
  rmSync(dir, {recursive: true, force: true})
})

/** Defines `xml` on `uri` and returns its inactive XML as libvirt-python's XMLDesc(VIR_DOMAIN_XML_INACTIVE) gives it. */
async function defineAndRead(uri: string, xml: string): Promise<string> {
  const file = join(dir, 'guest.xml')
  writeFileSync(file, xml)
  const code = `import libvirt,sys
c = libvirt.open(${JSON.stringify(uri)})
d = c.defineXML(open(${JSON.stringify(file)}).read())
before = d.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
again = c.defineXML(open(${JSON.stringify(file)}).read())
assert again.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE) == before, 'a redefinition from the same XML changed it'
d.undefine()
sys.stdout.write(before)`
  const r = await python(code)
  if (r.code !== 0) throw new Error(r.stderr)
  return r.stdout
}

function fleetGuest(): string {
  const xml = guestXml(
    'fleetxml',
    join(dir, 'serial.log'),
    "    <interface type='network'><mac address='52:54:00:fe:00:d1'/><source network='default'/></interface>",
  )
  return xml.replace('</name>', `</name>\n  <uuid>${UUID}</uuid>`)
}

test.serial(
  'the fleet guest: vctl keeps a redefinition from the same XML unchanged, with <boot dev=hd> and the console copying its serial source',
  async (t) => {
    const xml = await defineAndRead(vctl!.uri('qemu'), fleetGuest())
    t.regex(xml, /<cmdline>[^<]*<\/cmdline>\n {4}<boot dev='hd'\/>\n {2}<\/os>/)
    const source = `<source path='${join(dir, 'serial.log')}' append='on'/>`
    t.true(xml.includes(`<console type='file'>\n      ${source}\n      <target type='serial' port='0'/>`), xml)
  },
)

test.serial('the fleet guest: vctl and real libvirtd give the same inactive XML', async (t) => {
  real = await startRealLibvirtd()
  const ours = await defineAndRead(vctl!.uri('qemu'), fleetGuest())
  const theirs = await defineAndRead(real.uri, fleetGuest())
  t.is(ours, theirs)
  t.is((await virsh(real.uri, ['list', '--all', '--name'])).stdout.trim(), '')
})

test.serial('the fleet guest without a <uuid>: a second definition is refused with code 9, as the virt module expects', async (t) => {
  const uris = [vctl!.uri('qemu'), ...(real ? [real.uri] : [])]
  const answers: string[] = []
  for (const uri of uris) {
    const file = join(dir, 'nouuid.xml')
    writeFileSync(file, guestXml('fleetnouuid', join(dir, 'serial.log')))
    const code = `import libvirt,sys
c = libvirt.open(${JSON.stringify(uri)})
d = c.defineXML(open(${JSON.stringify(file)}).read())
try:
    c.defineXML(open(${JSON.stringify(file)}).read())
    print('redefined')
except libvirt.libvirtError as e:
    print(e.get_error_code(), e.get_error_domain(), e.get_error_message().replace(d.UUIDString(), 'UUID'))
d.undefine()`
    const r = await python(code)
    t.is(r.code, 0, r.stderr)
    answers.push(r.stdout.trim())
  }
  t.is(answers[0], "9 20 operation failed: domain 'fleetnouuid' already exists with uuid UUID")
  if (real) t.is(answers[0], answers[1])
})
