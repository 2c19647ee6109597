// libvirt-python (Debian's, in /usr/bin/python3) against vctl's daemon.
import test from 'ava'
import {startDaemon, python, type TestDaemon} from './helpers/daemon.js'

let d: TestDaemon
test.before(async () => {
  d = await startDaemon()
})
test.after.always(async () => {
  await d?.stop()
})

/** What the domain API script prints (libvirt-python's return values, as JSON). */
interface DomainApiOutput {
  version: number
  libversion: number
  hostname: string
  info: [string, number, number, number, number, number, number, number]
  type: string
  defined_state: [number, number]
  persistent: number
  id_after_create: number
  by_id: string
  by_uuid: string
  by_name: boolean
  paused: [number, number]
  resumed: [number, number]
  dominfo: [number, number, number, number, number]
  xml_has_name: boolean
  autostart: number
  destroyed: [number, number]
  gone: boolean
  transient_active: number
  transient_persistent: number
  transient_gone: boolean
  all: string[]
  active: string[]
  inactive: string[]
  /** [code, domain, message] of the lookup of a missing domain. */
  err: [number, number, string]
}

const PRELUDE = (uri: string) => `
import libvirt, sys, json, threading, time
libvirt.registerErrorHandler(lambda *a: None, None)
URI = ${JSON.stringify(uri)}
conn = libvirt.open(URI)
XML = """<domain type='test'><name>%s</name><memory unit='MiB'>64</memory><vcpu>1</vcpu><os><type>hvm</type></os></domain>"""
out = {}
`

test.serial('domain API through libvirt-python', async (t) => {
  const r = await python(
    PRELUDE(d.uri('test')) +
      `
out['version'] = conn.getVersion()
out['libversion'] = conn.getLibVersion()
out['hostname'] = conn.getHostname()
out['info'] = conn.getInfo()
out['type'] = conn.getType()
dom = conn.defineXML(XML % 'py1')
out['defined_state'] = dom.state()
out['persistent'] = dom.isPersistent()
dom.create()
out['id_after_create'] = dom.ID()
out['by_id'] = conn.lookupByID(dom.ID()).name()
out['by_uuid'] = conn.lookupByUUIDString(dom.UUIDString()).name()
out['by_name'] = conn.lookupByName('py1').UUIDString() == dom.UUIDString()
dom.suspend(); out['paused'] = dom.state()
dom.resume(); out['resumed'] = dom.state()
out['dominfo'] = dom.info()
out['xml_has_name'] = '<name>py1</name>' in dom.XMLDesc(0)
dom.setAutostart(1); out['autostart'] = dom.autostart()
dom.destroy(); out['destroyed'] = dom.state()
dom.undefine()
try:
    conn.lookupByName('py1'); out['gone'] = False
except libvirt.libvirtError as e:
    out['gone'] = e.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN
t = conn.createXML(XML % 'py-transient', 0)
out['transient_active'] = t.isActive()
out['transient_persistent'] = t.isPersistent()
t.destroy()
try:
    conn.lookupByName('py-transient'); out['transient_gone'] = False
except libvirt.libvirtError as e:
    out['transient_gone'] = e.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN
out['all'] = sorted(x.name() for x in conn.listAllDomains(0))
out['active'] = sorted(x.name() for x in conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE))
out['inactive'] = sorted(x.name() for x in conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_INACTIVE))
try:
    conn.lookupByName('nosuch')
except libvirt.libvirtError as e:
    out['err'] = [e.get_error_code(), e.get_error_domain(), e.get_error_message()]
print(json.dumps(out))
`,
  )
  t.is(r.code, 0, r.stderr)
  const o = JSON.parse(r.stdout) as DomainApiOutput
  t.is(o.version, 2)
  t.is(o.libversion, 9000000)
  t.is(o.type, 'TEST')
  t.deepEqual(o.info, ['i686', 3072, 16, 1400, 2, 2, 2, 2])
  t.deepEqual(o.defined_state, [5, 0])
  t.is(o.persistent, 1)
  t.true(o.id_after_create > 0)
  t.is(o.by_id, 'py1')
  t.is(o.by_uuid, 'py1')
  t.true(o.by_name)
  t.deepEqual(o.paused, [3, 1])
  t.deepEqual(o.resumed, [1, 5])
  t.is(o.dominfo[0], 1)
  t.is(o.dominfo[1], 65536)
  t.true(o.xml_has_name)
  t.is(o.autostart, 1)
  t.deepEqual(o.destroyed, [5, 2])
  t.true(o.gone)
  t.is(o.transient_active, 1)
  t.is(o.transient_persistent, 0)
  t.true(o.transient_gone)
  t.deepEqual(o.all, ['test'])
  t.deepEqual(o.active, ['test'])
  t.deepEqual(o.inactive, [])
  t.is(o.err[0], 42)
  t.regex(o.err[2], /nosuch/)
})

test.serial('domainEventRegisterAny delivers lifecycle events', async (t) => {
  const r = await python(
    `
import libvirt, json, threading, time
libvirt.virEventRegisterDefaultImpl()
def loop():
    while True:
        libvirt.virEventRunDefaultImpl()
threading.Thread(target=loop, daemon=True).start()
conn = libvirt.open(${JSON.stringify(d.uri('test'))})
events = []
def cb(conn, dom, event, detail, opaque):
    events.append([dom.name(), event, detail])
dom = conn.lookupByName('test')
cid = conn.domainEventRegisterAny(dom, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, cb, None)
dom.suspend(); dom.resume()
deadline = time.time() + 60
while len(events) < 2 and time.time() < deadline:
    time.sleep(0.05)
conn.domainEventDeregisterAny(cid)
print(json.dumps(events))
`,
  )
  t.is(r.code, 0, r.stderr)
  t.deepEqual(JSON.parse(r.stdout), [
    ['test', 3, 0],
    ['test', 4, 0],
  ])
})

test.serial('read-only connection refuses writes with VIR_ERR_OPERATION_DENIED', async (t) => {
  const r = await python(`
import libvirt, json
libvirt.registerErrorHandler(lambda *a: None, None)
conn = libvirt.openReadOnly(${JSON.stringify(d.uri('test', true))})
out = {'names': [x.name() for x in conn.listAllDomains(0)]}
try:
    conn.lookupByName('test').suspend()
except libvirt.libvirtError as e:
    out['err'] = e.get_error_code()
print(json.dumps(out))
`)
  t.is(r.code, 0, r.stderr)
  const o = JSON.parse(r.stdout) as {names: string[]; err: number}
  t.deepEqual(o.names, ['test'])
  t.is(o.err, 29)
})
