// The XML reader's limits and DTD handling, each case checked against what Debian's libvirt 9.0
// (libxml2) reports for the same document through `virsh -c test:///default define`.
import test from 'ava'

import {ErrorCode, ErrorDomain, VirError} from '../src/lib/errors.js'
import {type XmlElement, attr, child, parseXml, serializeXml, textOf} from '../src/lib/conf/xml.js'
import {checkVncPasswords, formatDomainXml, parseDomainXml} from '../src/lib/conf/domain.js'
import {parseNetworkXml} from '../src/lib/conf/network.js'
import {parsePoolXml} from '../src/lib/conf/pool.js'
import {parseSecretXml} from '../src/lib/conf/secret.js'
import {decodeUtf8} from '../src/lib/rpc/xdr.js'

const dom = (name: string, extra = ''): string =>
  `<domain type='test'><name>${name}</name><memory>1024</memory><os><type>hvm</type></os>${extra}</domain>`
const nest = (n: number): string => '<a>'.repeat(n) + '</a>'.repeat(n)

function failure(fn: () => unknown): VirError {
  try {
    fn()
  } catch (err) {
    if (err instanceof VirError) return err
    throw err
  }
  throw new Error('no error')
}

// [what, document, expected name or the error's (code, domain, message)]
type Expect = {name: string} | {code: number; domain: number; message: string | RegExp}
const ENTITY_CASES: [string, string, Expect][] = [
  ['internal entity in content', `<!DOCTYPE domain [<!ENTITY x "entname">]>\n${dom('&x;')}`, {name: 'entname'}],
  ['nested internal entities', `<!DOCTYPE domain [<!ENTITY a "A"><!ENTITY b "&a;&a;B">]>${dom('n&b;')}`, {name: 'nAAB'}],
  ['character reference replaced at declaration', `<!DOCTYPE domain [<!ENTITY m "&#38;#65;">]>${dom('cr&m;')}`, {name: 'crA'}],
  ['first declaration wins', `<!DOCTYPE domain [<!ENTITY a "1"><!ENTITY a "2">]>${dom('d&a;')}`, {name: 'd1'}],
  ['predefined entity cannot be redeclared', `<!DOCTYPE domain [<!ENTITY lt "&#60;">]>${dom('p&lt;')}`, {name: 'p<'}],
  ['parameter entity declares a general one', `<!DOCTYPE domain [<!ENTITY % p "<!ENTITY q 'Q'>"> %p;]>${dom('n&q;')}`, {name: 'nQ'}],
  [
    'markup declarations are skipped',
    `<!DOCTYPE domain [<!ELEMENT domain ANY><!ATTLIST domain type CDATA #REQUIRED><!ENTITY a "A">]>${dom('e&a;')}`,
    {name: 'eA'},
  ],
  ['external subset makes undeclared entities empty', `<!DOCTYPE domain SYSTEM "foo.dtd">${dom('u&y;')}`, {name: 'u'}],
  ['external entity in content is not loaded', `<!DOCTYPE domain [<!ENTITY x SYSTEM "/etc/hostname">]>${dom('ext&x;')}`, {name: 'ext'}],
  [
    '3 x 10 references are fine',
    `<!DOCTYPE domain [<!ENTITY a "l"><!ENTITY b "&a;&a;&a;"><!ENTITY c "${'&b;'.repeat(10)}">]>${dom('n&c;')}`,
    {name: 'n' + 'l'.repeat(30)},
  ],
  [
    'undeclared entity',
    `<!DOCTYPE domain [<!ENTITY x "v">]>${dom('u&y;')}`,
    {
      code: ErrorCode.XML_DETAIL,
      domain: ErrorDomain.DOMAIN,
      message: `(domain_definition):1: Entity 'y' not defined\n<!DOCTYPE domain [<!ENTITY x "v">]>${dom('u&y;')}\n${'-'.repeat(65)}^`,
    },
  ],
  [
    'undeclared entity inside an entity',
    `<!DOCTYPE domain [<!ENTITY m "&zz;">]>${dom('ue&m;')}`,
    {code: 35, domain: 20, message: "at line 1: Entity 'zz' not defined\n&zz;\n----^"},
  ],
  [
    'entity loop',
    `<!DOCTYPE domain [<!ENTITY a "&b;"><!ENTITY b "&a;">]>${dom('n&a;')}`,
    {code: 35, domain: 20, message: 'at line 1: Detected an entity reference loop\n&a;\n---^'},
  ],
  [
    'self reference',
    `<!DOCTYPE domain [<!ENTITY a "x&a;">]>${dom('n&a;')}`,
    {code: 35, domain: 20, message: 'at line 1: Detected an entity reference loop\nx&a;\n----^'},
  ],
  [
    'dense references (5 x 5)',
    `<!DOCTYPE domain [<!ENTITY a "l"><!ENTITY b "&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;">]>${dom('n&c;')}`,
    {code: 35, domain: 20, message: 'at line 1: Detected an entity reference loop\n&b;&b;&b;&b;&b;\n---^'},
  ],
  [
    'markup must be balanced in an entity',
    `<!DOCTYPE domain [<!ENTITY m "<a>">]>${dom('bm', '<description>&m;</description>')}`,
    {code: 35, domain: 20, message: 'at line 1: Premature end of data in tag a line 1\n<a>\n---^'},
  ],
  [
    "'<' from an entity in an attribute",
    `<!DOCTYPE domain [<!ENTITY m "<">]>${dom('bm', "<devices><graphics type='vnc' keymap='&m;'/></devices>")}`,
    {code: 35, domain: 20, message: /^\(domain_definition\):1: '<' in entity 'm' is not allowed in attributes values\n/},
  ],
  [
    'external entity in an attribute',
    `<!DOCTYPE domain [<!ENTITY x SYSTEM "/etc/hostname">]>${dom('a', "<devices><graphics type='vnc' keymap='&x;'/></devices>")}`,
    {code: 35, domain: 20, message: /^\(domain_definition\):1: Attribute references external entity 'x'\n/},
  ],
  [
    'undeclared entity inside an entity, in an attribute: reported at the reference',
    `<!DOCTYPE domain [<!ENTITY m "&zz;">]>${dom('bm', "<devices><graphics type='vnc' keymap='&m;abc'/></devices>")}`,
    {code: 35, domain: 20, message: /^\(domain_definition\):1: Entity 'zz' not defined\n.*\n-{160}\^$/},
  ],
  [
    'entity loop in an attribute: reported at the reference',
    `<!DOCTYPE domain [<!ENTITY a "&b;"><!ENTITY b "&a;">]>${dom('bm', "<devices><graphics type='vnc' keymap='&a;abc'/></devices>")}`,
    {code: 35, domain: 20, message: /^\(domain_definition\):1: Detected an entity reference loop\n.*\n-{176}\^$/},
  ],
  [
    'in an attribute, density counts the document read so far (5 x 5 is fine)',
    `<!DOCTYPE domain [<!ENTITY a "l"><!ENTITY b "&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;">]>${dom('bm', "<devices><graphics type='vnc' keymap='&c;'/></devices>")}`,
    {name: 'bm'},
  ],
  [
    'parameter entity reference in an entity value',
    `<!DOCTYPE domain [<!ENTITY a "%x;">]>${dom('x')}`,
    {
      code: 35,
      domain: 20,
      message: `(domain_definition):1: PEReferences forbidden in internal subset\n<!DOCTYPE domain [<!ENTITY a "%x;">]>${dom('x')}\n${'-'.repeat(34)}^`,
    },
  ],
  [
    'unterminated declaration',
    `<!DOCTYPE domain [<!ENTITY a "A"${dom('x')}`,
    {code: 35, domain: 20, message: /^\(domain_definition\):1: xmlParseEntityDecl: entity a not terminated\n.*\n-{32}\^$/},
  ],
]

for (const [what, xml, want] of ENTITY_CASES) {
  test(`entities: ${what}`, (t) => {
    if ('name' in want) {
      t.is(parseDomainXml(xml).name, want.name)
      return
    }
    const err = failure(() => parseDomainXml(xml))
    t.is(err.code, want.code)
    t.is(err.domain, want.domain)
    if (typeof want.message === 'string') t.is(err.message, want.message)
    else t.regex(err.message, want.message)
  })
}

test('entities: replacement markup becomes part of the tree, and survives formatting', (t) => {
  const def = parseDomainXml(`<!DOCTYPE domain [<!ENTITY m "<uuid>11111111-2222-3333-4444-555555555555</uuid>"><!ENTITY d "a<b>c</b>d &amp; e">]>
${dom('mk', '&m;<description>x&d;y</description>')}`)
  t.is(def.uuid, '11111111-2222-3333-4444-555555555555')
  t.is(def.description, 'xacd & ey')
  const again = parseDomainXml(formatDomainXml(def))
  t.is(again.uuid, def.uuid)
})

test('entities: attribute values expand internal entities', (t) => {
  const root = parseXml(`<!DOCTYPE a [<!ENTITY k "fr"><!ENTITY j "&k;-&#65;">]><a x='&j;' y="1&k;2"/>`, 'doc')
  t.is(attr(root, 'x'), 'fr-A')
  t.is(attr(root, 'y'), '1fr2')
})

test('entities: billion laughs is refused early, without expanding', (t) => {
  let decl = '<!ENTITY lol0 "lol">'
  for (let i = 1; i <= 9; i++) decl += `<!ENTITY lol${i} "${`&lol${i - 1};`.repeat(10)}">`
  const started = performance.now()
  const err = failure(() => parseDomainXml(`<!DOCTYPE domain [${decl}]>\n${dom('lol', '<description>&lol9;</description>')}`))
  t.true(performance.now() - started < 1000)
  t.is(err.code, ErrorCode.XML_DETAIL)
  t.is(err.message, `at line 1: Detected an entity reference loop\n${'&lol1;'.repeat(10)}\n------^`)
})

test('entities: total expansion is capped', (t) => {
  const big = 'x'.repeat(100_000)
  const err = failure(() => parseXml(`<!DOCTYPE a [<!ENTITY b "${big}">]><a>${'&b;'.repeat(200)}</a>`, 'doc'))
  t.regex(err.message, /Detected an entity reference loop/)
  // Below the cap it is fine (libvirt accepts 2,000 references to a 999-character entity).
  const ok = parseXml(`<!DOCTYPE a [<!ENTITY b "${'y'.repeat(999)}">]><a>${'&b;'.repeat(2000)}</a>`, 'doc')
  t.is(textOf(ok).length, 999 * 2000)
})

// Depth: libxml2 refuses the 258th nested element (the root counts).
const DEPTH_CASES: [string, string, boolean][] = [
  ['255 levels under <metadata>', dom('x', `<metadata>${nest(255)}</metadata>`), true],
  ['256 levels under <metadata>', dom('x', `<metadata>${nest(256)}</metadata>`), false],
  ['an entity counts from its own root (256)', `<!DOCTYPE domain [<!ENTITY d "${nest(256)}">]>${dom('x', '<metadata>&d;</metadata>')}`, true],
  ['an entity counts from its own root (257)', `<!DOCTYPE domain [<!ENTITY d "${nest(257)}">]>${dom('x', '<metadata>&d;</metadata>')}`, false],
  ['100,000 levels', dom('deep', `<metadata>${nest(100_000)}</metadata>`), false],
]
for (const [what, xml, ok] of DEPTH_CASES) {
  test(`depth: ${what}`, (t) => {
    if (ok) {
      const def = parseDomainXml(xml)
      t.true(formatDomainXml(def).length > 0)
      return
    }
    const err = failure(() => parseDomainXml(xml))
    t.is(err.code, ErrorCode.XML_DETAIL)
    t.is(err.domain, ErrorDomain.DOMAIN)
    t.regex(err.message, /^(\(domain_definition\)|at line) ?:?1?:? ?.*Excessive depth in document: 256 use XML_PARSE_HUGE option\n/)
  })
}

test('depth: the caret points at the refused start tag, on its line', (t) => {
  const xml = `<domain type='test'>\n<name>d</name>\n<metadata>${'\n  <a x="1">'.repeat(256)}${'</a>'.repeat(256)}</metadata></domain>`
  const err = failure(() => parseDomainXml(xml))
  t.true(err.message.startsWith('(domain_definition):259: Excessive depth in document: 256 use XML_PARSE_HUGE option\n  <a x="1"></a>'))
  t.true(err.message.endsWith('\n--^'))
})

test('network, pool and secret documents get the same limits', (t) => {
  const net = failure(() => parseNetworkXml(`<network><name>dn</name>${nest(300)}</network>`))
  t.is(net.domain, ErrorDomain.NETWORK)
  t.regex(net.message, /^\(network_definition\):1: Excessive depth in document: 256/)
  const pool = failure(() =>
    parsePoolXml(`<pool type='dir'><name>dp</name><target><path>/tmp</path></target>${nest(300)}</pool>`, {docName: 'storage_pool_definition'}),
  )
  t.is(pool.domain, ErrorDomain.STORAGE)
  t.regex(pool.message, /^\(storage_pool_definition\):1: Excessive depth in document: 256/)
  const secret = failure(() => parseSecretXml(`<secret>${nest(300)}</secret>`))
  t.is(secret.domain, ErrorDomain.SECRET)
  t.regex(secret.message, /Excessive depth in document: 256/)
  t.is(parseNetworkXml(`<!DOCTYPE network [<!ENTITY x "entnet">]><network><name>&x;</name></network>`).name, 'entnet')
})

test('names: a newline in a domain name is refused in the XML domain, after the / check', (t) => {
  for (const xml of [dom('nl\nname'), dom('t&#10;b')]) {
    const err = failure(() => parseDomainXml(xml))
    t.is(err.code, ErrorCode.XML_DETAIL)
    t.is(err.domain, ErrorDomain.XML)
    t.is(err.message, 'invalid char in name: \n')
  }
  t.is(failure(() => parseDomainXml(dom('a\nb/c'))).message, "XML error: name a\nb/c cannot contain '/'")
  // libvirt accepts other whitespace, and newlines in network and pool names.
  t.is(parseDomainXml(dom('t\tb')).name, 't\tb')
  t.is(parseNetworkXml('<network><name>n\nx</name></network>').name, 'n\nx')
  const slash = failure(() => parseNetworkXml('<network><name>a/b</name></network>'))
  t.is(slash.domain, ErrorDomain.XML)
})

test('UTF-8: bytes that are not UTF-8 are refused with the bytes named', (t) => {
  const bytes = Buffer.concat([Buffer.from(`<domain type='test'><name>bad`), Buffer.from([0xff]), Buffer.from('utf</name></domain>')])
  const err = failure(() => parseDomainXml(decodeUtf8(bytes, 0, bytes.length)))
  t.is(err.code, ErrorCode.XML_DETAIL)
  t.is(err.domain, ErrorDomain.DOMAIN)
  t.is(
    err.message,
    `(domain_definition):1: Input is not proper UTF-8, indicate encoding !\nBytes: 0xFF 0x75 0x74 0x66\n<domain type='test'><name>bad\ufffdutf</name></domain>\n${'-'.repeat(29)}^`,
  )
  // Valid text (including U+FFFD itself and astral characters) decodes as usual.
  for (const s of ['plain', 'euro €', 'smile 😀', 'replacement \ufffd']) {
    const b = Buffer.from(s)
    t.is(decodeUtf8(b, 0, b.length), s)
  }
  // Overlong forms, encoded surrogates and truncated sequences are not UTF-8.
  for (const bad of [
    [0xc0, 0x80],
    [0xed, 0xa0, 0x80],
    [0xe2, 0x82],
    [0xf8, 0x88, 0x80, 0x80, 0x80],
  ]) {
    const s = decodeUtf8(Buffer.from(bad), 0, bad.length)
    t.deepEqual(
      Array.from(s, (c) => c.charCodeAt(0) - 0xdc00),
      bad,
    )
  }
})

test('attributes: a duplicate is reported after its value, whatever the attribute count', (t) => {
  const err = failure(() => parseXml(`<a><x a='1' a='2'/></a>`, 'doc'))
  t.is(err.message, `(doc):1: Attribute a redefined\n<a><x a='1' a='2'/></a>\n${'-'.repeat(17)}^`)
  const many = Array.from({length: 1000}, (_, i) => ` a${i}='v'`).join('')
  const late = failure(() => parseXml(`<x${many} a500='again'/>`, 'doc'))
  t.regex(late.message, /Attribute a500 redefined/)
})

test('a 430 KB element with 40,000 attributes parses and formats in linear time', (t) => {
  const attrs = Array.from({length: 40_000}, (_, i) => ` a${i}='v'`).join('')
  const xml = dom('big', `<devices><graphics type='vnc'${attrs}/></devices>`)
  t.true(xml.length > 420_000)
  parseDomainXml(xml) // warm up
  const started = performance.now()
  const def = parseDomainXml(xml)
  const out = formatDomainXml(def)
  const ms = performance.now() - started
  t.is((child(child(def.root, 'devices'), 'graphics') as XmlElement).attrs.length, 40_001)
  t.true(out.includes(" a39999='v'"))
  // The quadratic check took 3-4 s here; linear work is ~20 ms. The bound leaves room for a busy machine.
  t.true(ms < 1000, `took ${ms} ms`)
})

test('serializeXml handles the deepest accepted tree', (t) => {
  const root = parseXml(`<r>${nest(256)}</r>`, 'doc')
  const text = serializeXml(root)
  // 257 elements: the innermost on one line, every other one opening and closing on its own.
  t.is(text.split('\n').length, 256 * 2 + 1 + 1)
})

test('passwords: left out unless secure, in every graphics type', (t) => {
  const def = parseDomainXml(
    dom(
      'vnc1',
      "<devices><graphics type='vnc' autoport='yes' keymap='en-us' passwd='secret123456' passwdValidTo='2030-01-01T00:00:00'/><graphics type='spice' autoport='yes' passwd='spicepass'/></devices>",
    ),
  )
  const plain = formatDomainXml(def)
  t.false(plain.includes('passwd='))
  t.true(plain.includes("passwdValidTo='2030-01-01T00:00:00'"))
  t.false(formatDomainXml(def, {id: 3, active: true}).includes('passwd='))
  const secure = formatDomainXml(def, {secure: true})
  t.true(secure.includes("keymap='en-us' passwd='secret123456' passwdValidTo='2030-01-01T00:00:00'"))
  t.true(secure.includes("passwd='spicepass'"))
  // What a driver writes with secure: true reads back with the passwords.
  t.true(formatDomainXml(parseDomainXml(secure), {secure: true}).includes("passwd='secret123456'"))
})

test('passwords: the QEMU check refuses VNC passwords over 8 bytes, as libvirt', (t) => {
  const mk = (pw: string, type = 'vnc') => parseDomainXml(dom('q', `<devices><graphics type='${type}' passwd='${pw}'/></devices>`))
  t.notThrows(() => checkVncPasswords(mk('secret12')))
  t.notThrows(() => checkVncPasswords(mk('longer-than-eight', 'spice')))
  const err = failure(() => checkVncPasswords(mk('secret123456')))
  t.is(err.code, ErrorCode.CONFIG_UNSUPPORTED)
  t.is(err.domain, ErrorDomain.QEMU)
  t.is(err.message, 'unsupported configuration: VNC password is 12 characters long, only 8 permitted')
  t.regex(failure(() => checkVncPasswords(mk('ééééé'))).message, /VNC password is 10 characters long/)
})

test('depth: entities nested in entities stay within a total cap, and the deepest tree still formats', (t) => {
  // Each entity wraps the previous one in 250 elements: every piece is within libxml2's 256, the
  // whole grows by 250 a level. 8 levels (2,000 deep) are accepted; 9 exceed the total cap of 2,048.
  const chain = (levels: number): string => {
    let decl = '<!ENTITY e0 "x">'
    for (let i = 1; i <= levels; i++) decl += `<!ENTITY e${i} "${'<a>'.repeat(250)}&e${i - 1};${'</a>'.repeat(250)}">`
    return `<!DOCTYPE r [${decl}]><r>&e${levels};</r>`
  }
  const root = parseXml(chain(8), 'doc')
  const text = serializeXml(root)
  t.true(text.includes(`${' '.repeat(2 * 2000)}<a>x</a>`))
  const err = failure(() => parseXml(chain(9), 'doc'))
  t.regex(err.message, /Excessive depth in document: 256 use XML_PARSE_HUGE option/)
})
