import {existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import test, {type ExecutionContext} from 'ava'

import {ErrorCode, ErrorDomain, VirError} from '../src/lib/errors.js'
import type {SecretDriverImpl} from '../src/lib/drivers/secret/driver.js'
import {
  ListSecretsFlags as LF,
  SECRET_VALUE_MAX,
  SecretDefineFlags,
  SecretLifecycleEvent,
  type SecretLifecycleMsg,
  type SecretValueChangedMsg,
  createSecretDriver,
} from '../src/lib/drivers/secret/driver.js'
import type {SecretDriver} from '../src/lib/drivers/types.js'

const base = mkdtempSync(join(tmpdir(), 'vctl-secret-driver-'))
test.after.always(() => rmSync(base, {recursive: true, force: true}))

let rootNo = 0
function freshDirs(): {configDir: string; runDir: string} {
  const root = join(base, `root-${rootNo++}`)
  return {configDir: join(root, 'etc/libvirt/secrets'), runDir: join(root, 'run/libvirt/secrets')}
}

function makeDriver(dirs = freshDirs(), warnings?: string[]): SecretDriverImpl {
  return createSecretDriver({...dirs, logger: warnings ? {warn: (m) => warnings.push(m)} : undefined})
}

async function virErr(t: ExecutionContext, p: Promise<unknown> | (() => unknown), code: number): Promise<VirError> {
  let err: unknown
  if (typeof p === 'function') {
    try {
      const r = p()
      if (r instanceof Promise) await r
    } catch (e) {
      err = e
    }
  } else {
    err = await p.then(
      () => undefined,
      (e: unknown) => e,
    )
  }
  t.true(err instanceof VirError, `expected a VirError, got ${String(err)}`)
  const v = err as VirError
  t.is(v.code, code, v.message)
  t.is(v.domain, ErrorDomain.SECRET, v.message)
  return v
}

const U1 = '11111111-2222-4333-8444-555555555555'
const U2 = '66666666-7777-4888-9999-aaaaaaaaaaaa'
const U3 = 'bbbbbbbb-cccc-4ddd-8eee-ffffffffffff'

const volXml = (uuid: string, path = '/var/lib/libvirt/images/a.img', attrs = '') =>
  `<secret${attrs}><uuid>${uuid}</uuid><description>volume key</description><usage type='volume'><volume>${path}</volume></usage></secret>`
const cephXml = (uuid: string, name: string, attrs = '') =>
  `<secret${attrs}><uuid>${uuid}</uuid><usage type='ceph'><name>${name}</name></usage></secret>`

function mode(path: string): number {
  return statSync(path).mode & 0o777
}

test('the driver satisfies the SecretDriver interface', (t) => {
  const d: SecretDriver = makeDriver()
  t.deepEqual(d.listSecrets(0), [])
})

test('construction creates both directories with mode 0700', (t) => {
  const dirs = freshDirs()
  makeDriver(dirs)
  t.is(mode(dirs.configDir), 0o700)
  t.is(mode(dirs.runDir), 0o700)
})

test('define, lookup, dumpxml, list, undefine (persistent)', async (t) => {
  const dirs = freshDirs()
  const d = makeDriver(dirs)
  const ref = await d.secretDefineXML(volXml(U1), 0)
  t.deepEqual(ref, {uuid: U1, usageType: 1, usageID: '/var/lib/libvirt/images/a.img'})

  const xmlFile = join(dirs.configDir, `${U1}.xml`)
  t.true(existsSync(xmlFile))
  t.is(mode(xmlFile), 0o600)
  t.is(readFileSync(xmlFile, 'utf8'), d.secretGetXMLDesc(U1, 0))
  t.false(existsSync(join(dirs.configDir, `${U1}.base64`)))

  t.deepEqual(d.lookupSecretByUuid(U1), ref)
  t.deepEqual(d.lookupSecretByUuid(U1.toUpperCase()), ref)
  t.deepEqual(d.lookupSecretByUsage(1, '/var/lib/libvirt/images/a.img'), ref)
  t.deepEqual(d.listSecrets(0), [ref])
  t.is(d.numOfSecrets(), 1)
  t.is(
    d.secretGetXMLDesc(U1, 0),
    `<secret ephemeral='no' private='no'>\n  <uuid>${U1}</uuid>\n  <description>volume key</description>\n  <usage type='volume'>\n    <volume>/var/lib/libvirt/images/a.img</volume>\n  </usage>\n</secret>\n`,
  )

  await d.secretSetValue(U1, Buffer.from('s3cret'), 0)
  const valFile = join(dirs.configDir, `${U1}.base64`)
  t.is(readFileSync(valFile, 'utf8'), Buffer.from('s3cret').toString('base64'))
  t.is(mode(valFile), 0o600)

  await d.secretUndefine(U1)
  t.false(existsSync(xmlFile))
  t.false(existsSync(valFile))
  t.deepEqual(d.listSecrets(0), [])
  // No temporary files left behind by the atomic writes.
  t.deepEqual(readdirSync(dirs.configDir), [])
  const err = await virErr(t, () => d.lookupSecretByUuid(U1), ErrorCode.NO_SECRET)
  t.is(err.message, `Secret not found: no secret with matching uuid '${U1}'`)
})

test('lookup errors: NO_SECRET with libvirt-like messages', async (t) => {
  const d = makeDriver()
  await d.secretDefineXML(cephXml(U1, 'client.admin'), 0)
  let err = await virErr(t, () => d.lookupSecretByUuid(U2), ErrorCode.NO_SECRET)
  t.is(err.message, `Secret not found: no secret with matching uuid '${U2}'`)
  err = await virErr(t, () => d.lookupSecretByUsage(2, 'client.other'), ErrorCode.NO_SECRET)
  t.is(err.message, "Secret not found: no secret with matching usage 'client.other'")
  // Right id, wrong type.
  await virErr(t, () => d.lookupSecretByUsage(4, 'client.admin'), ErrorCode.NO_SECRET)
  t.is(d.lookupSecretByUsage(2, 'client.admin').uuid, U1)
  // Every per-secret call reports a missing secret the same way.
  await virErr(t, () => d.secretGetXMLDesc(U2, 0), ErrorCode.NO_SECRET)
  await virErr(t, () => d.secretGetValue(U2, 0, false), ErrorCode.NO_SECRET)
  await virErr(t, d.secretSetValue(U2, Buffer.from('x'), 0), ErrorCode.NO_SECRET)
  await virErr(t, d.secretUndefine(U2), ErrorCode.NO_SECRET)
})

test('secrets with usage none never match a usage lookup and never conflict', async (t) => {
  const d = makeDriver()
  const a = await d.secretDefineXML(`<secret><uuid>${U1}</uuid></secret>`, 0)
  const b = await d.secretDefineXML(`<secret><uuid>${U2}</uuid><usage type='none'/></secret>`, 0)
  t.deepEqual(a, {uuid: U1, usageType: 0, usageID: ''})
  t.deepEqual(b, {uuid: U2, usageType: 0, usageID: ''})
  await virErr(t, () => d.lookupSecretByUsage(0, ''), ErrorCode.NO_SECRET)
})

test('values: set, get (copies), no value, empty value, size limit', async (t) => {
  const d = makeDriver()
  await d.secretDefineXML(volXml(U1), 0)
  const err = await virErr(t, () => d.secretGetValue(U1, 0, false), ErrorCode.NO_SECRET)
  t.is(err.message, `Secret not found: secret '${U1}' does not have a value`)

  const input = Buffer.from([0, 1, 2, 255])
  await d.secretSetValue(U1, input, 0)
  input[0] = 9 // the driver keeps its own copy
  const out = d.secretGetValue(U1, 0, false)
  t.deepEqual([...out], [0, 1, 2, 255])
  out[1] = 7 // and hands out copies
  t.deepEqual([...d.secretGetValue(U1, 0, false)], [0, 1, 2, 255])

  await d.secretSetValue(U1, Buffer.alloc(SECRET_VALUE_MAX, 0x41), 0)
  t.is(d.secretGetValue(U1, 0, false).length, SECRET_VALUE_MAX)
  await virErr(t, d.secretSetValue(U1, Buffer.alloc(SECRET_VALUE_MAX + 1), 0), ErrorCode.INVALID_ARG)
  t.is(d.secretGetValue(U1, 0, false).length, SECRET_VALUE_MAX)

  // An empty value leaves the secret without a value.
  await d.secretSetValue(U1, Buffer.alloc(0), 0)
  await virErr(t, () => d.secretGetValue(U1, 0, false), ErrorCode.NO_SECRET)
})

test('private secrets: clients cannot read the value, in-daemon callers can', async (t) => {
  const dirs = freshDirs()
  const d = makeDriver(dirs)
  await d.secretDefineXML(volXml(U1, '/v/p', " private='yes'"), 0)
  await d.secretSetValue(U1, Buffer.from('hidden'), 0)
  const err = await virErr(t, () => d.secretGetValue(U1, 0, false), ErrorCode.INVALID_SECRET)
  t.is(err.message, 'Invalid secret: secret is private')
  t.is(d.secretGetValue(U1, 0, true).toString(), 'hidden')
  // Still stored (privately) on disk, and still private after a restart.
  t.is(mode(join(dirs.configDir, `${U1}.base64`)), 0o600)
  const d2 = makeDriver(dirs)
  await virErr(t, () => d2.secretGetValue(U1, 0, false), ErrorCode.INVALID_SECRET)
  t.is(d2.secretGetValue(U1, 0, true).toString(), 'hidden')
})

test('persistence: a new driver on the same directories sees definitions and values', async (t) => {
  const dirs = freshDirs()
  const d = makeDriver(dirs)
  await d.secretDefineXML(volXml(U1), 0)
  await d.secretSetValue(U1, Buffer.from([1, 2, 3]), 0)
  await d.secretDefineXML(cephXml(U2, 'client.admin', " private='yes'"), 0)
  await d.secretDefineXML(cephXml(U3, 'client.eph', " ephemeral='yes'"), 0)
  await d.secretSetValue(U3, Buffer.from('gone'), 0)
  t.is(d.listSecrets(0).length, 3)

  const warnings: string[] = []
  const d2 = makeDriver(dirs, warnings)
  t.deepEqual(warnings, [])
  t.deepEqual(
    d2
      .listSecrets(0)
      .map((r) => r.uuid)
      .sort(),
    [U1, U2].sort(),
  )
  t.deepEqual([...d2.secretGetValue(U1, 0, false)], [1, 2, 3])
  t.is(d2.secretGetXMLDesc(U2, 0), d.secretGetXMLDesc(U2, 0))
  await virErr(t, () => d2.secretGetValue(U2, 0, true), ErrorCode.NO_SECRET)
  await virErr(t, () => d2.lookupSecretByUuid(U3), ErrorCode.NO_SECRET)
})

test('ephemeral secrets never touch the disk', async (t) => {
  const dirs = freshDirs()
  const d = makeDriver(dirs)
  await d.secretDefineXML(volXml(U1, '/e', " ephemeral='yes'"), 0)
  await d.secretSetValue(U1, Buffer.from('v'), 0)
  t.is(d.secretGetValue(U1, 0, false).toString(), 'v')
  t.deepEqual(readdirSync(dirs.configDir), [])
  t.deepEqual(readdirSync(dirs.runDir), [])
  await d.secretUndefine(U1)
  t.deepEqual(d.listSecrets(0), [])
})

test('list flags filter on ephemeral and private', async (t) => {
  const d = makeDriver()
  await d.secretDefineXML(cephXml(U1, 'a'), 0) // persistent, public
  await d.secretDefineXML(cephXml(U2, 'b', " ephemeral='yes' private='yes'"), 0)
  await d.secretDefineXML(cephXml(U3, 'c', " private='yes'"), 0)
  const uuids = (flags: number) =>
    d
      .listSecrets(flags)
      .map((r) => r.uuid)
      .sort()
  t.deepEqual(uuids(0), [U1, U2, U3].sort())
  t.deepEqual(uuids(LF.EPHEMERAL), [U2])
  t.deepEqual(uuids(LF.NO_EPHEMERAL), [U1, U3].sort())
  t.deepEqual(uuids(LF.EPHEMERAL | LF.NO_EPHEMERAL), [U1, U2, U3].sort())
  t.deepEqual(uuids(LF.PRIVATE), [U2, U3].sort())
  t.deepEqual(uuids(LF.NO_PRIVATE), [U1])
  t.deepEqual(uuids(LF.NO_EPHEMERAL | LF.PRIVATE), [U3])
  t.deepEqual(uuids(LF.EPHEMERAL | LF.NO_PRIVATE), [])
  const err = await virErr(t, () => d.listSecrets(16), ErrorCode.INVALID_ARG)
  t.is(err.message, 'invalid argument: unsupported flags (0x10) in function secretConnectListAllSecrets')
})

test('redefinition rules: same uuid updates; usage and private are guarded', async (t) => {
  const dirs = freshDirs()
  const d = makeDriver(dirs)
  await d.secretDefineXML(volXml(U1, '/v/1'), 0)
  await d.secretSetValue(U1, Buffer.from('keep'), 0)

  // Same uuid and usage: an update (description changes, value kept).
  await d.secretDefineXML(`<secret><uuid>${U1}</uuid><description>new</description><usage type='volume'><volume>/v/1</volume></usage></secret>`, 0)
  t.regex(d.secretGetXMLDesc(U1, 0), /<description>new<\/description>/)
  t.is(d.secretGetValue(U1, 0, false).toString(), 'keep')
  t.is(d.listSecrets(0).length, 1)

  // Same uuid, different usage.
  let err = await virErr(t, d.secretDefineXML(volXml(U1, '/v/other'), 0), ErrorCode.INTERNAL_ERROR)
  t.is(err.message, `internal error: a secret with UUID ${U1} is already defined for use with /v/1`)

  // Another uuid, same usage.
  err = await virErr(t, d.secretDefineXML(volXml(U2, '/v/1'), 0), ErrorCode.INTERNAL_ERROR)
  t.is(err.message, `internal error: a secret with UUID ${U1} already defined for use with /v/1`)
  t.is(d.listSecrets(0).length, 1)
  // The same id under another usage type is a different usage.
  await d.secretDefineXML(`<secret><uuid>${U2}</uuid><usage type='tls'><name>/v/1</name></usage></secret>`, 0)

  // private: no → yes is allowed, yes → no is refused.
  await d.secretDefineXML(volXml(U1, '/v/1', " private='yes'"), 0)
  err = await virErr(t, d.secretDefineXML(volXml(U1, '/v/1', " private='no'"), 0), ErrorCode.INTERNAL_ERROR)
  t.is(err.message, 'internal error: cannot change private flag on existing secret')
  t.regex(d.secretGetXMLDesc(U1, 0), /private='yes'/)
  t.regex(readFileSync(join(dirs.configDir, `${U1}.xml`), 'utf8'), /private='yes'/)
})

test('redefinition may switch between ephemeral and persistent, moving the value', async (t) => {
  const dirs = freshDirs()
  const d = makeDriver(dirs)
  await d.secretDefineXML(volXml(U1, '/v/1', " ephemeral='yes'"), 0)
  await d.secretSetValue(U1, Buffer.from('moving'), 0)
  t.deepEqual(readdirSync(dirs.configDir), [])

  await d.secretDefineXML(volXml(U1, '/v/1'), 0)
  t.deepEqual(readdirSync(dirs.configDir).sort(), [`${U1}.base64`, `${U1}.xml`])
  t.is(makeDriver(dirs).secretGetValue(U1, 0, false).toString(), 'moving')

  await d.secretDefineXML(volXml(U1, '/v/1', " ephemeral='yes'"), 0)
  t.deepEqual(readdirSync(dirs.configDir), [])
  t.is(d.secretGetValue(U1, 0, false).toString(), 'moving')
  t.deepEqual(makeDriver(dirs).listSecrets(0), [])
})

test('lifecycle and value-changed events', async (t) => {
  const d = makeDriver()
  const life: SecretLifecycleMsg[] = []
  const values: SecretValueChangedMsg[] = []
  d.events.on('secret', (m: SecretLifecycleMsg) => life.push(m))
  d.events.on('secret-value', (m: SecretValueChangedMsg) => values.push(m))
  const ref = {uuid: U1, usageType: 2, usageID: 'client.admin', name: U1}

  await d.secretDefineXML(cephXml(U1, 'client.admin'), 0)
  await d.secretDefineXML(cephXml(U1, 'client.admin'), 0)
  await d.secretSetValue(U1, Buffer.from('x'), 0)
  await d.secretUndefine(U1)
  // Failures emit nothing.
  await virErr(t, d.secretDefineXML('<secret><usage/></secret>', 0), ErrorCode.XML_ERROR)
  await virErr(t, d.secretUndefine(U1), ErrorCode.NO_SECRET)

  t.deepEqual(life, [
    {kind: 'lifecycle', ref, event: SecretLifecycleEvent.DEFINED, detail: 0},
    {kind: 'lifecycle', ref, event: SecretLifecycleEvent.DEFINED, detail: 0},
    {kind: 'lifecycle', ref, event: SecretLifecycleEvent.UNDEFINED, detail: 0},
  ])
  t.deepEqual(values, [{kind: 'value-changed', ref}])
})

test('define errors: XML problems, flags, VALIDATE', async (t) => {
  const d = makeDriver()
  let err = await virErr(t, d.secretDefineXML('<secret>', 0), ErrorCode.XML_DETAIL)
  t.regex(err.message, /^\(definition_of_secret\):1: /)
  err = await virErr(t, d.secretDefineXML('<pool/>', 0), ErrorCode.XML_ERROR)
  t.is(err.message, 'XML error: unexpected root element <pool>, expecting <secret>')
  await virErr(t, d.secretDefineXML("<secret><usage type='bogus'/></secret>", 0), ErrorCode.CONFIG_UNSUPPORTED)
  err = await virErr(t, d.secretDefineXML("<secret><usage type='iscsi'/></secret>", 0), ErrorCode.INTERNAL_ERROR)
  t.is(err.message, 'internal error: iSCSI usage specified, but target is missing')
  err = await virErr(t, d.secretDefineXML('<secret/>', 2), ErrorCode.INVALID_ARG)
  t.is(err.message, 'invalid argument: unsupported flags (0x2) in function secretDefineXML')

  // Without VALIDATE unknown elements are ignored; with it they are refused.
  const extra = `<secret><uuid>${U1}</uuid><bogus/></secret>`
  await virErr(t, d.secretDefineXML(extra, SecretDefineFlags.VALIDATE), ErrorCode.XML_INVALID_SCHEMA)
  t.deepEqual(d.listSecrets(0), [])
  await d.secretDefineXML(extra, 0)
  t.false(d.secretGetXMLDesc(U1, 0).includes('bogus'))
  await d.secretDefineXML(volXml(U2), SecretDefineFlags.VALIDATE)

  await virErr(t, () => d.secretGetXMLDesc(U1, 1), ErrorCode.INVALID_ARG)
  await virErr(t, () => d.secretGetValue(U1, 1, false), ErrorCode.INVALID_ARG)
  await virErr(t, d.secretSetValue(U1, Buffer.from('x'), 1), ErrorCode.INVALID_ARG)
  t.is(d.listSecrets(0).length, 2)
})

test('concurrent defines of one usage: exactly one wins', async (t) => {
  const d = makeDriver()
  const results = await Promise.allSettled([d.secretDefineXML(cephXml(U1, 'same'), 0), d.secretDefineXML(cephXml(U2, 'same'), 0)])
  t.is(results.filter((r) => r.status === 'fulfilled').length, 1)
  const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult
  t.is((rejected.reason as VirError).code, ErrorCode.INTERNAL_ERROR)
  t.is(d.listSecrets(0).length, 1)
})

test('undefine while a value write is queued: operations apply in order', async (t) => {
  const dirs = freshDirs()
  const d = makeDriver(dirs)
  await d.secretDefineXML(volXml(U1), 0)
  const set = d.secretSetValue(U1, Buffer.from('v'), 0)
  const undef = d.secretUndefine(U1)
  await Promise.all([set, undef])
  t.deepEqual(d.listSecrets(0), [])
  t.deepEqual(readdirSync(dirs.configDir), [])
})

test('unusable files are skipped with a warning, never a crash', async (t) => {
  const dirs = freshDirs()
  const d = makeDriver(dirs)
  await d.secretDefineXML(cephXml(U1, 'good'), 0)
  await d.secretSetValue(U1, Buffer.from('ok'), 0)
  // Malformed XML, a wrong root, a file name that is not its UUID, a usage clash, a stray file.
  writeFileSync(join(dirs.configDir, `${U2}.xml`), '<secret><uuid>')
  writeFileSync(join(dirs.configDir, 'not-a-secret.xml'), '<network/>')
  writeFileSync(join(dirs.configDir, 'renamed.xml'), cephXml(U3, 'other'))
  writeFileSync(join(dirs.configDir, `${U3}.xml`), cephXml(U3, 'good'))
  writeFileSync(join(dirs.configDir, 'README'), 'not xml at all')

  const warnings: string[] = []
  const d2 = makeDriver(dirs, warnings)
  t.deepEqual(
    d2.listSecrets(0).map((r) => r.uuid),
    [U1],
  )
  t.is(d2.secretGetValue(U1, 0, false).toString(), 'ok')
  t.is(warnings.length, 4, warnings.join('\n'))
  t.true(warnings.every((w) => w.startsWith('Error reading secret: ')))
  t.true(warnings.some((w) => w.includes("<uuid> does not match secret file name 'renamed.xml'")))
  t.true(warnings.some((w) => w.includes(`a secret with UUID ${U1} already defined for use with good`)))

  // No logger: still no crash.
  t.notThrows(() => makeDriver(dirs))
})
