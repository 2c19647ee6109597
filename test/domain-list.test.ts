/**
 * The shared domain object list (src/lib/conf/domain-list.ts), UUID parsing (src/lib/uuid.ts),
 * and the test driver built on them: its own network and storage drivers over one host.
 */
import test from 'ava'
import {parseDomainXml} from '../src/lib/conf/domain.js'
import {DomainObjList, currentDef, isActive, isPersistent, newDomainObj, type DomainObj} from '../src/lib/conf/domain-list.js'
import {ErrorCode, ErrorDomain, VirError} from '../src/lib/errors.js'
import {DriverRegistry} from '../src/lib/drivers/registry.js'
import {TestDriver} from '../src/lib/drivers/test/driver.js'
import {TestNetworkDriver} from '../src/lib/drivers/test/network.js'
import {TestStorageDriver} from '../src/lib/drivers/test/storage.js'
import {DomainState, ListObjectFlags, XmlFlags} from '../src/lib/drivers/types.js'
import {isUuid, parseUuid, uuidToBytes, uuidToString} from '../src/lib/uuid.js'

const U1 = 'c7a5fdbd-edaf-9455-926a-d65c16db1809'
const U2 = '0b4c8fd4-45d1-4a6c-9a3f-7b2d1c4e5f60'

const xml = (name: string, uuid: string, type = 'test') =>
  `<domain type='${type}'><name>${name}</name><uuid>${uuid}</uuid><memory>1024</memory><vcpu>1</vcpu><os><type>hvm</type></os></domain>`

function listWith(...objs: [string, string][]): DomainObjList<DomainObj> {
  const list = new DomainObjList<DomainObj>(ErrorDomain.QEMU)
  for (const [name, uuid] of objs) list.add(newDomainObj(name, uuid))
  return list
}

test('parseUuid: the one parser, libvirt forms in, canonical out; uuidToBytes and isUuid use it', (t) => {
  t.is(parseUuid(U1), U1)
  t.is(parseUuid(U1.toUpperCase().replace(/-/g, '')), U1)
  t.is(parseUuid(` ${U1} \n`), U1)
  t.is(parseUuid('c7a5-fdbd-edaf-9455-926a-d65c-16db-1809'), U1)
  t.is(parseUuid(U1.slice(0, -1)), undefined)
  t.is(parseUuid(U1 + '0'), undefined)
  t.is(parseUuid('z' + U1.slice(1)), undefined)
  t.is(uuidToString(uuidToBytes(U1.toUpperCase())), U1)
  t.is(uuidToString(uuidToBytes(U1.replace(/-/g, ''))), U1)
  t.throws(() => uuidToBytes('not-a-uuid'), {message: "malformed UUID 'not-a-uuid'"})
  t.true(isUuid(U1))
  t.false(isUuid('web01'))
})

test('lookups by UUID (any libvirt form), name and id, with libvirt errors in the driver error domain', (t) => {
  const list = listWith(['web01', U1], ['web02', U2])
  const web01 = list.get(U1)
  t.is(list.get(U1.toUpperCase()), web01)
  t.is(list.findByUuid(U1.replace(/-/g, '')), web01)
  t.is(list.getByName('web02').uuid, U2)
  t.is(list.findById(-1), undefined)
  web01.id = list.allocateId()
  t.is(list.getById(1), web01)
  t.deepEqual(list.ref(web01), {name: 'web01', uuid: U1, id: 1})

  const byName = t.throws<VirError>(() => list.getByName('x'), {instanceOf: VirError})
  t.is(byName.code, ErrorCode.NO_DOMAIN)
  t.is(byName.code, 42)
  t.is(byName.domain, ErrorDomain.QEMU)
  t.is(byName.message, "Domain not found: no domain with matching name 'x'")
  t.is(
    t.throws<VirError>(() => list.get(U1.replace('c7', 'd7'))).message,
    `Domain not found: no domain with matching uuid '${U1.replace('c7', 'd7')}'`,
  )
  t.is(t.throws<VirError>(() => list.getById(9)).message, 'Domain not found: no domain with matching id 9')
})

test('a new definition clashing by name or UUID fails with operation failed (code 9)', (t) => {
  const list = listWith(['web01', U1])
  t.is(list.checkClash({name: 'web01', uuid: U1}), list.get(U1))
  t.is(list.checkClash({name: 'web02', uuid: U2}), undefined)
  const sameName = t.throws<VirError>(() => list.checkClash({name: 'web01', uuid: U2}), {instanceOf: VirError})
  t.is(sameName.code, ErrorCode.OPERATION_FAILED)
  t.is(sameName.code, 9)
  t.is(sameName.message, `operation failed: domain 'web01' already exists with uuid ${U1}`)
  const sameUuid = t.throws<VirError>(() => list.checkClash({name: 'other', uuid: U1}))
  t.is(sameUuid.message, `operation failed: domain 'web01' is already defined with uuid ${U1}`)
  t.deepEqual([sameName.domain, sameUuid.domain], [ErrorDomain.DOMAIN, ErrorDomain.DOMAIN])
})

test('counts, activity, removal and ids', (t) => {
  const list = listWith(['a', U1], ['b', U2])
  const a = list.get(U1)
  t.false(list.hasActive())
  t.false(isActive(a))
  t.false(isPersistent(a))
  t.throws(() => currentDef(a), {message: "domain 'a' has no definition"})
  a.config = parseDomainXml(xml('a', U1))
  t.true(isPersistent(a))
  t.is(currentDef(a).name, 'a')
  a.id = list.allocateId()
  t.true(list.hasActive())
  t.is(list.count(true), 1)
  t.is(list.count(false), 1)
  list.reserveId(7)
  t.is(list.allocateId(), 8)
  list.reserveId(3)
  t.is(list.allocateId(), 9)
  // remove() only drops the object still listed under that name and UUID.
  list.remove(newDomainObj('a', U1))
  t.is(list.size, 2)
  list.remove(a)
  t.is(list.size, 1)
  t.is(list.findByName('a'), undefined)
  t.deepEqual(
    list.filter(() => true).map((o) => o.name),
    ['b'],
  )
})

test('test driver: its own network and storage drivers, typed apart, over the same host', async (t) => {
  const drv = new TestDriver()
  const reg = new DriverRegistry('system', 'test:///default')
  reg.addHypervisor({scheme: 'test', get: () => drv})
  const c = await reg.open('test:///default')
  t.is(c.hypervisor, drv)
  t.truthy(c.network)
  t.truthy(c.storage)
  t.true(c.network instanceof TestNetworkDriver)
  t.true(c.storage instanceof TestStorageDriver)
  t.deepEqual(
    c.network!.listNetworks(ListObjectFlags.ACTIVE).map((n) => n.name),
    ['default'],
  )
  t.deepEqual(
    c.storage!.listPools(0).map((p) => p.name),
    ['default-pool'],
  )
  // Each driver emits its own events.
  const seen: string[] = []
  drv.events.on('network', () => seen.push('hypervisor saw network'))
  c.network!.events.on('network', () => seen.push('network'))
  c.storage!.events.on('pool', () => seen.push('pool'))
  const net = c.network!.lookupNetworkByName('default')
  await c.network!.networkDestroy(net.uuid)
  await c.storage!.poolDestroy(c.storage!.lookupPoolByName('default-pool').uuid)
  t.deepEqual(seen, ['network', 'pool'])
  t.is(t.throws<VirError>(() => c.network!.lookupNetworkByUuid(U1)).code, ErrorCode.NO_NETWORK)
  t.is(t.throws<VirError>(() => c.storage!.lookupPoolByUuid(U1)).code, ErrorCode.NO_STORAGE_POOL)
})

test('test driver: a transient start of a defined domain keeps the persistent definition (libvirt)', (t) => {
  const drv = new TestDriver()
  const ref = drv.defineXML(xml('web01', U1))
  t.is(drv.lookupByUuid(U1.toUpperCase()).name, 'web01')
  drv.createXML(xml('web01', U1).replace('<vcpu>1</vcpu>', '<vcpu>2</vcpu>'), 0)
  t.is(drv.domainGetMaxVcpus(ref.uuid), 2)
  t.regex(drv.getXMLDesc(ref.uuid, XmlFlags.INACTIVE), /<vcpu placement='static'>1<\/vcpu>/)
  t.false(drv.isUpdated(ref.uuid))
  // Redefining while it runs updates the persistent definition only.
  drv.defineXML(xml('web01', U1).replace('<vcpu>1</vcpu>', '<vcpu>3</vcpu>'))
  t.true(drv.isUpdated(ref.uuid))
  t.is(drv.domainGetMaxVcpus(ref.uuid), 2)
  drv.destroy(ref.uuid)
  t.is(drv.getState(ref.uuid).state, DomainState.SHUTOFF)
  t.false(drv.isUpdated(ref.uuid))
  t.is(drv.domainGetMaxVcpus(ref.uuid), 3)
  const clash = t.throws<VirError>(() => drv.defineXML(xml('web02', U1)))
  t.is(clash.message, `operation failed: domain 'web01' is already defined with uuid ${U1}`)
  // libvirt's domain object list raises it, for the test driver too (virsh -c test:///default: "Domain Config error").
  t.is(clash.domain, ErrorDomain.DOMAIN)
  const wrongType = t.throws<VirError>(() => drv.defineXML(xml('q', U2, 'qemu')))
  t.is(wrongType.code, ErrorCode.CONFIG_UNSUPPORTED)
})
