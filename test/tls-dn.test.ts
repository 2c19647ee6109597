// The client DN libvirt checks tls_allowed_dn_list against, rendered from the certificate's DER.
// Every expected string below is what GnuTLS 3.7.9's gnutls_x509_crt_get_dn() (what libvirtd 9.0
// calls) printed for a certificate with that subject, checked on this machine.
import test from 'ava'

import {DnError, globMatch, dnAllowed, parseName, renderDn} from '../src/lib/daemon/tls-dn.js'

function len(n: number): number[] {
  if (n < 128) return [n]
  const b: number[] = []
  for (; n; n >>= 8) b.unshift(n & 255)
  return [0x80 | b.length, ...b]
}
function tlv(tag: number, content: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([tag, ...len(content.length)]), content])
}
function oid(s: string): Buffer {
  const a = s.split('.').map(Number)
  const out = [a[0] * 40 + a[1]]
  for (const x of a.slice(2)) {
    const b = [x & 127]
    for (let v = Math.floor(x / 128); v; v = Math.floor(v / 128)) b.unshift((v & 127) | 128)
    out.push(...b)
  }
  return tlv(6, Buffer.from(out))
}
type Attr = [oid: string, tag: number, value: string | Buffer]
function name(rdns: Attr[][]): Buffer {
  const ava = ([o, t, v]: Attr) => tlv(0x30, Buffer.concat([oid(o), tlv(t, typeof v === 'string' ? Buffer.from(v, 'utf8') : v)]))
  return tlv(0x30, Buffer.concat(rdns.map((r) => tlv(0x31, Buffer.concat(r.map(ava))))))
}
const h = (x: string) => Buffer.from(x, 'hex')
const [CN, O, OU, C] = ['2.5.4.3', '2.5.4.10', '2.5.4.11', '2.5.4.6']
const [UTF8, PRINTABLE, T61, IA5, UNIVERSAL, BMP] = [0x0c, 0x13, 0x14, 0x16, 0x1c, 0x1e]

const cases: [string, Attr[][], string][] = [
  ['certificate order, not RFC 4514 reversed', [[[C, PRINTABLE, 'GB']], [[O, UTF8, 'Acme']], [[CN, UTF8, 'client1']]], 'C=GB,O=Acme,CN=client1'],
  ['reordered RDNs stay in their order', [[[CN, UTF8, 'client1']], [[O, UTF8, 'Acme']], [[C, PRINTABLE, 'GB']]], 'CN=client1,O=Acme,C=GB'],
  ['a comma inside a value is escaped', [[[C, PRINTABLE, 'GB']], [[O, UTF8, 'Acme,CN=client1']]], 'C=GB,O=Acme\\,CN=client1'],
  ['all of ,+"\\<>; are escaped, = is not', [[[CN, UTF8, 'a,b+c"d\\e<f>g;h=i']]], 'CN=a\\,b\\+c\\"d\\\\e\\<f\\>g\\;h=i'],
  ['leading # and space, trailing space', [[[CN, UTF8, ' #a ']], [[O, UTF8, '#x']], [[OU, UTF8, 'a# ']]], 'CN=\\ #a\\ ,O=\\#x,OU=a#\\ '],
  ['a value of spaces only', [[[CN, UTF8, '  ']]], 'CN=\\ \\ '],
  [
    'multi-valued RDN in DER order, joined by +',
    [
      [
        [OU, UTF8, 'b'],
        [CN, UTF8, 'a'],
        [O, UTF8, 'c'],
      ],
      [[C, PRINTABLE, 'GB']],
    ],
    'OU=b+CN=a+O=c,C=GB',
  ],
  ['UTF-8 text as is', [[[CN, UTF8, '日本 é']]], 'CN=日本 é'],
  ['control characters as is', [[[CN, UTF8, h('610a0d7f')]]], 'CN=a\n\r\x7f'],
  ['PrintableString and ASCII T61String', [[[CN, PRINTABLE, 'abc']], [[O, T61, 'xyz']]], 'CN=abc,O=xyz'],
  ['T61String beyond ASCII: hex, escaped', [[[CN, T61, h('636166e9')]]], 'CN=\\#636166e9'],
  ['BMPString converted to UTF-8', [[[CN, BMP, h('00630061006600e9')]]], 'CN=café'],
  ['BMPString odd length: last byte dropped', [[[CN, BMP, h('0063006100')]]], 'CN=ca'],
  ['BMPString lone surrogate: hex, escaped', [[[CN, BMP, h('d800')]]], 'CN=\\#d800'],
  ['UniversalString: hex, escaped', [[[CN, UNIVERSAL, h('00000061')]]], 'CN=\\#00000061'],
  ['IA5String is no DirectoryString: hex of the DER', [[[CN, IA5, 'abc']]], 'CN=#1603616263'],
  ['embedded NUL: hex of the DER, unescaped', [[[CN, UTF8, h('610062')]]], 'CN=#0c03610062'],
  ['C must be PrintableString', [[[C, UTF8, 'GB']]], 'C=#0c024742'],
  ['EMAIL and DC are IA5String', [[['1.2.840.113549.1.9.1', IA5, 'a+b@c']], [['0.9.2342.19200300.100.1.25', IA5, 'org']]], 'EMAIL=a\\+b@c,DC=org'],
  ['empty single-type value: hex', [[[C, PRINTABLE, '']]], 'C=#1300'],
  ['unknown attribute: numeric OID and hex, unescaped', [[['1.2.3.4', UTF8, 'x,y']]], '1.2.3.4=#0c03782c79'],
  [
    'GnuTLS names',
    [
      [['0.9.2342.19200300.100.1.1', UTF8, 'u']],
      [['2.5.4.5', PRINTABLE, '7']],
      [['2.5.4.4', UTF8, 's']],
      [['2.5.4.42', UTF8, 'g']],
      [['2.5.4.8', UTF8, 'st']],
      [['2.5.4.7', UTF8, 'l']],
    ],
    'UID=u,serialNumber=7,surName=s,givenName=g,ST=st,L=l',
  ],
  ['known OID without a name', [[['1.2.840.113549.1.9.7', UTF8, 'pw']]], '1.2.840.113549.1.9.7=pw'],
  ['an empty RDN adds nothing; a trailing one leaves its comma', [[[C, PRINTABLE, 'GB']], [], [[CN, UTF8, 'a']], []], 'C=GB,CN=a,'],
]

for (const [what, rdns, expected] of cases) {
  test(`DN: ${what}`, (t) => {
    t.is(renderDn(parseName(name(rdns))), expected)
  })
}

test('DN: names GnuTLS cannot print are refused', (t) => {
  t.throws(() => renderDn(parseName(name([]))), {instanceOf: DnError})
  t.throws(() => renderDn(parseName(name([[]]))), {instanceOf: DnError})
  t.throws(() => renderDn(parseName(name([[[CN, UTF8, '']]]))), {instanceOf: DnError})
  t.throws(
    () =>
      renderDn(
        parseName(
          name([
            [
              [C, PRINTABLE, 'GB'],
              [CN, BMP, ''],
            ],
          ]),
        ),
      ),
    {instanceOf: DnError},
  )
  t.throws(() => parseName(h('3005310330')))
})

const globs: [string, string, boolean][] = [
  ['C=GB,O=Acme,CN=client1', 'C=GB,O=Acme,CN=client1', true],
  ['C=GB,O=Acme,CN=client1', 'C=GB,O=Acme\\,CN=client1', false],
  ['C=GB,O=Acme,CN=client1', 'CN=client1,O=Acme,C=GB', false],
  ['C=GB,O=Acme,CN=*', 'C=GB,O=Acme,CN=anything,with,commas', true],
  ['C=GB,O=Acme,CN=*', 'C=GB,O=Acme', false],
  // '*' also matches an escaped comma: such patterns are exactly as loose in libvirt.
  ['*,CN=client1', 'C=GB,O=Acme\\,CN=client1', true],
  ['C=GB,O=*,CN=client1', 'C=GB,O=Acme\\,CN=client1', true],
  ['C=GB,O=Acme,CN=*', 'C=GB,O=Acme\\,CN=client1', false],
  ['C=GB,O=Acme,OU=*,CN=build?', 'C=GB,O=Acme,OU=Eng,CN=build7', true],
  ['C=GB,O=Acme,OU=*,CN=build?', 'C=GB,O=Acme,OU=Eng,CN=build77', false],
  ['CN=?', 'CN=é', true],
  ['CN=??', 'CN=é', false],
  ['[C]=GB', 'C=GB', false],
  ['[C]=GB', '[C]=GB', true],
  ['O=Bs\\,x', 'O=Bs\\,x', true],
  ['O=Bs\\,x', 'O=Bs,x', false],
  ['*', '', true],
  ['', '', true],
  ['a*b*c', 'aXbYbZc', true],
  ['a*b*c', 'aXbYbZ', false],
  ['**', 'x', true],
]

for (const [pattern, dn, expected] of globs) {
  test(`glob: ${JSON.stringify(pattern)} ${expected ? 'matches' : 'does not match'} ${JSON.stringify(dn)}`, (t) => {
    t.is(globMatch(pattern, dn), expected)
  })
}

test('dnAllowed: no list allows all, an empty list allows none', (t) => {
  t.true(dnAllowed('C=GB', undefined))
  t.false(dnAllowed('C=GB', []))
  t.true(dnAllowed('C=GB,CN=x', ['O=*', 'C=GB,*']))
})
