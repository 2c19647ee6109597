/** The migration cookie (libvirt's <qemu-migration> document): what is sent, and what arrival checks refuse. */
import test from 'ava'
import {formatCookie, parseCookie} from '../src/lib/drivers/qemu/migration/cookie.js'
import {migrateFlags, migrateParams, jobRecord} from '../src/lib/client/migration.js'
import {toWireParam} from '../src/lib/daemon/remote/migration-peer.js'
import type {JobStats} from '../src/lib/drivers/migration-types.js'

const wire = (s: JobStats) => ({type: s.type, params: s.params.map(toWireParam)})
import {MigrationJob} from '../src/lib/drivers/qemu/migration/job.js'
import {el} from '../src/lib/conf/xml.js'

const ID = {name: 'g', uuid: '11111111-2222-3333-4444-555555555555', hostname: 'a', hostuuid: 'aaaaaaaa-0000-0000-0000-000000000001'}
const HERE = 'bbbbbbbb-0000-0000-0000-000000000002'

test('a cookie is NUL-terminated XML naming the guest and the host; statistics travel with it', (t) => {
  const buf = formatCookie({...ID, statistics: new Map([['downtime', 42n]])})
  t.is(buf[buf.length - 1], 0)
  const text = buf.subarray(0, -1).toString()
  t.regex(text, /^<qemu-migration>\s*<name>g<\/name>\s*<uuid>11111111-2222-3333-4444-555555555555<\/uuid>\s*<hostname>a<\/hostname>/)
  const c = parseCookie(buf, {name: 'g', uuid: ID.uuid, hostuuid: HERE})
  t.is(c.hostuuid, ID.hostuuid)
  t.is(c.statistics?.get('downtime'), 42n)
  t.deepEqual(parseCookie(Buffer.alloc(0), {hostuuid: HERE}), {})
})

test('arrival checks: same host, another guest, no NUL, unknown mandatory feature', (t) => {
  const buf = formatCookie(ID)
  t.is(t.throws(() => parseCookie(buf, {hostuuid: ID.hostuuid}))?.message, `internal error: Attempt to migrate guest to the same host ${ID.hostuuid}`)
  t.is(t.throws(() => parseCookie(buf, {name: 'h', hostuuid: HERE}))?.message, 'internal error: Incoming cookie data had unexpected name g vs h')
  t.is(t.throws(() => parseCookie(buf.subarray(0, -1), {hostuuid: HERE}))?.message, 'internal error: Migration cookie was not NULL terminated')
  const withFeature = Buffer.from(`${buf.subarray(0, -1).toString().replace('</qemu-migration>', "<feature name='nbd'/></qemu-migration>")}\0`)
  t.is(t.throws(() => parseCookie(withFeature, {hostuuid: HERE}))?.message, 'internal error: Unsupported migration cookie feature nbd')
  const lock = Buffer.from(
    `${buf.subarray(0, -1).toString().replace('</qemu-migration>', "<feature name='lockstate'/><lockstate driver='nop'/></qemu-migration>")}\0`,
  )
  t.is(parseCookie(lock, {hostuuid: HERE}).name, 'g')
})

test('CLI options -> libvirt flags and typed parameters; a job as a record', (t) => {
  t.is(migrateFlags({live: true, p2p: true, persistent: true, undefinesource: true}), 1 | 2 | 8 | 16)
  t.is(migrateFlags({offline: true, persistent: true, compressed: true, 'auto-converge': true, suspend: true}), 1024 | 8 | 2048 | 8192 | 32)
  t.deepEqual(migrateParams({bandwidth: 5, uri: 'tcp://10.0.0.2'}), [
    {field: 'bandwidth', type: 4, value: 5n},
    {field: 'migrate_uri', type: 7, value: 'tcp://10.0.0.2'},
  ])
  const job = new MigrationJob(5)
  job.update({status: 'active', ram: {total: 1000, transferred: 400, remaining: 600}})
  const rec = jobRecord(wire(job.stats()))
  t.is(rec.type, 'Unbounded')
  t.is(rec.operation, 5)
  t.is(rec.data_processed, 400)
  t.is(rec.data_remaining, 600)
  job.end(3)
  t.is(jobRecord(wire(job.stats())).success, true)
  t.is(jobRecord(wire(job.stats())).data_remaining, 0)
})

test("storage migration: the cookie's <nbd port> and disks with their capacity, both ways; which disks are copied", async (t) => {
  const buf = formatCookie({...ID, nbd: {port: 49153, disks: [{target: 'vdb', capacity: 16777216n}]}})
  t.regex(buf.toString(), /<nbd port='49153'>\s*<disk target='vdb' capacity='16777216'\/>\s*<\/nbd>/)
  t.deepEqual(parseCookie(buf, {hostuuid: HERE}).nbd, {port: 49153, disks: [{target: 'vdb', capacity: 16777216n}]})
  t.deepEqual(parseCookie(formatCookie({...ID, nbd: {disks: []}}), {hostuuid: HERE}).nbd, {port: undefined, disks: []})
  const bad = Buffer.from(`${buf.subarray(0, -1).toString().replace('49153', 'x')}\0`)
  t.is(t.throws(() => parseCookie(bad, {hostuuid: HERE}))?.message, "internal error: Malformed nbd port 'x'")
  const {copiesDisk} = await import('../src/lib/drivers/qemu/migration/storage-disks.js')
  const disk = (o: Partial<{readonly: boolean; source: string; device: string; shared: boolean}>) => ({
    type: 'file',
    device: o.device ?? 'disk',
    source: o.source,
    target: 'vdb',
    readonly: o.readonly ?? false,
    xml: o.shared ? el('disk', {}, [el('shareable')]) : undefined,
  })
  t.true(copiesDisk(disk({source: '/x'}), []))
  t.false(copiesDisk(disk({source: '/x', readonly: true}), []))
  t.false(copiesDisk(disk({source: '/x', shared: true}), []))
  t.false(copiesDisk(disk({}), []))
  t.true(copiesDisk(disk({source: '/x', readonly: true}), ['vdb']))
  t.false(copiesDisk(disk({source: '/x'}), ['vdc']))
})
