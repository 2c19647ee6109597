import test, {type ExecutionContext} from 'ava'

import {ErrorCode, ErrorDomain, VirError} from '../src/lib/errors.js'
import {
  type XmlElement,
  attr,
  child,
  childOrder,
  childrenNamed,
  cloneXml,
  el,
  parseXml,
  reassemble,
  removeChildren,
  serializeXml,
  setAttr,
  setChildText,
  textOf,
} from '../src/lib/conf/xml.js'

function parseError(t: ExecutionContext, text: string, domain?: number): VirError {
  const err = t.throws<VirError>(() => parseXml(text, 'domain_definition', domain), {instanceOf: VirError})
  t.is(err.code, ErrorCode.XML_DETAIL)
  return err
}

test('parses declaration, comments, PIs, attributes with both quote kinds', (t) => {
  const root = parseXml(
    `<?xml version="1.0" encoding="UTF-8"?>\n<!-- leading -->\n<?app stuff?>\n<domain type='test' x="a'b" y = 'c"d'>\n  <name>demo</name>\n  <?skip me?>\n</domain>\n<!-- trailing -->\n`,
    'doc',
  )
  t.is(root.kind, 'element')
  t.is(root.name, 'domain')
  t.deepEqual(root.attrs, [
    ['type', 'test'],
    ['x', "a'b"],
    ['y', 'c"d'],
  ])
  t.is(root.children.length, 1)
  t.is(textOf(child(root, 'name')), 'demo')
})

test('decodes entity and character references in text and attributes', (t) => {
  const root = parseXml(`<a v='&lt;&gt;&amp;&quot;&apos;&#65;&#x42;'>x &lt; y &amp;&amp; &#x263A;&#9731;</a>`, 'doc')
  t.is(attr(root, 'v'), `<>&"'AB`)
  t.is(textOf(root), 'x < y && ☺☃')
})

test('CDATA becomes text, comments are kept, self-closing tags work', (t) => {
  const root = parseXml(`<a><![CDATA[<not> & markup]]><b/><!-- note --><c x='1' /></a>`, 'doc')
  t.deepEqual(root.children[0], {kind: 'text', text: '<not> & markup'})
  t.is(root.children[1].kind, 'element')
  t.deepEqual(root.children[2], {kind: 'comment', comment: ' note '})
  const c = root.children[3] as XmlElement
  t.is(c.name, 'c')
  t.deepEqual(c.children, [])
  t.is(attr(c, 'x'), '1')
})

test('indentation-only whitespace is dropped, text content is kept verbatim', (t) => {
  const root = parseXml(`<a>\n  <b>  spaced  </b>\n  <c>\n  </c>\n</a>`, 'doc')
  t.is(root.children.length, 2)
  const b = child(root, 'b') as XmlElement
  t.deepEqual(b.children, [{kind: 'text', text: '  spaced  '}])
  t.is(textOf(b), 'spaced')
  // An element holding only whitespace keeps it (it is its text content).
  t.deepEqual((child(root, 'c') as XmlElement).children, [{kind: 'text', text: '\n  '}])
})

test('mixed content keeps all its text nodes', (t) => {
  const root = parseXml(`<p>Hello <b>big</b> <i>world</i>!</p>`, 'doc')
  t.is(root.children.length, 5)
  t.is(textOf(root), 'Hello big world!')
  t.is(serializeXml(root), '<p>Hello <b>big</b> <i>world</i>!</p>\n')
})

test('line endings are normalized and attribute whitespace is normalized', (t) => {
  const root = parseXml(`<a v='x\ty\r\nz'>l1\r\nl2\rl3</a>`, 'doc')
  t.is(attr(root, 'v'), 'x y z')
  t.is(textOf(root), 'l1\nl2\nl3')
})

test('error: empty document', (t) => {
  for (const text of ['', '   \n  ']) {
    const err = parseError(t, text)
    t.is(err.domain, ErrorDomain.DOMAIN)
    t.regex(err.message, /^\(domain_definition\):1: Document is empty\n/)
  }
})

test('error: premature end of data names the open tag and its line', (t) => {
  const err = parseError(t, `<domain type='test'>`)
  t.is(err.message, `(domain_definition):1: Premature end of data in tag domain line 1\n<domain type='test'>\n${'-'.repeat(20)}^`)
  const err2 = parseError(t, `<domain type='test'>\n  <name>x</name>\n  <devices>\n`)
  t.regex(err2.message, /^\(domain_definition\):3: Premature end of data in tag devices line 3\n {2}<devices>\n-+\^$/)
})

test('error: mismatched end tag', (t) => {
  const err = parseError(t, `<a><b></a>`)
  t.regex(err.message, /^\(domain_definition\):1: Opening and ending tag mismatch: b line 1 and a\n<a><b><\/a>\n-*\^$/)
  const err2 = parseError(t, `<domain>\n  <name>x</nam>\n</domain>`)
  t.regex(err2.message, /^\(domain_definition\):2: Opening and ending tag mismatch: name line 2 and nam\n {2}<name>x<\/nam>\n-+\^$/)
})

test('error: unquoted and duplicate attributes', (t) => {
  t.regex(parseError(t, `<a b=c/>`).message, /:1: AttValue: " or ' expected\n<a b=c\/>\n-----\^$/)
  t.regex(parseError(t, `<a b='1' b='2'/>`).message, /:1: Attribute b redefined\n/)
  t.regex(parseError(t, `<a b/>`).message, /Specification mandates value for attribute b/)
  t.regex(parseError(t, `<a b='<'/>`).message, /Unescaped '<' not allowed in attributes values/)
})

test('error: junk after the root element', (t) => {
  t.regex(parseError(t, `<a/><b/>`).message, /:1: Extra content at the end of the document\n<a\/><b\/>\n----\^$/)
  t.regex(parseError(t, `<a/>\ntext`).message, /:2: Extra content at the end of the document\n/)
  // Comments, PIs and whitespace after the root are fine.
  t.is(parseXml(`<a/>\n<!-- c -->\n<?pi x?>\n`, 'doc').name, 'a')
})

test('error: invalid entity and character references', (t) => {
  t.regex(parseError(t, `<a>&foo;</a>`).message, /Entity 'foo' not defined/)
  t.regex(parseError(t, `<a>&#0;</a>`).message, /xmlParseCharRef: invalid xmlChar value 0/)
  t.regex(parseError(t, `<a>a & b</a>`).message, /xmlParseEntityRef: no name/)
  t.regex(parseError(t, `<a>&amp</a>`).message, /EntityRef: expecting ';'/)
  t.regex(parseError(t, `<a v='&bogus;'/>`).message, /Entity 'bogus' not defined/)
})

test('error: other malformed input', (t) => {
  t.regex(parseError(t, `hello`).message, /Start tag expected, '<' not found/)
  t.regex(parseError(t, `<a><!-- x </a>`).message, /Comment not terminated/)
  t.regex(parseError(t, `<a><![CDATA[x</a>`).message, /CData section not finished/)
  t.regex(parseError(t, `<a>]]></a>`).message, /Sequence ']]>' not allowed in content/)
  t.regex(parseError(t, `<a>\n<?xml version='1.0'?></a>`).message, /XML declaration allowed only at the start/)
  t.regex(parseError(t, `<a>\u0001</a>`).message, /Char 0x1 out of allowed range/)
  t.regex(parseError(t, `<1a/>`).message, /StartTag: invalid element name/)
})

test('errors carry the caller-chosen domain', (t) => {
  const err = parseError(t, '<network>', ErrorDomain.NETWORK)
  t.is(err.domain, ErrorDomain.NETWORK)
})

test('serializes libvirt-style: 2-space indent, single quotes, <x/>, one-line text', (t) => {
  const root = parseXml(
    `<domain type="kvm"><name>a'b&amp;c</name><devices><disk type="file"><source file="/x/it's &lt;here&gt;"/></disk><empty></empty></devices><!-- c --></domain>`,
    'doc',
  )
  t.is(
    serializeXml(root),
    [
      "<domain type='kvm'>",
      '  <name>a&apos;b&amp;c</name>',
      '  <devices>',
      "    <disk type='file'>",
      "      <source file='/x/it&apos;s &lt;here&gt;'/>",
      '    </disk>',
      '    <empty/>',
      '  </devices>',
      '  <!-- c -->',
      '</domain>',
      '',
    ].join('\n'),
  )
  t.is(serializeXml(parseXml('<a><b><c/></b></a>', 'doc'), 4), '<a>\n    <b>\n        <c/>\n    </b>\n</a>\n')
})

test('serialize then parse is lossless for attribute and text values', (t) => {
  const tricky = `a'b"c<d>e&f\tg\nh`
  const e = el('x', {v: tricky}, [tricky])
  const back = parseXml(serializeXml(e), 'doc')
  t.is(attr(back, 'v'), tricky)
  t.is(back.children.length, 1)
  t.is((back.children[0] as {text: string}).text, tricky)
})

test('helpers: child, childrenNamed, attr, setAttr, setChildText, removeChildren, el', (t) => {
  const root = el('domain', {type: 'test', skip: undefined}, [el('disk', {n: 1}), el('disk', {n: 2}), el('name', {}, ['x'])])
  t.deepEqual(root.attrs, [['type', 'test']])
  t.is(attr(child(root, 'disk'), 'n'), '1')
  t.deepEqual(
    childrenNamed(root, 'disk').map((d) => attr(d, 'n')),
    ['1', '2'],
  )
  t.is(child(root, 'nope'), undefined)
  t.is(child(undefined, 'x'), undefined)
  setAttr(root, 'type', 'kvm')
  setAttr(root, 'id', 3)
  t.deepEqual(root.attrs, [
    ['type', 'kvm'],
    ['id', '3'],
  ])
  setAttr(root, 'type', undefined)
  t.deepEqual(root.attrs, [['id', '3']])
  setChildText(root, 'name', 'y')
  t.is(textOf(child(root, 'name')), 'y')
  setChildText(root, 'title', 'T')
  t.is(root.children.at(-1)?.kind === 'element' && (root.children.at(-1) as XmlElement).name, 'title')
  t.is(removeChildren(root, 'disk'), 2)
  t.deepEqual(childrenNamed(root, 'disk'), [])
  const b = el('x', {flag: true, off: false})
  t.deepEqual(b.attrs, [
    ['flag', 'yes'],
    ['off', 'no'],
  ])
})

test('cloneXml makes an independent deep copy', (t) => {
  const a = parseXml(`<a x='1'><b>t</b></a>`, 'doc')
  const b = cloneXml(a)
  t.deepEqual(a, b)
  setAttr(b, 'x', '2')
  setChildText(b, 'b', 'u')
  t.is(attr(a, 'x'), '1')
  t.is(textOf(child(a, 'b')), 't')
})

test('reassemble orders known children and keeps unknown ones after their predecessor', (t) => {
  const orig = parseXml(`<r z='9' a='old'><c/><x1/><a>1</a><x2/><!-- k --></r>`, 'doc')
  const out = reassemble(
    orig,
    'r',
    [
      ['a', 'new'],
      ['b', undefined],
    ],
    childOrder(['a', 'b', 'c']),
    {b: el('b')},
  )
  t.is(serializeXml(out), `<r a='new' z='9'>\n  <a>1</a>\n  <x2/>\n  <!-- k -->\n  <b/>\n  <c/>\n  <x1/>\n</r>\n`)
  // The original is untouched.
  t.is(attr(orig, 'a'), 'old')
  t.is(orig.children.length, 5)
})

test('parses a large document in linear time', (t) => {
  const n = 20000
  const doc = `<list>${'<item a="1">text &amp; more</item>'.repeat(n)}</list>`
  const start = performance.now()
  const root = parseXml(doc, 'doc')
  const ms = performance.now() - start
  t.is(root.children.length, n)
  t.true(ms < 2000, `took ${ms} ms`)
})
