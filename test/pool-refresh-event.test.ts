// STORAGE_POOL_EVENT_REFRESH (VIR_STORAGE_POOL_EVENT_ID_REFRESH) through libvirt-python: sent on
// pool-refresh and, as libvirtd does, when an upload's stream closes; only to refresh callbacks,
// only for their pool; on the storage driver and on the test driver.
import test from 'ava'
import {rmSync} from 'node:fs'
import {join} from 'node:path'
import {python, startDaemon, tempRoot, type TestDaemon} from './helpers/daemon.js'

let d: TestDaemon
let work: string
test.before(async () => {
  d = await startDaemon()
  work = tempRoot('vctl-refresh-event-')
})
test.after.always(async () => {
  await d?.stop()
  if (work) rmSync(work, {recursive: true, force: true})
})

/** Registers callbacks, runs `actions`, waits for `want` refresh events (or 60 s), prints what arrived. */
const script = (uri: string, setup: string, actions: string, want: number) => `
import libvirt, json, threading, time
libvirt.registerErrorHandler(lambda *a: None, None)
libvirt.virEventRegisterDefaultImpl()
def loop():
    while True:
        libvirt.virEventRunDefaultImpl()
threading.Thread(target=loop, daemon=True).start()
conn = libvirt.open(${JSON.stringify(uri)})
${setup}
got = []
def refresh(conn, pool, opaque):
    got.append(['refresh', opaque, pool.name()])
def lifecycle(conn, pool, event, detail, opaque):
    got.append(['lifecycle', opaque, pool.name(), event])
ids = [
    conn.storagePoolEventRegisterAny(pool, libvirt.VIR_STORAGE_POOL_EVENT_ID_REFRESH, refresh, 'this'),
    conn.storagePoolEventRegisterAny(None, libvirt.VIR_STORAGE_POOL_EVENT_ID_REFRESH, refresh, 'any'),
    conn.storagePoolEventRegisterAny(other, libvirt.VIR_STORAGE_POOL_EVENT_ID_REFRESH, refresh, 'other'),
    conn.storagePoolEventRegisterAny(None, libvirt.VIR_STORAGE_POOL_EVENT_ID_LIFECYCLE, lifecycle, 'life'),
]
${actions}
deadline = time.time() + 60
while sum(1 for g in got if g[0] == 'refresh') < ${want} and time.time() < deadline:
    time.sleep(0.05)
time.sleep(0.5)  # anything else that would (wrongly) arrive
for i in ids:
    conn.storagePoolEventDeregisterAny(i)
print(json.dumps(sorted(got)))
`

test.serial('storage driver: pool-refresh and a finished upload each send a refresh event', async (t) => {
  const setup = `
pool = conn.storagePoolCreateXML("<pool type='dir'><name>evp</name><target><path>${join(work, 'evp')}</path></target></pool>", libvirt.VIR_STORAGE_POOL_CREATE_WITH_BUILD)
other = conn.storagePoolCreateXML("<pool type='dir'><name>evq</name><target><path>${join(work, 'evq')}</path></target></pool>", libvirt.VIR_STORAGE_POOL_CREATE_WITH_BUILD)
vol = pool.createXML("<volume><name>v</name><capacity>1048576</capacity></volume>", 0)
`
  const actions = `
pool.refresh(0)
time.sleep(0.5)
st = conn.newStream(0)
vol.upload(st, 0, 0, 0)
st.send(b'x' * 65536)
st.finish()
`
  const r = await python(script(`qemu:///system?socket=${d.sock}`, setup, actions, 4))
  t.is(r.code, 0, r.stderr)
  t.deepEqual(JSON.parse(r.stdout), [
    ['refresh', 'any', 'evp'],
    ['refresh', 'any', 'evp'],
    ['refresh', 'this', 'evp'],
    ['refresh', 'this', 'evp'],
  ])
})

test.serial('test driver: pool-refresh sends the refresh event; refreshing an inactive pool fails and sends none', async (t) => {
  const setup = `
pool = conn.storagePoolLookupByName('default-pool')
other = conn.storagePoolDefineXML("<pool type='dir'><name>idle</name><target><path>/idle</path></target></pool>", 0)
`
  const actions = `
try:
    other.refresh(0)
except libvirt.libvirtError as e:
    got.append(['error', e.get_error_code()])
pool.refresh(0)
`
  const r = await python(script(`test+unix:///default?socket=${d.sock}`, setup, actions, 2))
  t.is(r.code, 0, r.stderr)
  t.deepEqual(JSON.parse(r.stdout), [
    ['error', 55],
    ['refresh', 'any', 'default-pool'],
    ['refresh', 'this', 'default-pool'],
  ])
})
