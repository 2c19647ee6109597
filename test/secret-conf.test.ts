import {spawnSync} from 'node:child_process'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import test, {type ExecutionContext} from 'ava'

import {ErrorCode, ErrorDomain, VirError} from '../src/lib/errors.js'
import {
  SECRET_USAGE_ID_ELEMENT,
  SecretUsageType,
  formatSecretXml,
  parseSecretXml,
  secretUsageId,
  secretUsageType,
  secretUsageTypeName,
  secretUsageTypeNumber,
  validateSecretSchema,
} from '../src/lib/conf/secret.js'
import {parseXml} from '../src/lib/conf/xml.js'

const tmp = mkdtempSync(join(tmpdir(), 'vctl-conf-secret-'))
test.after.always(() => rmSync(tmp, {recursive: true, force: true}))

let fileNo = 0
function assertValid(t: ExecutionContext, xml: string): void {
  const file = join(tmp, `doc-${fileNo++}.xml`)
  writeFileSync(file, xml)
  const r = spawnSync('/usr/bin/virt-xml-validate', [file, 'secret'], {encoding: 'utf8'})
  t.is(r.status, 0, `virt-xml-validate secret failed:\n${r.stdout}${r.stderr}\n--- document ---\n${xml}`)
}

function assertVirError(t: ExecutionContext, fn: () => unknown, code: number, match: RegExp | string): VirError {
  const err = t.throws<VirError>(fn)
  t.true(err instanceof VirError, `not a VirError: ${String(err)}`)
  t.is(err.code, code, err.message)
  t.is(err.domain, ErrorDomain.SECRET, err.message)
  if (typeof match === 'string') t.is(err.message, match)
  else t.regex(err.message, match)
  return err
}

const UUID = 'c0ffee00-1234-4abc-8def-0123456789ab'

test('usage type numbers follow virSecretUsageType', (t) => {
  t.deepEqual({...SecretUsageType}, {none: 0, volume: 1, ceph: 2, iscsi: 3, tls: 4, vtpm: 5})
  t.is(secretUsageTypeName(2), 'ceph')
  t.is(secretUsageTypeName(6), undefined)
  t.is(secretUsageTypeName(-1), undefined)
  t.is(secretUsageTypeNumber('vtpm'), 5)
  t.is(secretUsageTypeNumber('toString'), undefined)
  t.is(SECRET_USAGE_ID_ELEMENT.iscsi, 'target')
})

test('volume secret: parse, exact format, validate, round trip', (t) => {
  const xml = `<secret ephemeral='no' private='yes'>
  <uuid>${UUID.toUpperCase()}</uuid>
  <description>Passphrase for the demo volume</description>
  <usage type='volume'>
    <volume>/var/lib/libvirt/images/demo.luks</volume>
  </usage>
</secret>`
  const def = parseSecretXml(xml)
  t.is(def.uuid, UUID)
  t.false(def.ephemeral)
  t.true(def.private)
  t.is(def.description, 'Passphrase for the demo volume')
  t.deepEqual(def.usage, {type: 'volume', id: '/var/lib/libvirt/images/demo.luks'})
  t.is(secretUsageType(def), 1)
  t.is(secretUsageId(def), '/var/lib/libvirt/images/demo.luks')
  const out = formatSecretXml(def)
  t.is(
    out,
    `<secret ephemeral='no' private='yes'>
  <uuid>${UUID}</uuid>
  <description>Passphrase for the demo volume</description>
  <usage type='volume'>
    <volume>/var/lib/libvirt/images/demo.luks</volume>
  </usage>
</secret>
`,
  )
  assertValid(t, out)
  t.is(formatSecretXml(parseSecretXml(out)), out)
})

for (const [type, elName, id] of [
  ['ceph', 'name', 'client.admin secret'],
  ['iscsi', 'target', 'iqn.2013-07.com.example:iscsi-pool'],
  ['tls', 'name', 'tls-client'],
  ['vtpm', 'name', 'vTPM for guest'],
] as const) {
  test(`${type} usage: parse, format, validate`, (t) => {
    const def = parseSecretXml(`<secret ephemeral='yes'><usage type='${type}'><${elName}>${id}</${elName}></usage></secret>`)
    t.true(def.ephemeral)
    t.false(def.private)
    t.deepEqual(def.usage, {type, id})
    t.is(secretUsageType(def), SecretUsageType[type])
    t.regex(def.uuid, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
    const out = formatSecretXml(def)
    t.true(out.includes(`<usage type='${type}'>\n    <${elName}>${id}</${elName}>\n  </usage>`), out)
    assertValid(t, out)
    t.deepEqual(parseSecretXml(out).usage, {type, id})
  })
}

test('minimal secret: defaults, generated uuid, no usage, validates', (t) => {
  const def = parseSecretXml('<secret/>')
  t.false(def.ephemeral)
  t.false(def.private)
  t.is(def.usage, undefined)
  t.is(def.description, undefined)
  t.is(secretUsageType(def), 0)
  t.is(secretUsageId(def), '')
  const out = formatSecretXml(def)
  t.is(out, `<secret ephemeral='no' private='no'>\n  <uuid>${def.uuid}</uuid>\n</secret>\n`)
  assertValid(t, out)
  t.not(parseSecretXml('<secret/>').uuid, def.uuid)
})

test("usage type 'none' is accepted and not written out", (t) => {
  const def = parseSecretXml(`<secret><uuid>${UUID}</uuid><usage type='none'/></secret>`)
  t.deepEqual(def.usage, {type: 'none', id: ''})
  t.is(secretUsageType(def), 0)
  const out = formatSecretXml(def)
  t.false(out.includes('usage'))
  assertValid(t, out)
})

test('special characters are escaped and survive a round trip', (t) => {
  const def = parseSecretXml(`<secret><description>a &lt;b&gt; &amp; 'c'</description><usage type='ceph'><name>x&amp;y</name></usage></secret>`)
  t.is(def.description, "a <b> & 'c'")
  t.is(def.usage?.id, 'x&y')
  const out = formatSecretXml(def)
  assertValid(t, out)
  const back = parseSecretXml(out)
  t.is(back.description, def.description)
  t.is(back.usage?.id, 'x&y')
})

test('errors: malformed XML', (t) => {
  const err = assertVirError(t, () => parseSecretXml('<secret><uuid>'), ErrorCode.XML_DETAIL, /^\(definition_of_secret\):1: /)
  t.regex(err.message, /Premature end of data/)
})

test('errors: wrong root element', (t) => {
  assertVirError(t, () => parseSecretXml('<network/>'), ErrorCode.XML_ERROR, 'XML error: unexpected root element <network>, expecting <secret>')
})

test('errors: bad yes/no attributes', (t) => {
  assertVirError(t, () => parseSecretXml("<secret ephemeral='maybe'/>"), ErrorCode.XML_ERROR, "XML error: invalid value of 'ephemeral'")
  assertVirError(t, () => parseSecretXml("<secret private='1'/>"), ErrorCode.XML_ERROR, "XML error: invalid value of 'private'")
})

test('errors: malformed uuid', (t) => {
  assertVirError(
    t,
    () => parseSecretXml('<secret><uuid>not-a-uuid</uuid></secret>'),
    ErrorCode.INTERNAL_ERROR,
    'internal error: malformed uuid element',
  )
})

test('errors: usage type missing or unknown', (t) => {
  assertVirError(t, () => parseSecretXml('<secret><usage/></secret>'), ErrorCode.XML_ERROR, 'XML error: unknown secret usage type')
  assertVirError(
    t,
    () => parseSecretXml("<secret><usage type='nfs'><name>x</name></usage></secret>"),
    ErrorCode.CONFIG_UNSUPPORTED,
    'unsupported configuration: unknown secret usage type nfs',
  )
})

test('errors: usage id element missing or empty', (t) => {
  const cases: [string, string][] = [
    ["<usage type='volume'/>", 'volume usage specified, but volume path is missing'],
    ["<usage type='volume'><volume></volume></usage>", 'volume usage specified, but volume path is missing'],
    ["<usage type='ceph'><target>x</target></usage>", 'Ceph usage specified, but name is missing'],
    ["<usage type='iscsi'><name>x</name></usage>", 'iSCSI usage specified, but target is missing'],
    ["<usage type='tls'/>", 'TLS usage specified, but name is missing'],
    ["<usage type='vtpm'/>", 'vTPM usage specified, but name is missing'],
  ]
  for (const [usage, msg] of cases) {
    assertVirError(t, () => parseSecretXml(`<secret>${usage}</secret>`), ErrorCode.INTERNAL_ERROR, `internal error: ${msg}`)
  }
})

test('schema check (VALIDATE flag) agrees with virt-xml-validate', (t) => {
  const good = [
    '<secret/>',
    `<secret ephemeral='yes' private='no'><uuid>${UUID}</uuid><description>d</description><usage type='volume'><volume>/a/b</volume></usage></secret>`,
    `<secret><usage type='iscsi'><target>t</target></usage><uuid>${UUID.replace(/-/g, '')}</uuid></secret>`,
  ]
  for (const xml of good) {
    t.notThrows(() => validateSecretSchema(parseXml(xml, 'doc')), xml)
    assertValid(t, xml)
  }
  const bad = [
    "<secret foo='bar'/>",
    "<secret ephemeral='maybe'/>",
    '<secret><name>x</name></secret>',
    '<secret><uuid>zz</uuid></secret>',
    `<secret><uuid>${UUID}</uuid><uuid>${UUID}</uuid></secret>`,
    "<secret><usage type='none'/></secret>",
    "<secret><usage type='volume'><volume>relative/path</volume></usage></secret>",
    "<secret><usage type='ceph'><name>a/b</name></usage></secret>",
    "<secret><usage type='ceph'><volume>/x</volume></usage></secret>",
  ]
  for (const xml of bad) {
    const err = t.throws<VirError>(() => validateSecretSchema(parseXml(xml, 'doc')), undefined, xml)
    t.is(err.code, ErrorCode.XML_INVALID_SCHEMA, xml)
    t.is(err.domain, ErrorDomain.SECRET)
    t.regex(err.message, /^XML document failed to validate against schema: /)
    const file = join(tmp, `bad-${fileNo++}.xml`)
    writeFileSync(file, xml)
    const r = spawnSync('/usr/bin/virt-xml-validate', [file, 'secret'], {encoding: 'utf8'})
    t.not(r.status, 0, `virt-xml-validate accepted ${xml}`)
  }
})
